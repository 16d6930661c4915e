"""DeleteRecords: moving log start offsets on the leader, in process and through real clients."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer
from confluent_kafka import TopicPartition as CkPartition
from confluent_kafka.admin import AdminClient
from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import NewTopic

import rafka
from rafka import errors
from rafka.cluster.metadata.controller import TopicSpec
from rafka.protocol.messages import DeleteRecordsRequest, ListOffsetsRequest
from tests.cluster.handlers.conftest import call, create_topic, leader_of, produce

pytestmark = pytest.mark.anyio

D = DeleteRecordsRequest


async def delete(
    broker: rafka.cluster.broker.Broker, topic: str, partition: int, offset: int, version: int = 2
) -> tuple[int, int]:
    request = D(
        topics=[D.DeleteRecordsTopic(topic, [D.DeleteRecordsPartition(partition, offset)])],
        timeout_ms=1000,
    )
    response = await call(broker, request, version)
    (result,) = response.topics[0].partitions
    assert (response.topics[0].name, result.partition_index) == (topic, partition)
    return result.low_watermark, result.error_code


@pytest.mark.parametrize("version", [0, 2])
async def test_delete_before_offsets(cluster: rafka.AsyncCluster, version: int) -> None:
    await create_topic(cluster.brokers[1], "dr", 1, 1, internal_segment_bytes="200")
    for _ in range(5):
        await produce(cluster, "dr", 2)
    leader = leader_of(cluster, "dr")
    log = leader.replica_manager.partitions[("dr", 0)].log
    segments = len(log.segments)
    assert segments > 2
    assert await delete(leader, "dr", 0, 4, version) == (4, 0)
    assert log.log_start_offset == 4 and len(log.segments) < segments
    assert await delete(leader, "dr", 0, 2, version) == (4, 0)  # never backwards
    assert await delete(leader, "dr", 0, 11, version) == (-1, errors.OffsetOutOfRangeError.code)
    assert await delete(leader, "dr", 0, -5, version) == (-1, errors.OffsetOutOfRangeError.code)
    assert await delete(leader, "dr", 0, -1, version) == (10, 0)  # -1: the high watermark
    L = ListOffsetsRequest
    earliest = L(
        replica_id=-1, topics=[L.ListOffsetsTopic("dr", [L.ListOffsetsPartition(0, -1, -2)])]
    )
    response = await call(leader, earliest, 7)
    assert response.topics[0].partitions[0].offset == 10


async def test_errors(cluster: rafka.AsyncCluster) -> None:
    await create_topic(cluster.brokers[1], "rep", 1, 2)
    await create_topic(cluster.brokers[1], "compacted", 1, 1, cleanup_policy="compact")
    cluster.core.controller.create_topics([TopicSpec("__consumer_offsets", 1, 1)], False)
    part = cluster.core.controller.image.partition("rep", 0)
    assert part is not None
    follower = cluster.brokers[part.replicas[1]]
    outsider = cluster.brokers[({1, 2, 3} - set(part.replicas)).pop()]
    not_leader = errors.NotLeaderOrFollowerError.code
    assert await delete(follower, "rep", 0, 0) == (-1, not_leader)
    assert await delete(outsider, "rep", 0, 0) == (-1, not_leader)
    assert await delete(follower, "rep", 1, 0) == (-1, errors.UnknownTopicOrPartitionError.code)
    assert await delete(follower, "nope", 0, 0) == (-1, errors.UnknownTopicOrPartitionError.code)
    compacted = leader_of(cluster, "compacted")
    assert await delete(compacted, "compacted", 0, 0) == (-1, errors.PolicyViolationError.code)
    offsets = leader_of(cluster, "__consumer_offsets")
    assert await delete(offsets, "__consumer_offsets", 0, 0, 0) == (
        -1,
        errors.InvalidTopicExceptionError.code,
    )


# ------------------------------------------------------------------------------ real clients


def _produce(bootstrap: str, topic: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(count):
        producer.produce(topic, value=b"%d" % i, partition=0)
    assert producer.flush(10) == 0


def test_kafka_python(tcp_cluster: rafka.Cluster) -> None:
    admin = KafkaAdminClient(bootstrap_servers=tcp_cluster.bootstrap_servers)
    try:
        admin.create_topics([NewTopic("kp-dr", 1, 3)])
        _produce(tcp_cluster.bootstrap_servers, "kp-dr", 8)
        result = admin.delete_records({TopicPartition("kp-dr", 0): 5})
        assert result[TopicPartition("kp-dr", 0)]["low_watermark"] == 5
        result = admin.delete_records({TopicPartition("kp-dr", 0): -1})
        assert result[TopicPartition("kp-dr", 0)]["low_watermark"] == 8
    finally:
        admin.close()


def test_confluent_kafka(tcp_cluster: rafka.Cluster) -> None:
    from confluent_kafka.admin import NewTopic as CkTopic

    admin = AdminClient({"bootstrap.servers": tcp_cluster.bootstrap_servers})
    admin.create_topics([CkTopic("ck-dr", 1, 2)])["ck-dr"].result(10)
    _produce(tcp_cluster.bootstrap_servers, "ck-dr", 6)
    futures = admin.delete_records([CkPartition("ck-dr", 0, 4)])
    (deleted,) = (f.result(10) for f in futures.values())
    assert deleted.low_watermark == 4

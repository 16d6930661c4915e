"""CreatePartitions: in process at the lowest and highest versions, and through real clients."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions
from kafka import KafkaAdminClient
from kafka.errors import InvalidPartitionsError

import rafka
from rafka import errors
from rafka.protocol.messages import CreatePartitionsRequest, MetadataRequest
from tests.cluster.handlers.conftest import call, create_topic

pytestmark = pytest.mark.anyio

C = CreatePartitionsRequest


def request(*topics: tuple[str, int, list[list[int]] | None], validate: bool = False) -> C:
    return C(
        topics=[
            C.CreatePartitionsTopic(
                name, count, None if a is None else [C.CreatePartitionsAssignment(r) for r in a]
            )
            for name, count, a in topics
        ],
        timeout_ms=5000,
        validate_only=validate,
    )


def partition_count(cluster: rafka.AsyncCluster, topic: str) -> int:
    return len(cluster.core.controller.image.topics[topic].partitions)


@pytest.mark.parametrize("version", [0, 3])
async def test_grow_topic(cluster: rafka.AsyncCluster, version: int) -> None:
    broker = cluster.brokers[1]
    await create_topic(broker, "grow", 2, 2)
    response = await call(broker, request(("grow", 5, None)), version)
    assert [(r.name, r.error_code, r.error_message) for r in response.results] == [
        ("grow", 0, None)
    ]
    topic = cluster.core.controller.image.topics["grow"]
    assert sorted(topic.partitions) == [0, 1, 2, 3, 4]
    for part in topic.partitions.values():
        assert len(part.replicas) == 2 and part.leader in part.replicas
    # the new partitions are hosted and led
    for index in (2, 3, 4):
        leader = cluster.brokers[topic.partitions[index].leader]
        assert leader.replica_manager.partitions[("grow", index)].is_leader


async def test_manual_assignment_and_validate_only(cluster: rafka.AsyncCluster) -> None:
    broker = cluster.brokers[2]
    await create_topic(broker, "manual", 1, 2)
    response = await call(broker, request(("manual", 3, [[3, 1], [2, 3]]), validate=True), 3)
    assert response.results[0].error_code == 0
    assert partition_count(cluster, "manual") == 1
    response = await call(broker, request(("manual", 3, [[3, 1], [2, 3]])), 3)
    assert response.results[0].error_code == 0
    parts = cluster.core.controller.image.topics["manual"].partitions
    assert (parts[1].replicas, parts[1].leader) == ([3, 1], 3)
    assert (parts[2].replicas, parts[2].leader) == ([2, 3], 2)


@pytest.mark.parametrize(
    ("count", "assignments", "code", "message"),
    [
        (2, None, errors.InvalidPartitionsError.code, "Topic already has 2 partition(s)."),
        (
            1,
            None,
            errors.InvalidPartitionsError.code,
            "The topic t currently has 2 partition(s); 1 would not be an increase.",
        ),
        (
            4,
            [[1, 2]],
            errors.InvalidReplicaAssignmentError.code,
            "Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.",
        ),
        (
            3,
            [[1, 1]],
            errors.InvalidReplicaAssignmentError.code,
            "The manual partition assignment includes the broker 1 more than once.",
        ),
        (
            3,
            [[1, 9]],
            errors.InvalidReplicaAssignmentError.code,
            "The manual partition assignment includes broker 9, but no such broker is registered.",
        ),
        (
            3,
            [[]],
            errors.InvalidReplicaAssignmentError.code,
            "The manual partition assignment includes an empty replica list.",
        ),
        (
            3,
            [[1, 2, 3]],
            errors.InvalidReplicaAssignmentError.code,
            "The manual partition assignment includes a partition with 3 replica(s), but this "
            "is not consistent with previous partitions, which have 2 replica(s).",
        ),
    ],
)
async def test_errors(
    cluster: rafka.AsyncCluster,
    count: int,
    assignments: list[list[int]] | None,
    code: int,
    message: str,
) -> None:
    broker = cluster.brokers[1]
    await create_topic(broker, "t", 2, 2)
    for version in (0, 3):
        response = await call(broker, request(("t", count, assignments)), version)
        assert [(r.error_code, r.error_message) for r in response.results] == [(code, message)]
    assert partition_count(cluster, "t") == 2


async def test_unknown_and_duplicate_topics(cluster: rafka.AsyncCluster) -> None:
    broker = cluster.brokers[1]
    await create_topic(broker, "dup", 1, 1)
    response = await call(
        broker, request(("missing", 2, None), ("dup", 2, None), ("dup", 3, None)), 3
    )
    assert [(r.name, r.error_code, r.error_message) for r in response.results] == [
        ("missing", errors.UnknownTopicOrPartitionError.code, None),
        ("dup", errors.InvalidRequestError.code, "Duplicate topic name."),
    ]
    assert partition_count(cluster, "dup") == 1


async def test_fenced_brokers(cluster: rafka.AsyncCluster) -> None:
    broker = cluster.brokers[1]
    await create_topic(broker, "fenced", 1, 3)
    controller = cluster.core.controller
    controller.fence_broker(2)
    controller.fence_broker(3)
    response = await call(broker, request(("fenced", 2, None)), 3)
    assert response.results[0].error_code == errors.InvalidReplicationFactorError.code
    assert "only 1 broker(s) are registered" in response.results[0].error_message
    response = await call(broker, request(("fenced", 2, [[2, 3, 1]])), 3)
    assert response.results[0].error_code == 0
    part = controller.image.topics["fenced"].partitions[1]
    assert (part.leader, part.isr) == (1, [1])
    response = await call(broker, request(("fenced", 3, [[2, 3, 3]])), 3)
    assert response.results[0].error_code == errors.InvalidReplicaAssignmentError.code


# ------------------------------------------------------------------------------ real clients


def test_kafka_python(tcp_cluster: rafka.Cluster) -> None:
    admin = KafkaAdminClient(bootstrap_servers=tcp_cluster.bootstrap_servers)
    try:
        from kafka.admin import NewTopic

        admin.create_topics([NewTopic("kp-grow", 1, 2)])
        admin.create_partitions({"kp-grow": 4})
        admin.create_partitions({"kp-grow": {"count": 5, "assignments": [[3, 1]]}})
        (described,) = admin.describe_topics(["kp-grow"])
        partitions = {p["partition_index"]: p for p in described["partitions"]}
        assert sorted(partitions) == [0, 1, 2, 3, 4]
        assert partitions[4]["replica_nodes"] == [3, 1]
        with pytest.raises(InvalidPartitionsError):
            admin.create_partitions({"kp-grow": 2})
    finally:
        admin.close()


def test_confluent_kafka(tcp_cluster: rafka.Cluster) -> None:
    from confluent_kafka.admin import NewTopic

    admin = AdminClient({"bootstrap.servers": tcp_cluster.bootstrap_servers})
    admin.create_topics([NewTopic("ck-grow", 2, 1)])["ck-grow"].result(10)
    futures = admin.create_partitions([NewPartitions("ck-grow", 6)], validate_only=True)
    futures["ck-grow"].result(10)
    futures = admin.create_partitions([NewPartitions("ck-grow", 6)])
    futures["ck-grow"].result(10)
    metadata = admin.list_topics("ck-grow", timeout=10)
    assert len(metadata.topics["ck-grow"].partitions) == 6
    futures = admin.create_partitions([NewPartitions("ck-grow", 3)])
    with pytest.raises(KafkaException) as raised:
        futures["ck-grow"].result(10)
    assert raised.value.args[0].code() == KafkaError.INVALID_PARTITIONS


async def test_metadata_sees_new_partitions(cluster: rafka.AsyncCluster) -> None:
    broker = cluster.brokers[3]
    await create_topic(broker, "meta", 1, 1)
    await call(broker, request(("meta", 3, None)), 3)
    M = MetadataRequest
    response = await call(broker, M(topics=[M.MetadataRequestTopic(name="meta")]), 12)
    assert [p.partition_index for p in response.topics[0].partitions] == [0, 1, 2]

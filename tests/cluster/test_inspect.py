"""A cluster's state as plain objects: partitions, topics, groups, records."""

from __future__ import annotations

import time

import pytest

import rafka
from rafka import errors
from rafka.clients.admin import NewTopic
from rafka.cluster.inspect import GroupState, PartitionState

CONFIG = {"group.initial.rebalance.delay.ms": 0, "offsets.topic.num.partitions": 3}


def test_partitions_topics_and_records() -> None:
    with rafka.Cluster(brokers=3, config=CONFIG) as cluster:
        with cluster.admin() as admin:
            admin.create_topics(NewTopic("t", 2, 3, configs={"retention.ms": "60000"}))
        with cluster.producer(acks="all") as producer:
            producer.send("t", b"a", key=b"k", partition=1, headers=[("h", b"1")]).result(10)
            producer.send("t", b"b", partition=1).result(10)
            producer.send("t", b"c", partition=0).result(10)

        partition = cluster.describe_partition("t", 1)
        assert isinstance(partition, PartitionState)
        assert (partition.topic, partition.partition) == ("t", 1)
        assert sorted(partition.replicas) == sorted(partition.isr) == [1, 2, 3]
        assert partition.leader in partition.replicas and partition.leader_epoch == 0
        assert (partition.log_start_offset, partition.high_watermark) == (0, 2)
        assert partition.last_stable_offset == partition.log_end_offset == 2
        assert partition.replica_log_end_offsets == {1: 2, 2: 2, 3: 2}
        [producer_state] = partition.producers  # the idempotent producer
        assert (producer_state.producer_epoch, producer_state.last_sequence) == (0, 1)
        assert producer_state.last_offset == 1

        topic = cluster.describe_topic("t")
        assert topic is not None and not topic.internal
        assert topic.configs == {"retention.ms": "60000"}
        assert [p.partition for p in topic.partitions] == [0, 1]
        assert cluster.describe_topic("nope") is None
        assert cluster.list_topics() == ["t"]

        records = cluster.read_topic("t")
        assert [(r.partition, r.offset, r.key, r.value) for r in records] == [
            (0, 0, None, b"c"),
            (1, 0, b"k", b"a"),
            (1, 1, None, b"b"),
        ]
        assert records[1].headers == (("h", b"1"),)
        assert [r.value for r in cluster.read_topic("t", 1)] == [b"a", b"b"]
        with pytest.raises(errors.UnknownTopicOrPartitionError):
            cluster.describe_partition("t", 2)
        with pytest.raises(errors.UnknownTopicOrPartitionError):
            cluster.read_topic("nope")


def test_classic_group() -> None:
    with rafka.Cluster(config=CONFIG) as cluster:
        with cluster.producer() as producer:
            producer.send("t", b"x").result(10)
        with cluster.consumer(group_id="g", auto_offset_reset="earliest") as consumer:
            consumer.subscribe(["t"])
            while not consumer.poll(1):
                pass
            consumer.commit()
            group = cluster.wait_for_group_state("g", "stable", timeout=10)
            assert isinstance(group, GroupState)
            assert (group.type, group.state, group.protocol_type) == (
                "classic",
                "Stable",
                "consumer",
            )
            assert group.protocol == "range" or group.protocol
            assert group.generation >= 1 and group.assignment_epoch is None
            [member] = group.members
            assert group.leader == member.member_id
            assert member.assignment == {("t", 0)}
            assert group.member(member.member_id) is member
            assert group.offsets[("t", 0)].offset == 1
            assert group.coordinator == 1
            assert cluster.list_groups() == ["g"]
        empty = cluster.wait_for_group_state("g", "Empty")
        assert empty is not None and empty.members == ()
        assert cluster.describe_group("unknown") is None
        assert cluster.wait_for_group_state("unknown", "Dead") is None


def test_consumer_group_of_kip_848() -> None:
    with rafka.Cluster(config=CONFIG) as cluster:
        with cluster.producer() as producer:
            producer.send("t", b"x").result(10)
        try:
            consumer = cluster.consumer(
                group_id="g", group_protocol="consumer", auto_offset_reset="earliest"
            )
        except errors.ConfigError as exc:  # a consumer without the KIP-848 protocol
            pytest.skip(str(exc))
        with consumer:
            consumer.subscribe(["t"])
            while not consumer.poll(1):
                pass
            group = cluster.wait_for_group_state("g", "Stable")
            assert group is not None
            assert (group.type, group.protocol_type) == ("consumer", "consumer")
            assert group.generation >= 1 and group.assignment_epoch == group.generation
            assert group.protocol  # the server assignor
            [member] = group.members
            assert member.assignment == {("t", 0)} and member.member_epoch == group.generation


def test_waiting_for_a_state_times_out_with_the_state_seen() -> None:
    with rafka.Cluster(config=CONFIG) as cluster:
        with cluster.consumer(group_id="g") as consumer:
            consumer.assign([("t", 0)])
            consumer.commit({("t", 0): 0})
        start = time.monotonic()
        with pytest.raises(
            TimeoutError, match=r"'g' did not reach state Stable within 0\.2 s \(it is Empty\)"
        ):
            cluster.wait_for_group_state("g", "Stable", timeout=0.2)
        assert time.monotonic() - start < 5


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_async_cluster(anyio_backend: str) -> None:
    async with rafka.AsyncCluster(config=CONFIG) as cluster:
        async with cluster.producer() as producer:
            await producer.send_and_wait("t", b"x")
        async with cluster.consumer(group_id="g", auto_offset_reset="earliest") as consumer:
            consumer.subscribe(["t"])
            while not await consumer.poll(1):
                pass
            group = await cluster.wait_for_group_state("g", "Stable")
            assert group is not None and len(group.members) == 1
        assert cluster.describe_partition("t").high_watermark == 1
        assert [r.value for r in cluster.read_topic("t")] == [b"x"]
        assert cluster.describe_group("g") is not None

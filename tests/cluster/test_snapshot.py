"""Cluster.snapshot() / restore(): topics, data, configs, producer and group state come back,
and clients connected during a restore carry on."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

import rafka
from rafka.clients.admin import ConfigResource, NewTopic

T = TypeVar("T")
CONFIG = {"group.initial.rebalance.delay.ms": 0, "offsets.topic.num.partitions": 2}


def eventually(check: Callable[[], T], timeout: float = 15.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def values(cluster: rafka.Cluster, topic: str) -> list[bytes | None]:
    return [r.value for r in cluster.read_topic(topic)]


def test_restore_brings_back_topics_data_and_configs() -> None:
    with rafka.Cluster(brokers=3, config=CONFIG) as cluster, cluster.admin() as admin:
        admin.create_topics(
            [NewTopic("a", 2, 3, configs={"retention.ms": "3600000"}), NewTopic("b", 1, 2)]
        ).check()
        with cluster.producer() as producer:
            for i in range(10):
                producer.send("a", b"a%d" % i, partition=i % 2)
            producer.send("b", b"b0").result(10)
        a_before = cluster.describe_topic("a")
        b_before = cluster.describe_topic("b")
        assert a_before is not None and b_before is not None
        snapshot = cluster.snapshot()

        with cluster.producer() as producer:
            producer.send("a", b"later", partition=0).result(10)
        admin.delete_topics("b")
        admin.create_topics(NewTopic("c", 1, 1))
        admin.create_partitions({"a": 3})
        admin.incremental_alter_configs(
            {ConfigResource.topic("a"): {"retention.ms": None, "cleanup.policy": "compact"}}
        )
        admin.incremental_alter_configs({ConfigResource.broker(1): {"log.retention.ms": "1000"}})

        cluster.restore(snapshot)

        assert cluster.list_topics() == ["a", "b"]
        a, b = cluster.describe_topic("a"), cluster.describe_topic("b")
        assert a is not None and b is not None
        assert (a.topic_id, b.topic_id) == (a_before.topic_id, b_before.topic_id)
        assert a.configs == {"retention.ms": "3600000"} and b.configs == {}
        assert len(a.partitions) == 2
        assert sorted(values(cluster, "a")) == sorted(b"a%d" % i for i in range(10))
        assert values(cluster, "b") == [b"b0"]
        for before, after in zip(a_before.partitions, a.partitions, strict=True):
            assert after.leader_epoch > before.leader_epoch  # clients must refresh
            assert after.high_watermark == before.high_watermark
            assert after.replicas == before.replicas
            assert after.replica_log_end_offsets == before.replica_log_end_offsets
        configs = admin.describe_configs(ConfigResource.broker(1))
        assert configs["log.retention.ms"].value is None

        # The restored cluster carries on: appends follow the restored ends.
        with cluster.producer() as producer:
            assert producer.send("a", b"next", partition=0).result(10).offset == 5
            assert producer.send("b", b"b1").result(10).offset == 1
        # And the snapshot can be restored again.
        cluster.restore(snapshot)
        assert values(cluster, "b") == [b"b0"]


def test_restoring_an_unchanged_cluster_changes_nothing() -> None:
    with rafka.Cluster(brokers=2, config=CONFIG) as cluster:
        with cluster.producer() as producer:
            producer.send("t", b"x").result(10)
        before = cluster.describe_partition("t")
        snapshot = cluster.snapshot()
        cluster.restore(snapshot)
        cluster.restore(snapshot)
        assert cluster.describe_partition("t") == before


def test_restore_brings_back_groups_offsets_and_producer_state() -> None:
    with rafka.Cluster(config=CONFIG) as cluster:
        with cluster.producer() as producer:
            for i in range(4):
                producer.send("t", b"%d" % i).result(10)
        with cluster.consumer(group_id="g", auto_offset_reset="earliest") as consumer:
            consumer.subscribe(["t"])
            got: list[object] = []
            while len(got) < 2:
                got += consumer.poll(1, max_records=2 - len(got))
            consumer.commit({("t", 0): 2})
        producers_before = cluster.describe_partition("t").producers
        assert len(producers_before) == 1
        group_before = cluster.wait_for_group_state("g", "Empty")
        assert group_before is not None
        snapshot = cluster.snapshot()

        with cluster.consumer(group_id="g", auto_offset_reset="earliest") as consumer:
            consumer.subscribe(["t"])
            assert [r.value for r in consumer.poll(5)] == [b"2", b"3"]
            consumer.commit()
        with cluster.consumer(group_id="h", auto_offset_reset="earliest") as consumer:
            consumer.assign([("t", 0)])
            consumer.commit({("t", 0): 1})
        with cluster.producer() as producer:
            producer.send("t", b"more").result(10)
        assert cluster.describe_group("g").offsets[("t", 0)].offset == 4  # type: ignore[union-attr]

        cluster.restore(snapshot)

        group = cluster.describe_group("g")
        assert group is not None
        assert group.offsets == group_before.offsets
        assert (group.state, group.generation) == ("Empty", group_before.generation)
        assert cluster.describe_group("h") is None
        assert cluster.list_groups() == ["g"]
        assert cluster.describe_partition("t").producers == producers_before
        with cluster.consumer(group_id="g", auto_offset_reset="earliest") as consumer:
            consumer.subscribe(["t"])
            assert [r.value for r in consumer.poll(5)] == [b"2", b"3"]


def test_snapshots_need_an_in_memory_cluster(tmp_path: Path) -> None:
    with (
        rafka.Cluster(data_dir=tmp_path) as cluster,
        pytest.raises(ValueError, match="in-memory"),
    ):
        cluster.snapshot()


def test_a_snapshot_belongs_to_its_cluster() -> None:
    with (
        rafka.Cluster() as one,
        rafka.Cluster() as other,
        pytest.raises(ValueError, match="another cluster"),
    ):
        other.restore(one.snapshot())


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_async_cluster_snapshot(anyio_backend: str) -> None:
    async with rafka.AsyncCluster(config=CONFIG) as cluster:
        async with cluster.producer() as producer:
            await producer.send_and_wait("t", b"kept")
            snapshot = cluster.snapshot()
            await producer.send_and_wait("t", b"dropped")
            await producer.send_and_wait("other", b"dropped")
        await cluster.restore(snapshot)
        assert cluster.list_topics() == ["t"]
        assert [r.value for r in cluster.read_topic("t")] == [b"kept"]


# ------------------------------------------------------------ real clients during a restore


def test_confluent_kafka_clients_carry_on_across_a_restore() -> None:
    confluent_kafka = pytest.importorskip("confluent_kafka")
    with rafka.Cluster(brokers=2, listen=True, config=CONFIG) as cluster:
        bootstrap = cluster.bootstrap_servers
        with cluster.admin() as admin:
            admin.create_topics(NewTopic("t", 1, 2))
        producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
        consumer = confluent_kafka.Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "readers",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        try:
            consumer.subscribe(["t"])
            seen: list[bytes] = []

            def poll_until(value: bytes) -> None:
                def check() -> None:
                    msg = consumer.poll(0.1)
                    if msg is not None and not msg.error():
                        seen.append(msg.value())
                    assert value in seen

                eventually(check, 30)

            producer.produce("t", b"before")
            producer.flush(10)
            poll_until(b"before")
            snapshot = cluster.snapshot()
            for i in range(5):
                producer.produce("t", b"gone%d" % i)
            producer.flush(10)
            poll_until(b"gone4")

            cluster.restore(snapshot)

            # The consumer is past the restored end: it finds out (FENCED_LEADER_EPOCH, then
            # log truncation or OFFSET_OUT_OF_RANGE) and reads what comes next.
            def produce_after() -> None:
                producer.produce("t", b"after")
                assert producer.flush(10) == 0

            produce_after()
            poll_until(b"after")
            assert values(cluster, "t") == [b"before", b"after"]
        finally:
            consumer.close()
            producer.flush(5)


def test_kafka_python_clients_carry_on_across_a_restore() -> None:
    kafka = pytest.importorskip("kafka")
    with rafka.Cluster(listen=True, config=CONFIG) as cluster:
        bootstrap = cluster.bootstrap_servers
        producer = kafka.KafkaProducer(bootstrap_servers=bootstrap)
        consumer = kafka.KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
        try:
            producer.send("t", b"before").get(10)
            consumer.assign([kafka.TopicPartition("t", 0)])
            seen: list[bytes] = []

            def poll_until(value: bytes) -> None:
                def check() -> None:
                    for records in consumer.poll(100).values():
                        seen.extend(r.value for r in records)
                    assert value in seen

                eventually(check, 30)

            poll_until(b"before")
            snapshot = cluster.snapshot()
            for i in range(5):
                producer.send("t", b"gone%d" % i).get(10)
            poll_until(b"gone4")

            cluster.restore(snapshot)

            assert producer.send("t", b"after").get(10).offset == 1
            poll_until(b"after")
        finally:
            consumer.close()
            producer.close(5)


GROUP_CONFIG = {
    **CONFIG,
    "group.consumer.heartbeat.interval.ms": 500,
    "group.consumer.min.heartbeat.interval.ms": 500,
}


def _group_consumer(cluster: rafka.Cluster, protocol: str) -> rafka.Consumer:
    heartbeat = {"heartbeat_interval_ms": 500} if protocol == "classic" else {}
    return rafka.Consumer(
        bootstrap_servers=cluster.bootstrap_servers,
        group_id="g",
        group_protocol=protocol,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **heartbeat,
    )


def _poll_until(consumer: rafka.Consumer, value: bytes, seen: list[bytes | None]) -> None:
    def check() -> None:
        seen.extend(r.value for r in consumer.poll(0.1))
        assert value in seen

    eventually(check, 30)


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_a_member_of_a_restored_group_carries_on(protocol: str) -> None:
    """The group was in the snapshot: its coordinator reloads it, with its member, whose
    heartbeats go on being accepted."""
    with rafka.Cluster(listen=True, config=GROUP_CONFIG) as cluster:
        with cluster.producer() as producer:
            producer.send("t", b"before").result(10)
        with _group_consumer(cluster, protocol) as consumer:
            consumer.subscribe(["t"])
            seen: list[bytes | None] = []
            _poll_until(consumer, b"before", seen)
            consumer.commit()
            before = cluster.wait_for_group_state("g", "Stable")
            assert before is not None
            snapshot = cluster.snapshot()
            consumer.commit({("t", 0): 0})  # the offsets partition changes

            cluster.restore(snapshot)

            group = cluster.describe_group("g")
            assert group is not None and group.offsets == before.offsets
            assert [m.member_id for m in group.members] == [m.member_id for m in before.members]
            with cluster.producer() as producer:
                producer.send("t", b"after").result(10)
            _poll_until(consumer, b"after", seen)
            consumer.commit()
            group = cluster.wait_for_group_state("g", "Stable")
            assert group is not None and group.offsets[("t", 0)].offset == 2
            assert [m.member_id for m in group.members] == [m.member_id for m in before.members]


def test_a_member_of_a_classic_group_removed_by_a_restore_rejoins() -> None:
    """The group came after the snapshot: the restore removes it; its member finds out at
    its next heartbeat (UNKNOWN_MEMBER_ID), rejoins and goes on. (A KIP-848 member gets
    GROUP_ID_NOT_FOUND instead, as from Apache Kafka, which its client treats as fatal.)"""
    with rafka.Cluster(listen=True, config=GROUP_CONFIG) as cluster:
        with cluster.producer() as producer:
            producer.send("t", b"before").result(10)
        snapshot = cluster.snapshot()
        with _group_consumer(cluster, "classic") as consumer:
            consumer.subscribe(["t"])
            seen: list[bytes | None] = []
            _poll_until(consumer, b"before", seen)
            consumer.commit()
            cluster.wait_for_group_state("g", "Stable")

            cluster.restore(snapshot)
            assert cluster.describe_group("g") is None

            with cluster.producer() as producer:
                producer.send("t", b"after").result(10)
            _poll_until(consumer, b"after", seen)

            def rejoined() -> None:
                consumer.poll(0.1)
                group = cluster.describe_group("g")
                assert group is not None and group.state == "Stable" and group.members

            eventually(rejoined, 30)
            consumer.commit({("t", 0): 2})
            group = cluster.describe_group("g")
            assert group is not None and group.offsets[("t", 0)].offset == 2

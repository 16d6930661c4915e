"""The synchronous Consumer, on its own loop thread and on a sync Cluster's."""

from __future__ import annotations

import time

import pytest

import rafka
from rafka.clients.types import TopicPartition


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sync_round_trip_over_tcp(backend: str) -> None:
    with rafka.Cluster(listen=True) as cluster:
        with rafka.Producer(bootstrap_servers=cluster.bootstrap_servers) as producer:
            for i in range(100):
                producer.send("t", b"%d" % i, partition=0)
        with rafka.Consumer(
            bootstrap_servers=cluster.bootstrap_servers,
            backend=backend,
            auto_offset_reset="earliest",
        ) as consumer:
            consumer.assign([("t", 0)])
            values: list[bytes | None] = []
            for record in consumer:
                values.append(record.value)
                if len(values) == 100:
                    break
            assert values == [b"%d" % i for i in range(100)]
            assert consumer.position(("t", 0)) == 100
            assert consumer.end_offsets([("t", 0)]) == {("t", 0): 100}


def test_in_process_on_the_clusters_loop() -> None:
    with rafka.Cluster() as cluster:
        with cluster.producer() as producer:
            producer.send("t", b"x").result(5)
        with cluster.consumer(auto_offset_reset="earliest") as consumer:
            consumer.assign([("t", 0)])
            records = consumer.poll(5)
            assert [r.value for r in records] == [b"x"]


def test_group_callbacks_run_off_the_loop_and_may_call_the_consumer() -> None:
    """A rebalance callback of the sync Consumer runs on a worker thread, so it can commit
    (Java's idiom: commit what was processed in onPartitionsRevoked) without deadlocking."""
    config = {"group.initial.rebalance.delay.ms": 0, "num.partitions": 2}
    with rafka.Cluster(config=config) as cluster:
        with cluster.producer() as producer:
            for i in range(10):
                producer.send("t", b"%d" % i, partition=i % 2)
        seen: list[tuple[str, object]] = []
        with cluster.consumer(
            group_id="g", auto_offset_reset="earliest", enable_auto_commit=False
        ) as consumer:

            def on_revoke(partitions: list[TopicPartition]) -> None:
                consumer.commit()
                seen.append(("revoke", consumer.committed(partitions)))

            consumer.subscribe(
                ["t"], on_revoke=on_revoke, on_assign=lambda p: seen.append(("assign", sorted(p)))
            )
            got = 0
            while got < 10:
                got += len(consumer.poll(1))
            consumer.unsubscribe()
            for _ in range(50):
                if any(kind == "revoke" for kind, _ in seen):
                    break
                consumer.poll(0.05)
        assert seen[0] == ("assign", [TopicPartition("t", 0), TopicPartition("t", 1)])
        assert seen[1] == (
            "revoke",
            {TopicPartition("t", 0): 5, TopicPartition("t", 1): 5},
        )


@pytest.mark.parametrize("group_protocol", ["classic", "consumer"])
def test_commits_do_not_wait_behind_a_long_poll_fetch(group_protocol: str) -> None:
    """Over TCP a broker answers one connection's requests in order: a commit sent on the
    connection that carries a long-poll fetch would wait out ``fetch.max.wait.ms``. The
    consumer talks to its coordinator on a connection of its own, as Kafka's clients do."""
    config = {"group.initial.rebalance.delay.ms": 0, "num.partitions": 1}
    with rafka.Cluster(listen=True, config=config) as cluster:
        with cluster.producer() as producer:
            producer.send("t", b"x").result(5)
        with rafka.Consumer(
            bootstrap_servers=cluster.bootstrap_servers,
            group_id="g",
            group_protocol=group_protocol,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=5_000,
            request_timeout_ms=30_000,
        ) as consumer:
            consumer.subscribe(["t"])
            records: list[object] = []
            while not records:
                records.extend(consumer.poll(1))
            consumer.poll(0.1)  # the next fetch is now parked at the broker for up to 5 s
            started = time.monotonic()
            for _ in range(5):
                consumer.commit({("t", 0): 1})
            assert time.monotonic() - started < 2.5  # behind the fetch: 5 s or more each
            assert consumer.committed([("t", 0)]) == {TopicPartition("t", 0): 1}

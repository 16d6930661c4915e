"""Consumer groups: rebalance time and OffsetCommit throughput, rafka against Apache Kafka.

Both brokers run as their own process on loopback (``rafka serve`` and the Apache Kafka 4.1.1
broker), with ``group.initial.rebalance.delay.ms=0``, one after the other, driven by the same
confluent-kafka (librdkafka) consumers in this process:

- a 10-member classic group (eager ``range``, 10 partitions): from the first member's
  ``subscribe`` until every member has its assignment (the group is Stable); the median of
  ``RAFKA_BENCH_GROUP_ROUNDS`` rounds (default 5), each with a new group;
- the same with the KIP-848 consumer protocol (``group.protocol=consumer``, the coordinator's
  ``uniform`` assignor): until every member has its share and the coordinator says Stable
  (ConsumerGroupDescribe). Both brokers run with ``group.consumer.heartbeat.interval.ms=500``
  (as the classic members' heartbeat interval): members waiting for partitions others must
  release learn of them at their next heartbeat;
- OffsetCommit: one member of a Stable group commits one offset synchronously, again and again
  for ``RAFKA_BENCH_COMMIT_SECONDS`` (default 3); commits/s;
- and, rafka only, the same commit handled in process (``broker.handle``, no socket): what the
  coordinator itself costs per commit.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from contextlib import contextmanager
from typing import Any

from benchmarks._util import print_table, row
from benchmarks.bench_broker import _create_topic, _wait_ready

MEMBERS = 10
#: Broker configs of both brokers (beyond group.initial.rebalance.delay.ms=0).
CONSUMER_GROUP_CONFIG = {
    "group.consumer.heartbeat.interval.ms": 500,
    "group.consumer.min.heartbeat.interval.ms": 500,
}
ROUNDS = int(os.environ.get("RAFKA_BENCH_GROUP_ROUNDS", "5"))
COMMIT_SECONDS = float(os.environ.get("RAFKA_BENCH_COMMIT_SECONDS", "3"))
KAFKA_JVM = ("-Xms1g", "-Xmx1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20")


@contextmanager
def rafka_server() -> Any:
    import re
    import subprocess
    import sys

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rafka",
            "serve",
            "--port",
            "0",
            "--config",
            "group.initial.rebalance.delay.ms=0",
            *(f"--config={k}={v}" for k, v in CONSUMER_GROUP_CONFIG.items()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"listening on (\S+)", line)
    if match is None:
        proc.kill()
        raise RuntimeError(f"rafka serve did not start: {line}")
    _wait_ready(match.group(1))
    try:
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(30)


@contextmanager
def kafka_server() -> Any:
    try:
        from tests.peers.kafka_broker import KafkaBroker, PeerUnavailable
    except ImportError:
        yield None
        return
    # group.initial.rebalance.delay.ms=0 is set by default
    broker = KafkaBroker(CONSUMER_GROUP_CONFIG, jvm_args=KAFKA_JVM)
    try:
        broker.start()
    except PeerUnavailable as exc:
        print(f"(Apache Kafka unavailable: {exc})")
        yield None
        return
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


def _consumer(bootstrap: str, group: str, protocol: str = "classic") -> Any:
    from confluent_kafka import Consumer

    if protocol == "consumer":
        return Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "enable.auto.commit": False,
                "group.protocol": "consumer",
            }
        )
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "partition.assignment.strategy": "range",
            "session.timeout.ms": 10_000,
            "heartbeat.interval.ms": 500,
        }
    )


def _warm_coordinator(bootstrap: str, group: str) -> None:
    """Find the coordinator once (Kafka creates __consumer_offsets on first use)."""
    from confluent_kafka import KafkaException, TopicPartition

    consumer = _consumer(bootstrap, group)
    deadline = time.perf_counter() + 60
    try:
        while True:
            try:
                consumer.committed([TopicPartition("warm", 0)], timeout=10)
                return
            except KafkaException:  # NOT_COORDINATOR / loading while the topic is created
                if time.perf_counter() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        consumer.close()


def time_to_stable(bootstrap: str, topic: str, protocol: str = "classic") -> float:
    """Seconds from the first subscribe until all members have their assignment (classic:
    every member has one; consumer protocol: every member has its share of the partitions and
    the coordinator reports the group Stable)."""
    group = f"bench-{uuid.uuid4().hex[:8]}"
    consumers = [_consumer(bootstrap, group, protocol) for _ in range(MEMBERS)]
    view = _ConsumerGroupView(bootstrap, group) if protocol == "consumer" else None
    try:
        start = time.perf_counter()
        for consumer in consumers:
            consumer.subscribe([topic])
        while True:
            # Every member keeps polling: librdkafka serves rebalances from poll().
            for consumer in consumers:
                consumer.poll(0)
            if view is None:
                missing = sum(1 for consumer in consumers if not consumer.assignment())
            else:
                missing = sum(1 for consumer in consumers if len(consumer.assignment()) != 1)
                if not missing and not view.stable():
                    missing = 1
            if not missing:
                break
            if time.perf_counter() - start > 120:
                raise RuntimeError(f"{missing} members without an assignment after 120 s")
            time.sleep(0.001)
        return time.perf_counter() - start
    finally:
        if view is not None:
            view.close()
        for consumer in consumers:
            consumer.close()


class _ConsumerGroupView:
    """Asks the coordinator (ConsumerGroupDescribe) whether a consumer group is Stable."""

    def __init__(self, bootstrap: str, group: str) -> None:
        from tests.interop.raw import RawClient

        self.group = group
        self.raw = RawClient(bootstrap)

    def stable(self) -> bool:
        from rafka.protocol.messages import ConsumerGroupDescribeRequest

        (described,) = self.raw.call(ConsumerGroupDescribeRequest([self.group]), 1).groups
        return bool(described.group_state == "Stable" and len(described.members) == MEMBERS)

    def close(self) -> None:
        self.raw.close()


def commit_rate(bootstrap: str, topic: str) -> float:
    from confluent_kafka import TopicPartition

    consumer = _consumer(bootstrap, f"bench-commit-{uuid.uuid4().hex[:8]}")
    try:
        consumer.subscribe([topic])
        deadline = time.perf_counter() + 60
        while not consumer.assignment():
            consumer.poll(0.05)
            if time.perf_counter() > deadline:
                raise RuntimeError("no assignment")
        count = 0
        start = time.perf_counter()
        while time.perf_counter() - start < COMMIT_SECONDS:
            consumer.commit(offsets=[TopicPartition(topic, 0, count)], asynchronous=False)
            count += 1
        return count / (time.perf_counter() - start)
    finally:
        consumer.close()


def in_process_commit_rate() -> float:
    import anyio

    async def go() -> float:
        from rafka.cluster.request import RequestContext
        from rafka.embedded import AsyncCluster
        from rafka.protocol.messages import (
            CreateTopicsRequest,
            FindCoordinatorRequest,
            OffsetCommitRequest,
        )

        async with AsyncCluster(config={"group.initial.rebalance.delay.ms": 0}) as cluster:
            broker = cluster.brokers[1]
            await broker.handle(
                RequestContext(19, 7, 1, "bench"),
                CreateTopicsRequest(
                    topics=[CreateTopicsRequest.CreatableTopic("t", 1, 1)], timeout_ms=1000
                ),
            )
            await broker.handle(RequestContext(10, 3, 2, "bench"), FindCoordinatorRequest("g"))
            Q = OffsetCommitRequest
            ctx = RequestContext(8, 9, 3, "bench")
            count = 0
            start = time.perf_counter()
            while time.perf_counter() - start < COMMIT_SECONDS:
                request = Q(
                    group_id="g",
                    topics=[
                        Q.OffsetCommitRequestTopic(
                            name="t", partitions=[Q.OffsetCommitRequestPartition(0, count)]
                        )
                    ],
                )
                response = await broker.handle(ctx, request)
                assert response is not None
                count += 1
            return count / (time.perf_counter() - start)

    return anyio.run(go)


def _measure(bootstrap: str, label: str) -> dict[str, float]:
    topic = f"bench-group-{label}"
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, MEMBERS, 1)])[topic].result(30)
    _create_topic(bootstrap, f"{topic}-commits")
    _warm_coordinator(bootstrap, "warm")
    time_to_stable(bootstrap, topic)  # warm the connections' code paths
    times = [time_to_stable(bootstrap, topic) for _ in range(ROUNDS)]
    time_to_stable(bootstrap, topic, "consumer")
    consumer_times = [time_to_stable(bootstrap, topic, "consumer") for _ in range(ROUNDS)]
    return {
        "stable": statistics.median(times) * 1000,
        "consumer stable": statistics.median(consumer_times) * 1000,
        "commits": commit_rate(bootstrap, f"{topic}-commits"),
    }


def run() -> list[dict[str, Any]]:
    with rafka_server() as bootstrap:
        ours = _measure(bootstrap, "rafka")
    theirs: dict[str, float] = {}
    with kafka_server() as kafka_bootstrap:
        if kafka_bootstrap is not None:
            theirs = _measure(kafka_bootstrap, "kafka")
    return [
        row(
            f"{MEMBERS}-member classic group: subscribe to Stable (median of {ROUNDS})",
            "ms",
            ours["stable"],
            theirs.get("stable"),
            "Apache Kafka",
        ),
        row(
            f"{MEMBERS}-member consumer-protocol group (KIP-848): subscribe to Stable "
            f"(median of {ROUNDS})",
            "ms",
            ours["consumer stable"],
            theirs.get("consumer stable"),
            "Apache Kafka",
        ),
        row(
            "OffsetCommit, one member, synchronous",
            "commits/s",
            ours["commits"],
            theirs.get("commits"),
            "Apache Kafka",
        ),
        row(
            "OffsetCommit handled in process (broker.handle)",
            "commits/s",
            in_process_commit_rate(),
            None,
            "-",
        ),
    ]


if __name__ == "__main__":
    print_table("Consumer groups (confluent-kafka)", run())

"""Broker throughput and latency: confluent-kafka against rafka and against Apache Kafka.

Both brokers run as their own process on loopback (``rafka serve`` and the Apache Kafka 4.1.1
broker with kafka-server-start's default JVM options), one after the other, driven by the
same confluent-kafka (librdkafka) producer and consumer in this process:

- produce N records of 100 B and 1 KiB, compression none and lz4, acks=1 and acks=all;
  records/s and MB/s, then consume them all back (records/s);
- produce latency p50/p99 at a fixed moderate rate;
- start-up: an in-process ``AsyncCluster()`` to its first acknowledged produce, and
  ``rafka serve`` / the Kafka broker from process start to serving metadata.

Environment: ``RAFKA_BENCH_RECORDS`` (default 200000) sets N.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks._util import print_table, row

RECORDS = int(os.environ.get("RAFKA_BENCH_RECORDS", "200000"))
KAFKA_JVM = ("-Xms1g", "-Xmx1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20")


@contextmanager
def rafka_server() -> Iterator[tuple[str, float]]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rafka", "serve", "--port", "0"],
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
    bootstrap = match.group(1)
    _wait_ready(bootstrap)
    ready = time.perf_counter() - start
    try:
        yield bootstrap, ready
    finally:
        proc.terminate()
        proc.wait(30)


@contextmanager
def kafka_server() -> Iterator[tuple[str, float] | None]:
    try:
        from tests.peers.kafka_broker import KafkaBroker, PeerUnavailable
    except ImportError:
        yield None
        return
    try:
        broker = KafkaBroker(jvm_args=KAFKA_JVM)
        start = time.perf_counter()
        broker.start()
    except PeerUnavailable as exc:
        print(f"(Apache Kafka unavailable: {exc})", file=sys.stderr)
        yield None
        return
    try:
        yield broker.bootstrap_servers, time.perf_counter() - start
    finally:
        broker.stop()


def _wait_ready(bootstrap: str) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.list_topics(timeout=30)


def _create_topic(bootstrap: str, topic: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)


def produce_rate(bootstrap: str, topic: str, size: int, compression: str, acks: str) -> float:
    from confluent_kafka import Producer

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "compression.type": compression,
            "acks": acks,
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 2_000_000,
            "queue.buffering.max.kbytes": 2_000_000,
        }
    )
    value = os.urandom(size // 2).hex().encode()[:size]
    start = time.perf_counter()
    for _ in range(RECORDS):
        while True:
            try:
                producer.produce(topic, value)
                break
            except BufferError:
                producer.poll(0.001)
    left = producer.flush(120)
    elapsed = time.perf_counter() - start
    if left:
        raise RuntimeError(f"{left} records not delivered")
    return RECORDS / elapsed


def consume_rate(bootstrap: str, topic: str) -> float:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench",
            "enable.auto.commit": False,
            "fetch.max.bytes": 52428800,
            "max.partition.fetch.bytes": 10485760,
            # librdkafka stops fetching for fetch.queue.backoff.ms (1 s) whenever more than
            # queued.min.messages (100,000) records wait in its queue: with 10 MB fetches of
            # 100-byte records that depends on how fast the previous answer came, and a 1 s
            # pause measured the client's heuristic, not the broker (from either broker).
            "fetch.queue.backoff.ms": 10,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    count = 0
    start = time.perf_counter()
    while count < RECORDS:
        for msg in consumer.consume(10000, 5.0):
            if msg.error() is None:
                count += 1
        if time.perf_counter() - start > 120:
            break
    elapsed = time.perf_counter() - start
    consumer.close()
    return count / elapsed


def latency_ms(bootstrap: str, topic: str, rate: int = 1000, seconds: float = 3.0) -> list[float]:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0})
    samples: list[float] = []

    def delivered(err: Any, msg: Any, sent: float) -> None:
        if err is None:
            samples.append((time.perf_counter() - sent) * 1000)

    interval = 1 / rate
    deadline = time.perf_counter() + seconds
    nxt = time.perf_counter()
    while time.perf_counter() < deadline:
        now = time.perf_counter()
        producer.produce(topic, b"x" * 100, on_delivery=lambda e, m, t=now: delivered(e, m, t))
        producer.poll(0)
        nxt += interval
        pause = nxt - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    producer.flush(30)
    return samples


def in_process_first_produce_ms() -> float:
    """``AsyncCluster()`` started to the first acknowledged produce, through broker.handle."""
    import anyio

    async def go() -> float:
        from rafka.cluster.request import RequestContext
        from rafka.embedded import AsyncCluster
        from rafka.protocol.messages import CreateTopicsRequest, ProduceRequest
        from rafka.protocol.records import encode_batch

        start = time.perf_counter()
        async with AsyncCluster() as cluster:
            broker = cluster.brokers[1]
            await broker.handle(
                RequestContext(19, 7, 1, "bench"),
                CreateTopicsRequest(
                    topics=[CreateTopicsRequest.CreatableTopic("t", 1, 1)], timeout_ms=1000
                ),
            )
            batch = encode_batch([(0, None, b"v", ())])
            P = ProduceRequest
            response = await broker.handle(
                RequestContext(0, 11, 2, "bench"),
                P(
                    acks=-1,
                    timeout_ms=1000,
                    topic_data=[
                        P.TopicProduceData("t", partition_data=[P.PartitionProduceData(0, batch)])
                    ],
                ),
            )
            elapsed = time.perf_counter() - start
            assert response is not None
            return elapsed * 1000

    anyio.run(go)  # warm imports, as an application that has already imported rafka
    return min(anyio.run(go) for _ in range(5))


def _measure(bootstrap: str, label: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for size in (100, 1024):
        for compression in ("none", "lz4"):
            for acks in ("1", "all"):
                topic = f"bench-{label}-{size}-{compression}-{acks}"
                _create_topic(bootstrap, topic)
                key = f"{size}B {compression} acks={acks}"
                out[f"produce {key}"] = produce_rate(bootstrap, topic, size, compression, acks)
                out[f"consume {key}"] = consume_rate(bootstrap, topic)
    _create_topic(bootstrap, f"latency-{label}")
    samples = latency_ms(bootstrap, f"latency-{label}")
    out["latency p50"] = statistics.median(samples)
    out["latency p99"] = statistics.quantiles(samples, n=100)[98]
    return out


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with rafka_server() as (bootstrap, rafka_ready):
        ours = _measure(bootstrap, "rafka")
    theirs: dict[str, float] = {}
    kafka_ready: float | None = None
    with kafka_server() as kafka:
        if kafka is not None:
            kafka_bootstrap, kafka_ready = kafka
            theirs = _measure(kafka_bootstrap, "kafka")
    for name, value in ours.items():
        size = 100 if "100B" in name else 1024
        if name.startswith("latency"):
            rows.append(row(name, "ms (acks=all, 1000/s)", value, theirs.get(name), "Apache Kafka"))
            continue
        rows.append(row(name, "records/s", value, theirs.get(name), "Apache Kafka"))
        rows.append(
            row(
                name.replace("produce", "produce MB/s").replace("consume", "consume MB/s"),
                "MB/s",
                value * size / 1e6,
                theirs[name] * size / 1e6 if name in theirs else None,
                "Apache Kafka",
            )
        )
    rows.append(
        row("start-up: process to serving metadata", "s", rafka_ready, kafka_ready, "Apache Kafka")
    )
    rows.append(
        row(
            "start-up: in-process AsyncCluster() to first acked produce",
            "ms",
            in_process_first_produce_ms(),
            None,
            "target < 50 ms",
        )
    )
    return rows


if __name__ == "__main__":
    print_table("Broker throughput and latency (confluent-kafka)", run())

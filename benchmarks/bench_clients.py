"""rafka's clients: produce/consume rates and end-to-end latency, against librdkafka.

One run, 100-byte records, acks=1, linger 5 ms:

- rafka AsyncProducer/AsyncConsumer in process (``cluster.producer()``), and the sync API;
- rafka's clients over TCP to a rafka listener (in this process's loop);
- confluent-kafka (librdkafka) over TCP to a rafka listener (``rafka serve`` process), and to
  librdkafka's own in-process mock cluster (``test.mock.num.brokers``): the peer to beat;
- end-to-end latency (produce to consumer receipt) p50/p99 in process.

``RAFKA_BENCH_RECORDS`` (default 200000) sets the record count.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import anyio

from benchmarks._util import print_table, row

RECORDS = int(os.environ.get("RAFKA_BENCH_RECORDS", "200000"))
VALUE = b"x" * 100


async def _rafka_rates(cluster: Any, make_producer: Any, make_consumer: Any) -> tuple[float, float]:
    async with make_producer(acks=1, linger_ms=5) as producer:
        start = time.perf_counter()
        for _ in range(RECORDS):
            await producer.send("bench", VALUE, partition=0)
        await producer.flush()
        produced = RECORDS / (time.perf_counter() - start)
    async with make_consumer(auto_offset_reset="earliest", max_poll_records=10000) as consumer:
        consumer.assign([("bench", 0)])
        count = 0
        start = time.perf_counter()
        while count < RECORDS:
            count += len(await consumer.poll(5))
        consumed = count / (time.perf_counter() - start)
    return produced, consumed


def rafka_in_process() -> tuple[float, float]:
    import rafka

    async def go() -> tuple[float, float]:
        async with rafka.AsyncCluster() as cluster:
            return await _rafka_rates(cluster, cluster.producer, cluster.consumer)

    return anyio.run(go)


def rafka_sync_in_process() -> tuple[float, float]:
    import rafka

    with rafka.Cluster() as cluster:
        with cluster.producer(acks=1, linger_ms=5) as producer:
            producer.send("bench", VALUE, partition=0).result(10)
            start = time.perf_counter()
            for _ in range(RECORDS):
                producer.send("bench", VALUE, partition=0)
            producer.flush()
            produced = RECORDS / (time.perf_counter() - start)
        with cluster.consumer(auto_offset_reset="earliest", max_poll_records=10000) as consumer:
            consumer.assign([("bench", 0)])
            count = 0
            start = time.perf_counter()
            while count < RECORDS + 1:
                count += len(consumer.poll(5))
            consumed = count / (time.perf_counter() - start)
    return produced, consumed


def rafka_over_tcp() -> tuple[float, float]:
    import rafka
    from rafka.clients.consumer import AsyncConsumer
    from rafka.clients.producer import AsyncProducer

    async def go() -> tuple[float, float]:
        async with rafka.AsyncCluster(listen=True) as cluster:
            servers = cluster.bootstrap_servers
            return await _rafka_rates(
                cluster,
                lambda **kw: AsyncProducer(bootstrap_servers=servers, **kw),
                lambda **kw: AsyncConsumer(bootstrap_servers=servers, **kw),
            )

    return anyio.run(go)


def _confluent_rates(config: dict[str, Any]) -> tuple[float, float]:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

    producer = Producer(
        {**config, "acks": "1", "linger.ms": 5, "queue.buffering.max.messages": 2_000_000}
    )
    producer.produce("bench", VALUE, partition=0)
    producer.flush(30)
    start = time.perf_counter()
    for _ in range(RECORDS):
        while True:
            try:
                producer.produce("bench", VALUE, partition=0)
                break
            except BufferError:
                producer.poll(0.001)
    producer.flush(60)
    produced = RECORDS / (time.perf_counter() - start)
    consumer = Consumer({**config, "group.id": "bench", "enable.auto.commit": False})
    # librdkafka's mock cluster keeps only the newest part of a partition: consume what it
    # holds, from the earliest retained offset to the high watermark.
    low, high = consumer.get_watermark_offsets(TopicPartition("bench", 0), timeout=10)
    consumer.assign([TopicPartition("bench", 0, OFFSET_BEGINNING)])
    target = high - low
    count = 0
    start = time.perf_counter()
    deadline = start + 120
    while count < target and time.perf_counter() < deadline:
        # A short timeout: consume() waits for its full count or the timeout.
        count += sum(1 for m in consumer.consume(1000, 0.05) if m.error() is None)
    consumed = count / (time.perf_counter() - start)
    consumer.close()
    return produced, consumed


def confluent_to_rafka() -> tuple[float, float]:
    from benchmarks.bench_broker import _create_topic, rafka_server

    with rafka_server() as (bootstrap, _):
        _create_topic(bootstrap, "bench")
        return _confluent_rates({"bootstrap.servers": bootstrap})


def confluent_to_mock() -> tuple[float, float]:
    # librdkafka's mock cluster lives in the producer's client; the consumer joins it through
    # the bootstrap address it exposes.
    from confluent_kafka import Producer

    holder = Producer({"test.mock.num.brokers": 1})
    bootstrap = holder.list_topics(timeout=10).orig_broker_name.split("/")[0]
    try:
        return _confluent_rates({"bootstrap.servers": bootstrap})
    finally:
        del holder


def latency_in_process() -> list[float]:
    import rafka

    async def go() -> list[float]:
        samples: list[float] = []
        async with (
            rafka.AsyncCluster() as cluster,
            cluster.producer(acks=1, linger_ms=0) as producer,
            cluster.consumer(fetch_max_wait_ms=500) as consumer,
        ):
            await producer.send_and_wait("lat", b"warm")
            consumer.assign([("lat", 0)])
            await consumer.position(("lat", 0))
            for _ in range(2000):
                sent = time.perf_counter()
                await producer.send("lat", VALUE, partition=0)
                while not await consumer.poll(1.0):
                    pass
                samples.append((time.perf_counter() - sent) * 1000)
        return samples

    return anyio.run(go)


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    mock = confluent_to_mock()
    for name, fn in (
        ("rafka clients, in process (async)", rafka_in_process),
        ("rafka clients, in process (sync API)", rafka_sync_in_process),
        ("rafka clients over TCP to rafka", rafka_over_tcp),
        ("confluent-kafka over TCP to rafka serve", confluent_to_rafka),
    ):
        produced, consumed = fn()
        rows.append(
            row(f"{name}: produce", "records/s", produced, mock[0], "librdkafka mock cluster")
        )
        rows.append(
            row(f"{name}: consume", "records/s", consumed, mock[1], "librdkafka mock cluster")
        )
    samples = latency_in_process()
    rows.append(
        row("end-to-end latency in process p50", "ms", statistics.median(samples), None, "-")
    )
    rows.append(
        row(
            "end-to-end latency in process p99",
            "ms",
            statistics.quantiles(samples, n=100)[98],
            None,
            "-",
        )
    )
    return rows


if __name__ == "__main__":
    print_table("rafka's clients against librdkafka", run())

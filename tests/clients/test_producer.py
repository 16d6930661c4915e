"""rafka's AsyncProducer, in process and over TCP, checked through the broker's logs and a
third-party consumer (kafka-python)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from kafka import KafkaConsumer
from kafka import TopicPartition as KTopicPartition

import rafka
from rafka import errors
from rafka.clients.partitioner import partition_for_key
from rafka.clients.producer import AsyncProducer
from rafka.protocol.records import read_batches

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["in-process", "codec", "tcp"])
async def producer_factory(
    request: pytest.FixtureRequest,
) -> AsyncIterator[Any]:
    async with rafka.AsyncCluster(
        listen=request.param == "tcp", config={"num.partitions": 3}
    ) as cluster:

        def make(**kwargs: Any) -> AsyncProducer:
            if request.param == "tcp":
                return AsyncProducer(bootstrap_servers=cluster.bootstrap_servers, **kwargs)
            return cluster.producer(through_codec=request.param == "codec", **kwargs)

        make.cluster = cluster  # type: ignore[attr-defined]
        yield make


def _records(cluster: rafka.AsyncCluster, topic: str, partition: int) -> list[Any]:
    """Every record of a partition (a read returns one segment's batches, as Kafka's does)."""
    log = cluster.brokers[1].replica_manager.partitions[(topic, partition)].log
    records: list[Any] = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 30)
        records += [r for batch in read_batches(data.records) for r in batch.records()]
        offset = data.next_offset
    return records


async def test_send_and_read_back(producer_factory: Any) -> None:
    cluster = producer_factory.cluster
    async with producer_factory(linger_ms=1) as producer:
        futures = [
            await producer.send("t", f"v{i}".encode(), key=f"k{i}".encode(), headers=[("h", b"x")])
            for i in range(50)
        ]
        await producer.flush()
        metas = [f.metadata() for f in futures]
    for i, meta in enumerate(metas):
        assert meta.partition == partition_for_key(f"k{i}".encode(), 3)
    for p in range(3):
        records = _records(cluster, "t", p)
        mine = [m for m in metas if m.partition == p]
        assert [r.offset for r in records] == [m.offset for m in mine]
        assert all(r.headers == (("h", b"x"),) for r in records)


async def test_nulls_timestamps_and_sticky_keyless(producer_factory: Any) -> None:
    cluster = producer_factory.cluster
    async with producer_factory() as producer:
        a = await producer.send_and_wait("n", None, key=b"k", timestamp=1234)
        b = await producer.send_and_wait("n", b"v", key=None, partition=a.partition)
    records = _records(cluster, "n", a.partition)
    assert (records[0].key, records[0].value, records[0].timestamp) == (b"k", None, 1234)
    assert (records[1].key, records[1].value) == (None, b"v")
    assert a.timestamp == 1234 and b.offset == a.offset + 1


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
async def test_compression(producer_factory: Any, codec: str) -> None:
    cluster = producer_factory.cluster
    async with producer_factory(compression_type=codec) as producer:
        for i in range(20):
            await producer.send("c", b"x" * 100 + bytes([i]), partition=0)
    values = [r.value for r in _records(cluster, "c", 0)]
    assert values == [b"x" * 100 + bytes([i]) for i in range(20)]


async def test_idempotent_batches_carry_sequences(producer_factory: Any) -> None:
    cluster = producer_factory.cluster
    async with producer_factory(batch_size=200) as producer:
        for i in range(30):
            await producer.send("s", b"%03d" % i, partition=0)
    log = cluster.brokers[1].replica_manager.partitions[("s", 0)].log
    batches = list(read_batches(log.read(0, 1 << 20).records))  # one segment: all of it here
    assert len(batches) > 1
    assert batches[0].header.producer_id >= 0
    sequences = [b.header.base_sequence for b in batches]
    counts = [b.header.records_count for b in batches]
    assert sequences == [sum(counts[:i]) for i in range(len(counts))]


async def test_errors(producer_factory: Any) -> None:
    with pytest.raises(errors.ConfigError, match=r"did you mean 'linger\.ms'"):
        producer_factory(linger_msec=5)
    with pytest.raises(errors.ConfigError):
        producer_factory(acks="2")
    with pytest.raises(errors.ConfigError):
        producer_factory(enable_idempotence=True, acks=1)
    # acks given as an int, as Kafka's Java clients take it too
    assert producer_factory(acks=1, enable_idempotence=False).config["acks"] == "1"
    assert producer_factory(acks=-1).config["acks"] == "-1"  # the same as "all"
    async with producer_factory(max_request_size=1000) as producer:
        with pytest.raises(errors.MessageTooLargeError):
            await producer.send("e", b"x" * 2000)
        with pytest.raises(errors.UnknownTopicOrPartitionError):
            await producer.send("e", b"x", partition=99)
    with pytest.raises(errors.ClientClosedError):
        await producer.send("e", b"late")


async def test_missing_topic_without_auto_create_times_out() -> None:
    config = {"auto.create.topics.enable": False}
    async with (
        rafka.AsyncCluster(config=config) as cluster,
        cluster.producer(max_block_ms=300) as producer,
    ):
        with pytest.raises(errors.UnknownTopicOrPartitionError):
            await producer.send("missing", b"x")


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_read_by_kafka_python(anyio_backend: str) -> None:
    async with rafka.AsyncCluster(listen=True) as cluster:
        async with AsyncProducer(
            bootstrap_servers=cluster.bootstrap_servers, compression_type="lz4"
        ) as producer:
            for i in range(10):
                await producer.send("x", b"v%d" % i, key=b"k", headers=[("n", b"%d" % i)])
        import anyio

        def consume() -> list[Any]:
            consumer = KafkaConsumer(
                bootstrap_servers=cluster.bootstrap_servers,
                consumer_timeout_ms=2000,
                enable_auto_commit=False,
            )
            consumer.assign([KTopicPartition("x", 0)])
            consumer.seek_to_beginning()
            records = list(consumer)
            consumer.close()
            return records

        records = await anyio.to_thread.run_sync(consume)
    assert [r.value for r in records] == [b"v%d" % i for i in range(10)]
    assert [r.headers for r in records] == [[("n", b"%d" % i)] for i in range(10)]

"""rafka's AsyncConsumer in assign mode: in process, through the codec, and over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from confluent_kafka import Producer as CKProducer

import rafka
from rafka import errors
from rafka.clients.consumer import AsyncConsumer
from rafka.clients.producer import AsyncProducer
from rafka.clients.types import TopicPartition

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Target:
    def __init__(self, cluster: rafka.AsyncCluster, mode: str) -> None:
        self.cluster = cluster
        self.mode = mode

    def producer(self, **kwargs: Any) -> AsyncProducer:
        if self.mode == "tcp":
            return AsyncProducer(bootstrap_servers=self.cluster.bootstrap_servers, **kwargs)
        return self.cluster.producer(through_codec=self.mode == "codec", **kwargs)

    def consumer(self, **kwargs: Any) -> AsyncConsumer:
        if self.mode == "tcp":
            return AsyncConsumer(bootstrap_servers=self.cluster.bootstrap_servers, **kwargs)
        return self.cluster.consumer(through_codec=self.mode == "codec", **kwargs)


@pytest.fixture(params=["in-process", "codec", "tcp"])
async def target(request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    async with rafka.AsyncCluster(listen=request.param == "tcp") as cluster:
        yield Target(cluster, request.param)


async def _produce(target: Target, topic: str, n: int, **kwargs: Any) -> None:
    async with target.producer(**kwargs) as producer:
        for i in range(n):
            await producer.send(
                topic,
                b"v%d" % i,
                key=b"k%d" % i,
                partition=0,
                timestamp=1000 + i,
                headers=[("i", b"%d" % i)],
            )


async def _drain(consumer: AsyncConsumer, n: int) -> list[Any]:
    got: list[Any] = []
    with anyio.fail_after(10):
        while len(got) < n:
            got += await consumer.poll(1.0)
    return got


async def test_reads_everything_in_order(target: Target) -> None:
    await _produce(target, "t", 300, compression_type="lz4")
    async with target.consumer(auto_offset_reset="earliest", max_poll_records=50) as consumer:
        consumer.assign([("t", 0)])
        records = await _drain(consumer, 300)
        assert [r.offset for r in records] == list(range(300))
        assert records[7].value == b"v7" and records[7].key == b"k7"
        assert records[7].timestamp == 1007 and records[7].headers == (("i", b"7"),)
        assert await consumer.position(("t", 0)) == 300
        assert await consumer.poll(0.05) == []


async def test_seek_and_latest(target: Target) -> None:
    await _produce(target, "s", 20)
    async with target.consumer() as consumer:  # auto.offset.reset=latest
        consumer.assign([("s", 0)])
        assert await consumer.position(("s", 0)) == 20
        consumer.seek(("s", 0), 15)
        assert [r.offset for r in await _drain(consumer, 5)] == [15, 16, 17, 18, 19]
        consumer.seek_to_beginning()
        assert (await consumer.poll(5))[0].offset == 0


async def test_pause_resume(target: Target) -> None:
    await _produce(target, "p", 10)
    async with target.consumer(auto_offset_reset="earliest") as consumer:
        consumer.assign([("p", 0)])
        consumer.pause(("p", 0))
        assert await consumer.poll(0.3) == []
        assert consumer.paused() == {TopicPartition("p", 0)}
        consumer.resume(("p", 0))
        assert len(await _drain(consumer, 10)) == 10


async def test_offset_lookups(target: Target) -> None:
    await _produce(target, "o", 10)
    async with target.consumer() as consumer:
        tp = TopicPartition("o", 0)
        assert await consumer.beginning_offsets([tp]) == {tp: 0}
        assert await consumer.end_offsets([tp]) == {tp: 10}
        found = await consumer.offsets_for_times({tp: 1004, ("o", 0): 1004})
        assert found[tp] is not None and found[tp].offset == 4  # type: ignore[union-attr]
        assert (await consumer.offsets_for_times({tp: 99999}))[tp] is None


async def test_out_of_range(target: Target) -> None:
    await _produce(target, "r", 5)
    async with target.consumer(auto_offset_reset="none") as consumer:
        consumer.assign([("r", 0)])
        with pytest.raises(errors.NoOffsetForPartitionError):
            await consumer.poll(2)
        consumer.seek(("r", 0), 50)
        with pytest.raises(errors.OffsetOutOfRangeError):
            await _drain(consumer, 1)
    async with target.consumer(auto_offset_reset="earliest") as consumer:
        consumer.assign([("r", 0)])
        consumer.seek(("r", 0), 50)
        assert (await _drain(consumer, 5))[0].offset == 0


async def test_errors(target: Target) -> None:
    with pytest.raises(errors.ConfigError):
        target.consumer(auto_offset_reset="sometimes")
    async with target.consumer() as consumer:
        with pytest.raises(errors.IllegalStateError):
            consumer.seek(("unassigned", 0), 1)
    with pytest.raises(errors.ClientClosedError):
        await consumer.poll(0)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_reads_what_confluent_kafka_produced(anyio_backend: str) -> None:
    async with rafka.AsyncCluster(listen=True) as cluster:

        def produce() -> None:
            p = CKProducer(
                {"bootstrap.servers": cluster.bootstrap_servers, "compression.type": "zstd"}
            )
            for i in range(100):
                p.produce("ck", b"%d" % i, key=b"k", headers=[("h", b"%d" % i)], partition=0)
            assert p.flush(10) == 0

        await anyio.to_thread.run_sync(produce)
        async with AsyncConsumer(
            bootstrap_servers=cluster.bootstrap_servers, auto_offset_reset="earliest"
        ) as consumer:
            consumer.assign([("ck", 0)])
            records = await _drain(consumer, 100)
    assert [r.value for r in records] == [b"%d" % i for i in range(100)]
    assert records[5].headers == (("h", b"5"),)

"""Faults under running clients: a broker restarted while rafka's Producer and Consumer work.

The producer (idempotent, acks=all: the defaults) keeps sending numbered records; a consumer
keeps reading. Midway the broker goes down and comes back on the same address and data --
rafka's listener (a new cluster on the same ``data_dir`` and port) and Apache Kafka's broker
(the same process restarted). Afterwards the partition must hold every acknowledged record
exactly once: nothing acknowledged is lost, and the retries the restart caused duplicate
nothing (the broker recovered each producer's sequence state from disk).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

import rafka
from rafka.clients.consumer import AsyncConsumer
from rafka.clients.producer import AsyncProducer
from tests.peers.kafka_broker import KafkaBroker

TOPIC = "faults"
RECORDS = 3000
CLIENT = {"request_timeout_ms": 5000, "retry_backoff_ms": 50, "reconnect_backoff_max_ms": 200}

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RafkaBroker:
    """A one-broker rafka cluster on disk, listening on a fixed port, that can restart. It
    runs on its own event-loop thread (``rafka.Cluster``), as a broker process would."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.cluster: rafka.Cluster | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.cluster = rafka.Cluster(
            listen=True, port=self.port, data_dir=self.data_dir, config={"num.partitions": 1}
        )
        self.cluster.start()

    def stop(self) -> None:
        if self.cluster is not None:
            cluster, self.cluster = self.cluster, None
            cluster.stop()

    def restart(self) -> None:
        self.stop()
        time.sleep(0.3)  # clients see refused connections for a while
        self.start()


async def _produce(producer: AsyncProducer, acked: set[int], stop_at: int) -> None:
    """Send numbered records in flights of 50, remembering which were acknowledged."""
    for start in range(0, stop_at, 50):
        futures = [
            (i, await producer.send(TOPIC, value=b"%d" % i, partition=0))
            for i in range(start, min(start + 50, stop_at))
        ]
        for i, future in futures:
            await future
            acked.add(i)
        await anyio.sleep(0.005)


async def _consume(consumer: AsyncConsumer, seen: list[int], until: Callable[[], bool]) -> None:
    consumer.assign([(TOPIC, 0)])
    while not until():
        for record in await consumer.poll(0.2):
            assert record.value is not None
            seen.append(int(record.value))


async def _read_all(bootstrap: str) -> list[int]:
    async with AsyncConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", **CLIENT
    ) as consumer:
        consumer.assign([(TOPIC, 0)])
        end = (await consumer.end_offsets([(TOPIC, 0)]))[(TOPIC, 0)]
        values: list[int] = []
        with anyio.fail_after(30):
            while await consumer.position((TOPIC, 0)) < end:
                values += [int(r.value or b"") for r in await consumer.poll(0.5)]
        return values


async def _scenario(bootstrap: str, restart: Callable[[], Awaitable[None]]) -> None:
    acked: set[int] = set()
    seen: list[int] = []
    async with (
        AsyncProducer(bootstrap_servers=bootstrap, delivery_timeout_ms=60_000, **CLIENT) as p,
        AsyncConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", **CLIENT) as c,
    ):
        await p.send_and_wait(TOPIC, value=b"-1", partition=0)  # the topic exists
        done = anyio.Event()

        async def produce() -> None:
            await _produce(p, acked, RECORDS)
            done.set()

        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                tg.start_soon(produce)
                tg.start_soon(_consume, c, seen, lambda: done.is_set() and len(seen) > RECORDS)
                while len(acked) < RECORDS // 3:
                    await anyio.sleep(0.01)
                await restart()
    assert acked == set(range(RECORDS))
    stored = await _read_all(bootstrap)
    assert stored.count(-1) == 1
    body = [v for v in stored if v >= 0]
    assert sorted(body) == list(range(RECORDS)), "lost or duplicated records"
    assert body == sorted(body), "records out of order"
    # the running consumer saw every record once, in order, across the restart
    assert [v for v in seen if v >= 0] == list(range(RECORDS))


async def test_rafka_broker_restart_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    broker = RafkaBroker(tmp_path / "data")
    broker.start()
    try:
        await _scenario(broker.bootstrap_servers, lambda: anyio.to_thread.run_sync(broker.restart))
    finally:
        broker.stop()


@pytest.mark.java
async def test_apache_kafka_restart_the_same_way(own_kafka_broker: KafkaBroker) -> None:
    """The reference: the same scenario with Apache Kafka's broker restarted under it."""

    async def restart() -> None:
        await anyio.to_thread.run_sync(lambda: own_kafka_broker.restart(down_seconds=0.3))

    await _scenario(own_kafka_broker.bootstrap_servers, restart)

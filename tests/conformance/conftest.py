"""The client conformance harness: one test body, the same assertions, run against

* ``in_process``: a fresh ``rafka.AsyncCluster()`` reached through its in-process transport
  (on asyncio and on trio);
* ``codec``: the same, with every request and response encoded and decoded on the way
  (``through_codec=True``), which catches fields sent at a version that lacks them;
* ``tcp``: a fresh ``rafka.AsyncCluster(listen=True)``, clients built with
  ``bootstrap_servers=`` (on asyncio and on trio);
* ``kafka``: the Apache Kafka reference broker of ``tests/peers`` (one per session; skipped,
  or failed under ``CI=true``, when Java or the jars are missing).

A test asks for the ``target`` fixture (a :class:`Target`) and builds clients from it:
``target.admin(**cfg)``, ``target.producer(**cfg)``, ``target.consumer(**cfg)`` return async
clients to use with ``async with``; ``target.unique_topic()`` / ``target.unique_group()`` give
names no other test uses (the reference broker is shared by the whole session). Both sides run
single-broker clusters with the same settings (:data:`BROKER_CONFIG`), so answers can be
compared as they are.

``@pytest.mark.targets("tcp", "kafka")`` limits a test to some targets (a scenario that needs
a third-party client over TCP). Tests marked ``@pytest.mark.group_coordinator`` need a broker
that serves FindCoordinator; against rafka they are expected to fail (strictly) while rafka's
brokers do not register that API, so the suite flips when it lands.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import anyio
import pytest

import rafka
from rafka.clients.admin import AsyncAdmin
from rafka.clients.consumer import AsyncConsumer
from rafka.clients.consumer.records import ConsumerRecord
from rafka.clients.producer import AsyncProducer
from rafka.clients.types import TopicPartition

#: (target name, anyio backend) pairs every conformance test runs with.
COMBOS: tuple[tuple[str, str], ...] = (
    ("in_process", "asyncio"),
    ("in_process", "trio"),
    ("codec", "asyncio"),
    ("tcp", "asyncio"),
    ("tcp", "trio"),
    ("kafka", "asyncio"),
)

#: Broker settings both rafka and the reference broker run with (the reference broker's
#: ``server.properties`` in ``tests/peers/kafka_broker.py`` sets the same).
BROKER_CONFIG: dict[str, Any] = {
    "num.partitions": 1,
    "default.replication.factor": 1,
    "offsets.topic.num.partitions": 1,
    "offsets.topic.replication.factor": 1,
    "group.initial.rebalance.delay.ms": 0,
    "group.consumer.heartbeat.interval.ms": 500,
    "group.consumer.min.heartbeat.interval.ms": 500,
}

#: Client settings that keep failing tests short (every target answers in milliseconds).
FAST = {"request_timeout_ms": 10_000, "default_api_timeout_ms": 15_000, "retry_backoff_ms": 20}

_names = itertools.count()
T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
    """``await check()`` until it stops raising ``AssertionError`` (or a rafka error), for
    answers a real broker gives only once its metadata has caught up (Apache Kafka applies
    topic changes to a broker's metadata cache shortly after acknowledging them)."""
    from rafka import errors

    with anyio.fail_after(timeout):
        while True:
            try:
                return await check()
            except (AssertionError, errors.RafkaError):
                await anyio.sleep(0.05)


def rafka_serves_find_coordinator() -> bool:
    """Whether rafka's brokers register a FindCoordinator handler (the group coordinator)."""
    from rafka.cluster.request import HANDLER_MODULES

    return "find_coordinator" in HANDLER_MODULES


class Target:
    """One cluster the conformance tests run against, and factories for rafka's clients."""

    def __init__(
        self,
        name: str,
        *,
        cluster: rafka.AsyncCluster | None = None,
        bootstrap_servers: str | None = None,
        through_codec: bool = False,
    ) -> None:
        self.name = name
        self.cluster = cluster
        self.bootstrap_servers = bootstrap_servers
        self.through_codec = through_codec

    @property
    def is_kafka(self) -> bool:
        return self.name == "kafka"

    @property
    def in_process(self) -> bool:
        return self.bootstrap_servers is None

    @property
    def broker_ids(self) -> list[int]:
        """Node ids of the target's brokers (both sides run one broker, id 1)."""
        return [1] if self.cluster is None else sorted(self.cluster.brokers)

    def unique_topic(self, prefix: str = "conformance") -> str:
        return f"{prefix}-{next(_names)}-{uuid.uuid4().hex[:8]}"

    def unique_group(self, prefix: str = "group") -> str:
        return self.unique_topic(prefix)

    def admin(self, **cfg: Any) -> AsyncAdmin:
        """An :class:`AsyncAdmin` for this target (``async with`` it)."""
        if self.cluster is not None and self.in_process:
            admin: AsyncAdmin = self.cluster.admin(
                through_codec=self.through_codec, **{**FAST, **cfg}
            )
            return admin
        return AsyncAdmin(bootstrap_servers=self.bootstrap_servers, **{**FAST, **cfg})

    def producer(self, **cfg: Any) -> AsyncProducer:
        """An :class:`AsyncProducer` for this target (``async with`` it)."""
        if self.cluster is not None and self.in_process:
            producer: AsyncProducer = self.cluster.producer(through_codec=self.through_codec, **cfg)
            return producer
        return AsyncProducer(bootstrap_servers=self.bootstrap_servers, **cfg)

    def consumer(self, **cfg: Any) -> AsyncConsumer:
        """An :class:`AsyncConsumer` for this target (``async with`` it)."""
        if self.cluster is not None and self.in_process:
            consumer: AsyncConsumer = self.cluster.consumer(through_codec=self.through_codec, **cfg)
            return consumer
        return AsyncConsumer(bootstrap_servers=self.bootstrap_servers, **cfg)

    def __repr__(self) -> str:
        return f"Target({self.name})"


async def poll_until(
    consumers: Sequence[AsyncConsumer],
    done: Callable[[], bool],
    into: list[ConsumerRecord] | None = None,
    timeout: float = 20.0,
) -> None:
    """Poll every consumer in turn (as each member's application would) until ``done()``,
    collecting what they return ``into`` a list."""
    with anyio.fail_after(timeout):
        while not done():
            for consumer in consumers:
                records = await consumer.poll(0.05)
                if into is not None:
                    into.extend(records)


def covers(topic: str, partitions: int, *consumers: AsyncConsumer) -> bool:
    """Every partition of ``topic`` owned by exactly one of ``consumers``."""
    owned = [tp for c in consumers for tp in c.assignment()]
    return sorted(owned) == [TopicPartition(topic, p) for p in range(partitions)]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "targets(*names): run only against these targets (e.g. those a peer client can reach)",
    )
    config.addinivalue_line(
        "markers",
        "group_coordinator: needs FindCoordinator (xfail against rafka until it is served)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" not in metafunc.fixturenames:
        return
    only = metafunc.definition.get_closest_marker("targets")
    params = [
        pytest.param(name, backend, id=f"{name}-{backend}", marks=_marks(metafunc, name))
        for name, backend in COMBOS
        if only is None or name in only.args
    ]
    metafunc.parametrize(("target_name", "anyio_backend"), params)


def _marks(metafunc: pytest.Metafunc, name: str) -> list[pytest.MarkDecorator]:
    marks = [pytest.mark.anyio]
    if name == "kafka":
        marks.append(pytest.mark.java)
    elif (
        metafunc.definition.get_closest_marker("group_coordinator") is not None
        and not rafka_serves_find_coordinator()
    ):
        marks.append(
            pytest.mark.xfail(
                strict=True,
                reason="rafka's brokers do not serve FindCoordinator yet (group coordinator)",
            )
        )
    return marks


@pytest.fixture
def anyio_backend() -> str:
    """Overridden per test by :func:`pytest_generate_tests` (see :data:`COMBOS`)."""
    return "asyncio"


@pytest.fixture
async def target(
    target_name: str, anyio_backend: str, request: pytest.FixtureRequest
) -> AsyncIterator[Target]:
    """The cluster a conformance test runs against (see the module docstring)."""
    if target_name == "kafka":
        broker = request.getfixturevalue("kafka_broker")
        yield Target("kafka", bootstrap_servers=broker.bootstrap_servers)
        return
    listen = target_name == "tcp"
    async with rafka.AsyncCluster(listen=listen, config=BROKER_CONFIG) as cluster:
        yield Target(
            target_name,
            cluster=cluster,
            bootstrap_servers=cluster.bootstrap_servers if listen else None,
            through_codec=target_name == "codec",
        )

"""Fixtures of the group coordinator tests: listening clusters, and the targets a scenario runs
against (rafka, and the Apache Kafka reference broker).

Group configs for speed: no initial rebalance delay (on both rafka and the reference broker),
and session timeouts down to 1 s on rafka so killed members are noticed quickly. Consumer
(KIP-848) groups heartbeat every 500 ms and expire after 6 s, on rafka and on the reference
broker of :func:`consumer_target` (``KAFKA_GROUP_CONFIG``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import rafka
from tests.peers.kafka_broker import KafkaBroker

CONSUMER_CONFIG = {
    "group.consumer.session.timeout.ms": 6000,
    "group.consumer.min.session.timeout.ms": 1000,
    "group.consumer.heartbeat.interval.ms": 500,
    "group.consumer.min.heartbeat.interval.ms": 500,
}
GROUP_CONFIG = {
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": 1000,
    **CONSUMER_CONFIG,
}
#: The reference broker's overrides for the client and consumer-protocol tests (one broker
#: serves all of them: ``kafka_broker_factory`` shares brokers by overrides).
KAFKA_GROUP_CONFIG = {"group.min.session.timeout.ms": 1000, **CONSUMER_CONFIG}


@pytest.fixture(scope="package")
def group_cluster() -> Iterator[rafka.Cluster]:
    """A one-broker listening cluster shared by the package's end-to-end tests."""
    with rafka.Cluster(listen=True, config=GROUP_CONFIG) as cluster:
        yield cluster


@pytest.fixture(scope="package")
def group_cluster3() -> Iterator[rafka.Cluster]:
    """A three-broker listening cluster (``__consumer_offsets`` replicated three times)."""
    with rafka.Cluster(brokers=3, listen=True, config=GROUP_CONFIG) as cluster:
        yield cluster


@pytest.fixture(params=["rafka", "rafka-3", pytest.param("kafka", marks=pytest.mark.java)])
def target(request: pytest.FixtureRequest) -> str:
    """The bootstrap servers of each target in turn (the reference broker last)."""
    name = request.param
    if name == "rafka":
        cluster: rafka.Cluster = request.getfixturevalue("group_cluster")
        return cluster.bootstrap_servers
    if name == "rafka-3":
        cluster3: rafka.Cluster = request.getfixturevalue("group_cluster3")
        return cluster3.bootstrap_servers
    kafka: KafkaBroker = request.getfixturevalue("kafka_broker")
    return kafka.bootstrap_servers


@pytest.fixture(params=["rafka", "rafka-3", pytest.param("kafka", marks=pytest.mark.java)])
def consumer_target(request: pytest.FixtureRequest) -> str:
    """As :func:`target`, the reference broker configured as rafka (``CONSUMER_CONFIG``)."""
    name = request.param
    if name == "kafka":
        factory = request.getfixturevalue("kafka_broker_factory")
        kafka: KafkaBroker = factory(KAFKA_GROUP_CONFIG)
        return kafka.bootstrap_servers
    cluster: rafka.Cluster = request.getfixturevalue(
        "group_cluster" if name == "rafka" else "group_cluster3"
    )
    return cluster.bootstrap_servers


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """In-process coordinator tests run on both of anyio's backends."""
    backend: str = request.param
    return backend

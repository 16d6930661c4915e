"""Targets for the interop scenarios: rafka clusters on a port, and the Apache Kafka broker.

A scenario test takes a target name (:data:`TARGETS`) and the ``targets`` fixture:
``targets["rafka"].bootstrap``. Every target lives for the whole session, so tests share them
and use their own topic names.

* ``kafka``: the Apache Kafka reference broker (``kafka_broker``).
* ``rafka``: ``rafka.Cluster(listen=True)``, one broker.
* ``rafka-3``: ``rafka.Cluster(brokers=3, listen=True)``; its tests use replication factor 3.

``noauto_targets`` has the same for brokers with ``auto.create.topics.enable=false``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

import rafka
from tests.peers.kafka_broker import KafkaBroker

#: Every target name, in the order tests run them (the reference first).
TARGETS: tuple[str, ...] = ("kafka", "rafka", "rafka-3")


@dataclass(frozen=True)
class Target:
    """A cluster a scenario runs against."""

    name: str
    bootstrap: str
    brokers: int
    cluster: Any  # rafka.Cluster or KafkaBroker

    @property
    def is_kafka(self) -> bool:
        return self.name.startswith("kafka")

    @property
    def replication_factor(self) -> int:
        return self.brokers

    def __str__(self) -> str:
        return self.name


@pytest.fixture(scope="session")
def rafka_cluster() -> Iterator[rafka.Cluster]:
    with rafka.Cluster(listen=True) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def rafka_cluster3() -> Iterator[rafka.Cluster]:
    with rafka.Cluster(brokers=3, listen=True) as cluster:
        yield cluster


def _rafka_target(name: str, cluster: rafka.Cluster) -> Target:
    return Target(name, cluster.bootstrap_servers, len(cluster.brokers), cluster)


@pytest.fixture(scope="session")
def targets(
    kafka_broker: KafkaBroker, rafka_cluster: rafka.Cluster, rafka_cluster3: rafka.Cluster
) -> Mapping[str, Target]:
    """``targets[name]`` for every name in :data:`TARGETS`."""
    return {
        "kafka": Target("kafka", kafka_broker.bootstrap_servers, 1, kafka_broker),
        "rafka": _rafka_target("rafka", rafka_cluster),
        "rafka-3": _rafka_target("rafka-3", rafka_cluster3),
    }


NOAUTO = {"auto.create.topics.enable": "false"}


@pytest.fixture(scope="session")
def noauto_targets(
    kafka_broker_factory: Callable[[Mapping[str, object]], KafkaBroker],
) -> Iterator[Mapping[str, Target]]:
    """``kafka`` and ``rafka`` brokers with ``auto.create.topics.enable=false``."""
    kafka = kafka_broker_factory(NOAUTO)
    with rafka.Cluster(listen=True, config=NOAUTO) as cluster:
        yield {
            "kafka": Target("kafka", kafka.bootstrap_servers, 1, kafka),
            "rafka": _rafka_target("rafka", cluster),
        }

"""One fault scenario, two clusters: rafka, and Apache Kafka behind rafka's fault proxy.

Single-broker scenarios: a :class:`FaultTarget` is what a side-by-side fault test needs of a
cluster: its bootstrap address, a fresh topic, ``add(plan)`` (the same plan dicts for both),
the journal (``requests(api, topic=...)``), per-broker latency, isolation, and a restart
(stopped or killed, same port and data). :class:`RafkaTarget` is a one-broker
``rafka.Cluster`` on disk; :class:`KafkaTarget` is the session's Kafka broker behind
:class:`~tests.peers.fault_proxy.FaultProxy`, which applies the plans with rafka's own code.

Multi-broker scenarios: a :class:`ClusterTarget` is three brokers with the methods of
``rafka.Cluster`` the scenarios call (stop, kill, start, isolate and heal a broker; who leads;
move a leader or a group coordinator; the journal) plus ``new_topic`` and ``in_sync``.
:class:`RafkaClusterTarget` is a three-broker ``rafka.Cluster``;
:class:`KafkaClusterTarget` is three Apache Kafka nodes, each behind its own fault proxy
(:class:`~tests.peers.kafka_cluster.KafkaCluster`), brought back to health before each test.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Protocol

import rafka
from rafka.clients.admin import NewTopic
from rafka.cluster.faults import FaultHandle
from tests.peers.fault_proxy import FaultProxy
from tests.peers.kafka_cluster import KafkaCluster

_numbers = itertools.count()


class FaultTarget(Protocol):
    name: str
    bootstrap_servers: str

    def new_topic(self, prefix: str, partitions: int = 1) -> str: ...
    def add(self, plan: dict[str, Any]) -> FaultHandle: ...
    def requests(
        self, api: str | None = None, *, topic: str | None = None, client_id: str | None = None
    ) -> list[Any]: ...
    def set_latency(self, seconds: float | None) -> None: ...
    def isolate(self, mode: str) -> None: ...
    def heal(self) -> None: ...
    def restart(self, *, kill: bool = False) -> None: ...
    def close(self) -> None: ...


class RafkaTarget:
    """A one-broker rafka cluster listening on a free port, journal on."""

    name = "rafka"

    def __init__(self, data_dir: str | None = None) -> None:
        self.cluster = rafka.Cluster(1, listen=True, journal=True, seed=1234, data_dir=data_dir)
        self.cluster.start()
        self.bootstrap_servers = self.cluster.bootstrap_servers

    def new_topic(self, prefix: str, partitions: int = 1) -> str:
        name = f"{prefix}-{next(_numbers)}"
        with self.cluster.admin() as admin:
            admin.create_topics(NewTopic(name, partitions, 1))
        return name

    def add(self, plan: dict[str, Any]) -> FaultHandle:
        return self.cluster.faults.add(plan)

    def requests(
        self, api: str | None = None, *, topic: str | None = None, client_id: str | None = None
    ) -> list[Any]:
        return self.cluster.requests(api, topic=topic, client_id=client_id)

    def set_latency(self, seconds: float | None) -> None:
        self.cluster.set_latency(1, seconds)

    def isolate(self, mode: str) -> None:
        self.cluster.isolate_broker(1, mode)

    def heal(self) -> None:
        self.cluster.heal_broker(1)

    def restart(self, *, kill: bool = False) -> None:
        if kill:
            self.cluster.kill_broker(1)
        else:
            self.cluster.stop_broker(1)
        self.cluster.start_broker(1)

    def close(self) -> None:
        self.cluster.stop()


class KafkaTarget:
    """The session's Apache Kafka broker behind the fault proxy (reset for this test)."""

    name = "kafka"

    def __init__(self, proxy: FaultProxy) -> None:
        proxy.reset()
        self.proxy = proxy
        self.bootstrap_servers = proxy.address

    def new_topic(self, prefix: str, partitions: int = 1) -> str:
        name = f"{prefix}-{next(_numbers)}"
        with rafka.Admin(bootstrap_servers=self.bootstrap_servers) as admin:
            admin.create_topics(NewTopic(name, partitions, 1))
        return name

    def add(self, plan: dict[str, Any]) -> FaultHandle:
        return self.proxy.add(plan)

    def requests(
        self, api: str | None = None, *, topic: str | None = None, client_id: str | None = None
    ) -> list[Any]:
        return self.proxy.requests(api, topic=topic, client_id=client_id)

    def set_latency(self, seconds: float | None) -> None:
        self.proxy.set_latency(seconds)

    def isolate(self, mode: str) -> None:
        self.proxy.isolate(mode)

    def heal(self) -> None:
        self.proxy.heal()

    def restart(self, *, kill: bool = False) -> None:
        assert self.proxy.broker is not None
        self.proxy.broker.restart(kill=kill)

    def close(self) -> None:
        self.proxy.reset()


class ClusterTarget(Protocol):
    """Three brokers (node ids 1, 2, 3), as a multi-broker scenario drives them."""

    name: str
    bootstrap_servers: str

    def new_topic(self, prefix: str, *, configs: Mapping[str, str] | None = None) -> str:
        """A fresh topic: one partition, a replica on every broker."""
        ...

    def leader_of(self, topic: str, partition: int) -> int: ...
    def in_sync(self, topic: str, partition: int, node_id: int) -> bool: ...
    def stop_broker(self, node_id: int) -> None: ...
    def kill_broker(self, node_id: int) -> None: ...
    def start_broker(self, node_id: int) -> None: ...
    def broker_running(self, node_id: int) -> bool: ...
    def isolate_broker(self, node_id: int, mode: str = "refuse") -> None: ...
    def heal_broker(self, node_id: int) -> None: ...
    def move_leader(self, topic: str, partition: int, *, to: int) -> None: ...
    def move_coordinator(self, group_id: str, *, to: int) -> int: ...
    def requests(
        self, api: str | None = None, *, topic: str | None = None, client_id: str | None = None
    ) -> list[Any]: ...
    def close(self) -> None: ...


class _ClusterCalls:
    """The calls both clusters answer under the same names (rafka.Cluster's, which
    KafkaCluster mirrors), passed through to ``self.cluster``."""

    cluster: Any

    def leader_of(self, topic: str, partition: int) -> int:
        return int(self.cluster.leader_of(topic, partition))

    def stop_broker(self, node_id: int) -> None:
        self.cluster.stop_broker(node_id)

    def kill_broker(self, node_id: int) -> None:
        self.cluster.kill_broker(node_id)

    def start_broker(self, node_id: int) -> None:
        self.cluster.start_broker(node_id)

    def broker_running(self, node_id: int) -> bool:
        return bool(self.cluster.broker_running(node_id))

    def isolate_broker(self, node_id: int, mode: str = "refuse") -> None:
        self.cluster.isolate_broker(node_id, mode)

    def heal_broker(self, node_id: int) -> None:
        self.cluster.heal_broker(node_id)

    def move_leader(self, topic: str, partition: int, *, to: int) -> None:
        self.cluster.move_leader(topic, partition, to=to)

    def move_coordinator(self, group_id: str, *, to: int) -> int:
        return int(self.cluster.move_coordinator(group_id, to=to))

    def requests(
        self, api: str | None = None, *, topic: str | None = None, client_id: str | None = None
    ) -> list[Any]:
        return list(self.cluster.requests(api, topic=topic, client_id=client_id))


class RafkaClusterTarget(_ClusterCalls):
    """A three-broker rafka cluster (on disk with a ``data_dir``), listening on free ports,
    journal on."""

    name = "rafka"
    cluster: rafka.Cluster

    def __init__(self, data_dir: str | None = None) -> None:
        self.cluster = rafka.Cluster(
            3,
            listen=True,
            journal=True,
            seed=1234,
            data_dir=data_dir,
            config={"group.initial.rebalance.delay.ms": 0},
        )
        self.cluster.start()
        self.bootstrap_servers = self.cluster.bootstrap_servers

    def new_topic(self, prefix: str, *, configs: Mapping[str, str] | None = None) -> str:
        name = f"{prefix}-{next(_numbers)}"
        with self.cluster.admin() as admin:
            admin.create_topics(NewTopic(name, 1, 3, configs=dict(configs or {})))
        return name

    def in_sync(self, topic: str, partition: int, node_id: int) -> bool:
        image = self.cluster.async_cluster.core.controller.image
        part = image.partition(topic, partition)
        return part is not None and node_id in part.isr

    def close(self) -> None:
        self.cluster.stop()


class KafkaClusterTarget(_ClusterCalls):
    """The package's three-node Kafka cluster, every node running, healed, fully replicated,
    its proxies reset (no plans, empty journals) for this test."""

    name = "kafka"
    cluster: KafkaCluster

    def __init__(self, cluster: KafkaCluster) -> None:
        cluster.reset()
        self.cluster = cluster
        self.bootstrap_servers = cluster.bootstrap_servers

    def new_topic(self, prefix: str, *, configs: Mapping[str, str] | None = None) -> str:
        name = f"{prefix}-{next(_numbers)}"
        self.cluster.create_topic(name, 1, 3, configs)
        return name

    def in_sync(self, topic: str, partition: int, node_id: int) -> bool:
        return self.cluster.in_sync(topic, partition, node_id)

    def close(self) -> None:
        """Nothing: the next test's :meth:`KafkaCluster.reset` heals and restarts brokers."""

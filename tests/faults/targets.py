"""One fault scenario, two clusters: rafka, and Apache Kafka behind rafka's fault proxy.

A :class:`FaultTarget` is what a side-by-side fault test needs of a cluster: its bootstrap
address, a fresh topic, ``add(plan)`` (the same plan dicts for both), the journal
(``requests(api, topic=...)``), per-broker latency, isolation, and a restart (stopped or
killed, same port and data). :class:`RafkaTarget` is a one-broker ``rafka.Cluster`` on disk;
:class:`KafkaTarget` is the session's Kafka broker behind
:class:`~tests.peers.fault_proxy.FaultProxy`, which applies the plans with rafka's own code.
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

import rafka
from rafka.clients.admin import NewTopic
from rafka.cluster.faults import FaultHandle
from tests.peers.fault_proxy import FaultProxy

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

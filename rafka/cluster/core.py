"""The cluster without its network: the controller and the brokers, on one event loop.

:class:`ClusterCore` is what rafka/server listens for and what in-process clients call. It
owns the metadata authority and every broker; it knows nothing of sockets.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import anyio.abc

from rafka.cluster.broker import Broker
from rafka.cluster.clock import ClusterClock, make_clock
from rafka.cluster.config import BrokerConfig
from rafka.cluster.emulation import KafkaRelease
from rafka.cluster.log_maintenance import run_log_maintenance
from rafka.cluster.metadata.controller import Controller
from rafka.cluster.metadata.log import MemoryMetadataLog, MetadataLog, StorageMetadataLog
from rafka.cluster.replica_manager import ReplicaManager
from rafka.storage.log_manager import LogManager

__all__ = ["ClusterCore"]


def new_cluster_id(rng: random.Random) -> str:
    """A Kafka-style cluster id: 22 characters of URL-safe base64 of a random UUID."""
    import base64

    raw = uuid.UUID(int=rng.getrandbits(128)).bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class ClusterCore:
    """A controller and ``brokers`` brokers sharing one clock and one event loop."""

    def __init__(
        self,
        brokers: int = 1,
        *,
        config: Mapping[str, Any] | None = None,
        data_dir: str | Path | None = None,
        clock: ClusterClock | str | None = None,
        seed: int | None = None,
        cluster_id: str | None = None,
        kafka_version: str | None = None,
    ) -> None:
        if brokers < 1:
            raise ValueError("a cluster needs at least one broker")
        self.rng = random.Random(seed)
        self.clock: ClusterClock = make_clock(clock)
        self.config = BrokerConfig.from_dict(config)
        #: The Apache Kafka release line the brokers emulate (None: rafka's own).
        self.kafka_release = None if kafka_version is None else KafkaRelease.of(kafka_version)
        self.data_dir = Path(data_dir) if data_dir is not None else None
        metadata_log: MetadataLog = MemoryMetadataLog()
        if self.data_dir is not None:
            cluster_id = _load_or_store_cluster_id(
                self.data_dir, cluster_id or new_cluster_id(self.rng)
            )
            metadata_log = StorageMetadataLog(self.data_dir / "metadata", self.clock)
        self.metadata_log = metadata_log
        self.controller = Controller(
            cluster_id or new_cluster_id(self.rng), 1, self.config, metadata_log, self.rng
        )
        self.brokers: dict[int, Broker] = {}
        first_id = int(self.config.get("node.id"))
        first_id = 1 if first_id < 0 else first_id
        for node_id in range(first_id, first_id + brokers):
            broker = Broker(
                node_id,
                self.config.with_overrides({"node.id": node_id}),
                self.controller,
                self.clock,
                rng=random.Random(self.rng.getrandbits(32)),
                kafka_release=self.kafka_release,
            )
            log_dir = None if self.data_dir is None else self.data_dir / f"broker-{node_id}"
            if log_dir is not None:
                _write_meta_properties(log_dir, self.cluster_id, node_id)
            logs = LogManager(
                None if log_dir is None else str(log_dir),
                clock=self.clock,
                producer_id_expiration_ms=int(self.config.get("producer.id.expiration.ms")),
                seed=self.rng.getrandbits(32),
            )
            broker.replica_manager = ReplicaManager(
                node_id, broker.config, self.controller, self.clock, logs, self._peer
            )
            broker.replica_manager.leadership_listeners.append(
                broker.group_coordinator.on_leadership
            )
            self.controller.subscribe(broker.replica_manager.on_metadata)
            self.brokers[node_id] = broker

    @property
    def cluster_id(self) -> str:
        return self.controller.image.cluster_id

    def register(self, broker: Broker) -> None:
        """Announce a broker (after its listener is bound, so its port is known).

        ``advertised.listeners`` (``PLAINTEXT://host:port``) replaces the address clients
        are told; a port of 0 keeps the bound one (useful with several brokers).
        """
        host, port = broker.host, broker.port
        if port > 0 and not broker.config.is_explicit("listeners"):
            # what DescribeConfigs reports: the address the listener really bound
            broker.config = broker.config.with_overrides(
                {"listeners": f"PLAINTEXT://{host}:{port}"}
            )
        advertised = broker.config.get("advertised.listeners")
        if advertised:
            _, _, address = str(advertised[0]).rpartition("://")
            adv_host, _, adv_port = address.rpartition(":")
            host = adv_host or host
            if adv_port and int(adv_port) != 0:
                port = int(adv_port) + (broker.node_id - min(self.brokers))
        broker.rack = broker.config.get("broker.rack")
        self.controller.register_broker(broker.node_id, host, port, broker.rack)

    def _peer(self, node_id: int) -> ReplicaManager | None:
        broker = self.brokers.get(node_id)
        return None if broker is None else broker.replica_manager

    async def run(
        self,
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run every broker's background work (replication, ISR upkeep, group coordinator,
        log retention) until cancelled."""
        async with anyio.create_task_group() as tg:
            for broker in self.brokers.values():
                tg.start_soon(broker.replica_manager.replicate)
                tg.start_soon(broker.replica_manager.shrink_isr_loop)
                tg.start_soon(broker.group_coordinator.run)
                tg.start_soon(run_log_maintenance, broker.replica_manager)
            task_status.started()

    def close(self) -> None:
        for broker in self.brokers.values():
            broker.replica_manager.running = False
            broker.replica_manager.logs.close()
        self.metadata_log.close()


def _read_properties(path: Path) -> dict[str, str]:
    props = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            props[key.strip()] = value.strip()
    return props


def _load_or_store_cluster_id(data_dir: Path, fresh: str) -> str:
    """The cluster id kept in ``data_dir/meta.properties`` (written on first use)."""
    path = data_dir / "meta.properties"
    if path.exists():
        cluster_id = _read_properties(path).get("cluster.id")
        if cluster_id:
            return cluster_id
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#rafka cluster\nversion=1\ncluster.id={fresh}\n")
    return fresh


def _write_meta_properties(log_dir: Path, cluster_id: str, node_id: int) -> None:
    """Kafka's per-log-directory identity file, as ``kafka-storage format`` writes it."""
    path = log_dir / "meta.properties"
    if path.exists():
        return
    log_dir.mkdir(parents=True, exist_ok=True)
    directory_id = new_cluster_id(random.Random(f"{cluster_id}-{node_id}"))
    path.write_text(
        f"#rafka\nversion=1\ncluster.id={cluster_id}\nnode.id={node_id}\n"
        f"directory.id={directory_id}\n"
    )

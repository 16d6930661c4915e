"""Brokers going down and coming back, and leadership moved by hand — without the network.

The cluster (``rafka.embedded``) closes and reopens listeners around these steps; here is what
the rest of the cluster sees, as in Kafka:

- **stop** (a controlled shutdown): the controller fences the broker first, so it leaves every
  ISR and its leaderships move to other in-sync replicas (none left: the partition has no
  leader until it returns); its group coordinator gives up its groups; then it stops
  replicating and, on disk, flushes its logs and writes the clean-shutdown marker.
- **kill** (a crash): the same fencing, but the logs are abandoned — no flush, no marker — so
  the next start recovers them from disk. In-memory logs are kept as a disk would keep them.
  (Kafka's controller notices a crashed broker after ``broker.session.timeout.ms``; rafka
  fences at once, so tests need not wait.)
- **start**: the broker reopens its log directory (recovery runs if it crashed), catches up
  with the metadata, registers again (a new broker epoch) and is unfenced: leaderless
  partitions whose ISR holds it elect it; elsewhere it follows and rejoins the ISR once it has
  caught up.
- **move leader**: a leader election to a chosen in-sync replica (a new leader epoch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka.cluster.fetch_session import FetchSessionCache
from rafka.cluster.metadata.controller import NO_LEADER
from rafka.protocol.schemas.metadata import PartitionChangeRecord
from rafka.storage.log_manager import LogManager

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker
    from rafka.cluster.core import ClusterCore

__all__ = ["BrokerLifecycle"]


class BrokerLifecycle:
    """Stop, kill and start the brokers of ``core``; move leaders and group coordinators."""

    def __init__(self, core: ClusterCore) -> None:
        self.core = core
        self._restarts = 0

    def broker(self, node_id: int) -> Broker:
        broker = self.core.brokers.get(node_id)
        if broker is None:
            raise ValueError(
                f"no broker {node_id} in this cluster (brokers: {list(self.core.brokers)})"
            )
        return broker

    def is_running(self, node_id: int) -> bool:
        return self.broker(node_id).replica_manager.running

    # ------------------------------------------------------------------------------ shutdown

    def fence(self, node_id: int) -> None:
        """Controlled shutdown, first step: leaderships and ISR memberships move away."""
        self.core.controller.fence_broker(node_id)

    def shut_down(self, node_id: int, *, clean: bool) -> None:
        """Stop the broker's work; ``clean=False`` abandons its logs as a crash would."""
        broker = self.broker(node_id)
        rm = broker.replica_manager
        if not rm.running:
            return
        broker.reachable = False
        self.fence(node_id)
        broker.group_coordinator.shutdown()
        rm.running = False
        for partition in rm.partitions.values():
            partition.offline = True
            partition.notify()  # parked fetches and acks=all produces answer now
        if rm.logs.log_dir is None:
            return  # in-memory logs stay as they are, as a disk would keep them
        if clean:
            rm.logs.close()
        else:
            rm.logs.abandon()

    # ------------------------------------------------------------------------------- startup

    def open(self, node_id: int) -> None:
        """Bring a stopped broker's replicas back (before its listener reopens)."""
        broker = self.broker(node_id)
        rm = broker.replica_manager
        if rm.running:
            raise RuntimeError(f"broker {node_id} is running")
        log_dir = rm.logs.log_dir
        if log_dir is not None:
            self._restarts += 1
            rm.logs = LogManager(
                log_dir,
                clock=self.core.clock,
                producer_id_expiration_ms=int(self.core.config.get("producer.id.expiration.ms")),
                seed=hash((node_id, self._restarts)) & 0xFFFFFFFF,
            )
        rm.partitions.clear()
        broker.fetch_sessions = FetchSessionCache(
            int(broker.config.get("max.incremental.fetch.session.cache.slots"))
        )
        rm.running = True
        rm.on_metadata(self.core.controller.image)

    def rejoin(self, node_id: int) -> None:
        """Register again (after the listener reopened, so the address is known) and unfence."""
        broker = self.broker(node_id)
        self.core.register(broker)
        broker.reachable = True

    # ---------------------------------------------------------------------------- leadership

    def move_leader(self, topic: str, partition: int, to: int) -> None:
        """Elect broker ``to`` leader of ``topic``-``partition``; it must be an unfenced
        in-sync replica."""
        controller = self.core.controller
        image = controller.image
        topic_image = image.topics.get(topic)
        part = None if topic_image is None else topic_image.partitions.get(partition)
        if topic_image is None or part is None:
            raise ValueError(f"no partition {topic}-{partition}")
        if to not in part.replicas:
            raise ValueError(
                f"broker {to} holds no replica of {topic}-{partition}: {part.replicas}"
            )
        target = image.brokers.get(to)
        if target is None or target.fenced:
            raise ValueError(f"broker {to} is not running")
        if to not in part.isr:
            raise ValueError(
                f"broker {to} is not in the ISR of {topic}-{partition} ({part.isr}): "
                "it may not lead until it has caught up"
            )
        if part.leader == to:
            return
        controller.commit([PartitionChangeRecord(partition, topic_image.topic_id, leader=to)])

    def move_coordinator(self, group_id: str, to: int) -> int:
        """Make broker ``to`` the coordinator of ``group_id`` (the leader of its
        ``__consumer_offsets`` partition, created if missing); returns that partition."""
        from rafka.cluster.groups.topic import OFFSETS_TOPIC, ensure_offsets_topic, partition_for

        topic = ensure_offsets_topic(self.core.controller, self.core.config)
        index = partition_for(group_id, len(topic.partitions))
        self.move_leader(OFFSETS_TOPIC, index, to)
        return index

    def leader_of(self, topic: str, partition: int) -> int:
        """The leader's node id (-1 when none)."""
        part = self.core.controller.image.partition(topic, partition)
        return NO_LEADER if part is None else part.leader

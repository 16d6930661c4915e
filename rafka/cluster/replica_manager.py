"""The partitions a broker hosts: created, led, followed and deleted as the metadata says.

- :meth:`ReplicaManager.on_metadata` reconciles local replicas with the controller's image
  after every committed change: new replicas get a log, deleted topics lose theirs, leadership
  and ISR come from the image.
- :meth:`ReplicaManager.replicate` is the follower side of replication: one task per broker
  copies new batches from each partition's leader (in process, through the leader broker's
  replica manager, never its internals) and reports its log end, which moves the leader's high
  watermark and, through the controller, the ISR.
- Waiting (acks=all, long-poll fetch) is :meth:`wait_for`: a predicate re-checked whenever
  one of the partitions changes, bounded by the cluster clock.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import anyio

from rafka import errors
from rafka.cluster.metadata.image import BROKER_RESOURCE, TOPIC_RESOURCE, MetadataImage
from rafka.cluster.partition import Partition
from rafka.protocol._message import Message
from rafka.storage.log_config import LogConfig
from rafka.storage.log_manager import LogManager

if TYPE_CHECKING:
    from rafka.cluster.clock import ClusterClock
    from rafka.cluster.config import BrokerConfig
    from rafka.cluster.metadata.controller import Controller

__all__ = ["ReplicaManager"]

log = logging.getLogger("rafka.replication")

TopicPartition = tuple[str, int]


class ReplicaManager:
    """Partitions of broker ``node_id``, kept in step with the controller's image."""

    def __init__(
        self,
        node_id: int,
        config: BrokerConfig,
        controller: Controller,
        clock: ClusterClock,
        log_manager: LogManager,
        peers: Callable[[int], ReplicaManager | None],
    ) -> None:
        self.node_id = node_id
        self.config = config
        self.controller = controller
        self.clock = clock
        self.logs = log_manager
        self.peers = peers
        self.partitions: dict[TopicPartition, Partition] = {}
        #: Called with (partition, leading) when this broker starts leading a partition (or
        #: leads it at a new epoch) and when it stops; the group coordinator listens.
        self.leadership_listeners: list[Callable[[Partition, bool], None]] = []
        self._wake = anyio.Event()
        self.running = True

    # ------------------------------------------------------------------------------ metadata

    def topic_log_config(self, topic: str) -> LogConfig:
        """The topic's overrides over the broker's effective defaults: its static properties,
        then the cluster's and this broker's dynamic configs (as Kafka layers them)."""
        from rafka.cluster.configs import BrokerConfigLayers

        image = self.controller.image
        defaults = BrokerConfigLayers.of(self.config, image, self.node_id).broker_config()
        merged = defaults.topic_defaults()
        merged.update(image.topic_configs(topic))
        return LogConfig.from_dict(merged)

    def on_metadata(self, image: MetadataImage, records: Sequence[Message] = ()) -> None:
        """Reconcile hosted replicas with ``image`` (not while stopped: a broker that starts
        again catches up with the whole image then)."""
        if not self.running:
            return
        wanted: set[TopicPartition] = set()
        for topic in image.topics.values():
            config: LogConfig | None = None
            for index, part in topic.partitions.items():
                if self.node_id not in part.replicas:
                    continue
                tp = (topic.name, index)
                wanted.add(tp)
                partition = self.partitions.get(tp)
                if partition is None or partition.topic_id != topic.topic_id:
                    if config is None:
                        config = self.topic_log_config(topic.name)
                    log_ = self.logs.get_or_create_log(topic.name, index, config)
                    partition = Partition(
                        self.node_id, topic.name, topic.topic_id, index, log_, self.clock
                    )
                    self.partitions[tp] = partition
                was_leader = partition.is_leader
                if partition.apply_image(part) or (was_leader and not partition.is_leader):
                    self._leadership_changed(partition)
        for tp in set(self.partitions) - wanted:
            partition = self.partitions.pop(tp)
            partition.offline = True
            partition.notify()
            self._leadership_changed(partition)
            self.logs.delete_log(*tp)
        self._refresh_configs(records)
        self._wake.set()

    def _leadership_changed(self, partition: Partition) -> None:
        leading = partition.is_leader and not partition.offline
        for listener in self.leadership_listeners:
            listener(partition, leading)

    def _refresh_configs(self, records: Sequence[Message]) -> None:
        from rafka.protocol.schemas.metadata import ConfigRecord

        changes = [r for r in records if isinstance(r, ConfigRecord)]
        topics = {r.resource_name for r in changes if r.resource_type == TOPIC_RESOURCE}
        brokers = any(
            r.resource_type == BROKER_RESOURCE and r.resource_name in ("", str(self.node_id))
            for r in changes
        )
        for (topic, _), partition in self.partitions.items():
            if brokers or topic in topics:
                partition.log.config = self.topic_log_config(topic)

    def partition(self, topic: str, index: int) -> Partition:
        """The hosted replica, or UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER."""
        partition = self.partitions.get((topic, index))
        if partition is not None:
            return partition
        image_part = self.controller.image.partition(topic, index)
        if image_part is None:
            raise errors.UnknownTopicOrPartitionError(
                "This server does not host this topic-partition."
            )
        raise errors.NotLeaderOrFollowerError(
            f"broker {self.node_id} does not host a replica of {topic}-{index}"
        )

    def leader_partition(self, topic: str, index: int) -> Partition:
        partition = self.partition(topic, index)
        partition.require_leader()
        return partition

    # --------------------------------------------------------------------------------- waits

    async def wait_for(
        self, partitions: Iterable[Partition], done: Callable[[], bool], timeout: float
    ) -> bool:
        """Wait until ``done()`` or ``timeout`` seconds; re-checked on every partition change."""
        parts = list(partitions)
        deadline = self.clock.monotonic_ms() + timeout * 1000
        while not done():
            remaining = (deadline - self.clock.monotonic_ms()) / 1000
            if remaining <= 0:
                return False
            event = anyio.Event()
            for p in parts:
                p.watch(event)
            try:
                await self.clock.wait(event, remaining)
            finally:
                for p in parts:
                    p.unwatch(event)
        return True

    # --------------------------------------------------------------------------- replication

    def _followed(self) -> list[Partition]:
        if not self.running:
            return []
        return [p for p in self.partitions.values() if not p.is_leader and p.leader_id >= 0]

    async def replicate(self) -> None:
        """Follow every partition this broker does not lead, until cancelled."""
        wait_s = int(self.config.get("replica.fetch.wait.max.ms")) / 1000
        max_bytes = int(self.config.get("replica.fetch.max.bytes"))
        while True:
            self._wake = wake = anyio.Event()  # set by leaders' appends and by metadata
            watched: list[Partition] = []
            progress = False
            followed = self._followed()
            for follower in followed:
                leader = self._leader_replica(follower)
                if leader is None:
                    continue
                try:
                    progress |= self._fetch_from_leader(follower, leader, max_bytes)
                except errors.KafkaError as exc:
                    log.warning("replica %d of %s: %s", self.node_id, follower, exc)
                    continue
                leader.watch(wake)
                watched.append(leader)
            if not progress:
                # Following nothing, only metadata can give this broker work: no polling (a
                # virtual clock then has no timer to fire every replica.fetch.wait.max.ms).
                idle = self.running and not followed
                await self.clock.wait(wake, math.inf if idle else wait_s)
            for leader in watched:
                leader.unwatch(wake)
            await anyio.sleep(0)

    def _leader_replica(self, follower: Partition) -> Partition | None:
        peer = self.peers(follower.leader_id)
        if peer is None or not peer.running:
            return None
        leader = peer.partitions.get((follower.topic, follower.index))
        if leader is None or not leader.is_leader or leader.leader_epoch != follower.leader_epoch:
            return None
        return leader

    def _fetch_from_leader(self, follower: Partition, leader: Partition, max_bytes: int) -> bool:
        flog, llog = follower.log, leader.log
        latest = flog.leader_epoch_cache.latest_epoch
        if latest is not None and flog.log_end_offset > 0:
            # Divergence: what we wrote under our latest epoch past the leader's end of it.
            _, end = llog.end_offset_for_epoch(latest)
            if end < 0:
                end = flog.high_watermark
            if end < flog.log_end_offset:
                flog.truncate_to(end)
        if flog.log_end_offset > llog.log_end_offset:
            flog.truncate_to(llog.log_end_offset)
        if flog.log_end_offset < llog.log_start_offset:
            flog.truncate_fully_and_start_at(llog.log_start_offset)

        data = llog.read(flog.log_end_offset, max_bytes, min_one_message=True)
        if data.size:
            follower.append_as_follower(data.records, leader.high_watermark)
        else:
            follower.append_as_follower(b"", leader.high_watermark)
        start = min(llog.log_start_offset, flog.high_watermark)
        if flog.log_start_offset < start:
            # Retention or DeleteRecords moved the leader's start: follow it, so deleted
            # records cannot come back when this replica leads.
            flog.delete_records_before(start)
        new_isr = leader.record_follower_fetch(self.node_id, flog.log_end_offset)
        if new_isr is not None:
            self.controller.alter_partition_isr(
                leader.topic_id, leader.index, leader.leader_epoch, new_isr
            )
        return data.size > 0

    async def shrink_isr_loop(self) -> None:
        """As leader, drop followers that fell behind for ``replica.lag.time.max.ms``."""
        max_lag = int(self.config.get("replica.lag.time.max.ms"))
        while True:
            await self.clock.sleep(max(max_lag / 2000, 0.05))
            for partition in list(self.partitions.values()):
                if not partition.is_leader or not self.running:
                    continue
                lagging = partition.lagging_followers(max_lag)
                if lagging:
                    isr = [r for r in partition.isr if r not in lagging]
                    self.controller.alter_partition_isr(
                        partition.topic_id, partition.index, partition.leader_epoch, isr
                    )

"""One partition replica on one broker: its log, its role, and (as leader) the high watermark.

State, as the metadata image and replication drive it::

    role      leader | follower            (from the image's leader id)
    epoch     leader_epoch, partition_epoch (from the image)
    leader    follower_end: {replica -> log end offset last reported by that follower}
              high_watermark = min(log end of the leader and of every in-sync follower)
              in-sync: a follower whose log end reached the high watermark within
              replica.lag.time.max.ms; the leader asks the controller to change the ISR
    follower  high_watermark = min(leader's high watermark, own log end)

Everything that waits on a partition (long-poll fetches, acks=all produces, followers)
registers an :class:`anyio.Event` with :meth:`watch`; appends and high-watermark moves set
them. Decisions here never await.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import anyio

from rafka import errors
from rafka.cluster.metadata.image import PartitionImage
from rafka.protocol._codec import Buffer
from rafka.storage.append import AppendInfo, AppendOrigin
from rafka.storage.unified_log import UnifiedLog

if TYPE_CHECKING:
    from rafka.cluster.clock import ClusterClock

__all__ = ["Partition"]


class Partition:
    """A replica of ``topic``-``index`` hosted by broker ``node_id``."""

    def __init__(
        self,
        node_id: int,
        topic: str,
        topic_id: uuid.UUID,
        index: int,
        log: UnifiedLog,
        clock: ClusterClock,
    ) -> None:
        self.node_id = node_id
        self.topic = topic
        self.topic_id = topic_id
        self.index = index
        self.log = log
        self.clock = clock
        self.leader_id = -1
        self.leader_epoch = -1
        self.partition_epoch = -1
        self.replicas: list[int] = []
        self.isr: list[int] = []
        self.follower_end: dict[int, int] = {}
        self.follower_caught_up_ms: dict[int, int] = {}
        self._watchers: set[anyio.Event] = set()
        self.offline = False

    def __repr__(self) -> str:
        role = "leader" if self.is_leader else "follower"
        return f"<Partition {self.topic}-{self.index} on {self.node_id}: {role}>"

    @property
    def is_leader(self) -> bool:
        return self.leader_id == self.node_id

    @property
    def high_watermark(self) -> int:
        return self.log.high_watermark

    # --------------------------------------------------------------------------------- waits

    def watch(self, event: anyio.Event) -> None:
        self._watchers.add(event)

    def unwatch(self, event: anyio.Event) -> None:
        self._watchers.discard(event)

    def notify(self) -> None:
        if self._watchers:
            watchers, self._watchers = self._watchers, set()
            for event in watchers:
                event.set()

    # ------------------------------------------------------------------------------ metadata

    def apply_image(self, image: PartitionImage) -> bool:
        """Take the controller's view; True if this replica just became the leader."""
        became_leader = image.leader == self.node_id and (
            not self.is_leader or image.leader_epoch != self.leader_epoch
        )
        if image.leader_epoch != self.leader_epoch and image.leader == self.node_id:
            self.log.leader_epoch_cache.assign(image.leader_epoch, self.log.log_end_offset)
        self.leader_id = image.leader
        self.leader_epoch = image.leader_epoch
        self.partition_epoch = image.partition_epoch
        self.replicas = list(image.replicas)
        self.isr = list(image.isr)
        if became_leader:
            now = self.clock.monotonic_ms()
            self.follower_end = {r: -1 for r in self.replicas if r != self.node_id}
            self.follower_caught_up_ms = {r: now for r in self.isr if r != self.node_id}
        self.maybe_advance_high_watermark()
        self.notify()
        return became_leader

    def check_leader_epoch(self, current_leader_epoch: int) -> None:
        """A request's view of the leader epoch must match ours (-1 skips the check)."""
        if current_leader_epoch < 0:
            return
        if current_leader_epoch < self.leader_epoch:
            raise errors.FencedLeaderEpochError(
                f"leader epoch {current_leader_epoch} is older than {self.leader_epoch}"
            )
        if current_leader_epoch > self.leader_epoch:
            raise errors.UnknownLeaderEpochError(
                f"leader epoch {current_leader_epoch} is newer than {self.leader_epoch}"
            )

    def require_leader(self) -> None:
        if not self.is_leader or self.offline:
            raise errors.NotLeaderOrFollowerError(
                f"broker {self.node_id} is not the leader of {self.topic}-{self.index}"
            )

    # --------------------------------------------------------------------------------- leader

    def append_as_leader(self, records: Buffer, required_acks: int) -> AppendInfo:
        self.require_leader()
        if required_acks == -1:
            min_isr = self.log.config.min_insync_replicas
            if len(self.isr) < min_isr:
                raise errors.NotEnoughReplicasError(
                    f"The size of the current ISR {self.isr} is insufficient to satisfy the "
                    f"min.isr requirement of {min_isr} for partition {self.topic}-{self.index}"
                )
        info = self.log.append(records, leader_epoch=self.leader_epoch, origin=AppendOrigin.CLIENT)
        self.maybe_advance_high_watermark()
        self.notify()
        return info

    def append_as_coordinator(self, records: bytes) -> AppendInfo:
        self.require_leader()
        info = self.log.append(
            records, leader_epoch=self.leader_epoch, origin=AppendOrigin.COORDINATOR
        )
        self.maybe_advance_high_watermark()
        self.notify()
        return info

    def maybe_advance_high_watermark(self) -> bool:
        if not self.is_leader:
            return False
        end = self.log.log_end_offset
        for replica in self.isr:
            if replica != self.node_id:
                end = min(end, self.follower_end.get(replica, -1))
        if end > self.log.high_watermark:
            self.log.high_watermark = end
            return True
        return False

    def record_follower_fetch(self, replica: int, log_end: int) -> list[int] | None:
        """A follower reports its log end; returns a new ISR to propose, if it changes."""
        self.follower_end[replica] = log_end
        now = self.clock.monotonic_ms()
        if log_end >= self.log.high_watermark or log_end >= self.log.log_end_offset:
            self.follower_caught_up_ms[replica] = now
        changed = self.maybe_advance_high_watermark()
        if changed:
            self.notify()
        if replica not in self.isr and log_end >= self.log.high_watermark:
            return sorted({*self.isr, replica}, key=self.replicas.index)
        return None

    def lagging_followers(self, max_lag_ms: int) -> list[int]:
        """In-sync followers that have not caught up for ``max_lag_ms``."""
        now = self.clock.monotonic_ms()
        return [
            r
            for r in self.isr
            if r != self.node_id
            and self.follower_end.get(r, -1) < self.log.log_end_offset
            and now - self.follower_caught_up_ms.get(r, now) > max_lag_ms
        ]

    # ------------------------------------------------------------------------------ follower

    def append_as_follower(self, records: Buffer, leader_high_watermark: int) -> None:
        if len(records):
            self.log.append(
                records, leader_epoch=self.leader_epoch, origin=AppendOrigin.REPLICATION
            )
        hw = min(leader_high_watermark, self.log.log_end_offset)
        if hw > self.log.high_watermark:
            self.log.high_watermark = hw
        self.notify()

"""A broker's group coordinator: the async runtime around the sans-I/O shards.

One :class:`~rafka.cluster.groups.shard.GroupShard` per ``__consumer_offsets`` partition this
broker leads. The replica manager reports leadership (:meth:`GroupCoordinator.on_leadership`):

- becoming leader (or leader again, at a new epoch) loads the partition: an empty log at once,
  otherwise in the background task while requests get COORDINATOR_LOAD_IN_PROGRESS;
- ceasing to lead unloads the shard: writes in flight fail and parked JoinGroup/SyncGroup
  requests get NOT_COORDINATOR; requests for its groups get NOT_COORDINATOR from then on.

Writes (:meth:`GroupCoordinator.write`): the operation runs on the shard (never awaiting), its
records are appended to the partition as one batch, and the caller waits until the high
watermark passes them (acks=all), at most ``offsets.commit.timeout.ms`` of the cluster clock.
Committed writes are completed strictly in log order: their records are replayed into the
shard (when the result asks for it) and their ``on_written`` callbacks run. A write that times
out stays queued: if its records commit later they still apply, as Kafka's log is the truth.
Write failures are reported as Kafka reports them (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE).

The background task (:meth:`GroupCoordinator.run`) loads partitions and runs the shards' due
timers (session expiry, rebalance and sync timeouts, the initial rebalance delay, the offsets
retention check), writing what they decide; it sleeps on the cluster clock until the next
deadline or until woken.
"""

from __future__ import annotations

import collections
import logging
import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.abc
import attrs

from rafka import errors
from rafka.cluster.groups.classic_rebalance import write_error
from rafka.cluster.groups.loader import load_shard
from rafka.cluster.groups.records import CoordinatorRecord, build_batch
from rafka.cluster.groups.result import CoordinatorResult, Reply
from rafka.cluster.groups.shard import GroupConfig, GroupShard, random_member_ids, random_uuids
from rafka.cluster.groups.topic import OFFSETS_TOPIC, offsets_partition_count, partition_for

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker
    from rafka.cluster.metadata.image import MetadataImage
    from rafka.cluster.partition import Partition

__all__ = ["GroupCoordinator", "ShardSlot", "await_reply"]

log = logging.getLogger("rafka.groups")

T = TypeVar("T")


@attrs.define(eq=False)
class _PendingWrite:
    """An appended batch waiting for the high watermark to pass it."""

    first_offset: int
    last_offset: int
    records: list[CoordinatorRecord] | None  # to replay once committed; None: do not
    on_written: Callable[[errors.KafkaError | None], None] | None
    done: bool = False
    error: errors.KafkaError | None = None


@attrs.define(eq=False)
class ShardSlot:
    """A led offsets partition: its shard (None while loading) and its writes in flight."""

    index: int
    partition: Partition
    leader_epoch: int
    shard: GroupShard | None = None
    pending: collections.deque[_PendingWrite] = attrs.Factory(collections.deque)
    unloaded: bool = False


class GroupCoordinator:
    """The group coordinator of one broker."""

    def __init__(self, broker: Broker, rng: random.Random | None = None) -> None:
        self.broker = broker
        self.config = GroupConfig.from_broker(broker.config.get)
        self.clock = broker.clock
        rng = rng or random.Random()
        self.new_member_id = random_member_ids(rng)
        self.new_uuid = random_uuids(rng)
        self.slots: dict[int, ShardSlot] = {}
        self._to_load: list[ShardSlot] = []
        self._background: list[tuple[ShardSlot, CoordinatorResult[Any]]] = []
        self._wake: anyio.Event | None = None
        #: The monotonic deadline the background task sleeps until (None: indefinitely).
        self._sleeping_until: int | None = None

    # --------------------------------------------------------------------------- leadership

    def on_leadership(self, partition: Partition, leading: bool) -> None:
        """The replica manager's report: this broker now leads ``partition``, or no longer."""
        if partition.topic != OFFSETS_TOPIC:
            return
        current = self.slots.get(partition.index)
        if leading:
            if (
                current is not None
                and current.partition is partition
                and current.leader_epoch == partition.leader_epoch
            ):
                return
            if current is not None:
                self._unload(current)
            slot = ShardSlot(partition.index, partition, partition.leader_epoch)
            self.slots[partition.index] = slot
            log_ = partition.log
            if log_.log_end_offset <= log_.log_start_offset:
                self._activate(slot, self._new_shard(slot.index))
            else:
                self._to_load.append(slot)
                self._wake_up()
        elif current is not None and current.partition is partition:
            self._unload(current)

    def _new_shard(self, index: int) -> GroupShard:
        return GroupShard(
            index,
            self.config,
            self.clock,
            self.new_member_id,
            image=self._image,
            new_uuid=self.new_uuid,
        )

    def _image(self) -> MetadataImage:
        return self.broker.controller.image

    def _activate(self, slot: ShardSlot, shard: GroupShard) -> None:
        slot.shard = shard
        for result in shard.on_loaded():
            if not result.is_empty:
                self._background.append((slot, result))
        self._wake_up()

    def _unload(self, slot: ShardSlot) -> None:
        if self.slots.get(slot.index) is slot:
            del self.slots[slot.index]
        slot.unloaded = True
        not_leader = errors.NotLeaderOrFollowerError(
            f"__consumer_offsets-{slot.index} moved away from this broker"
        )
        while slot.pending:
            write = slot.pending.popleft()
            write.done, write.error = True, not_leader
            self._call_written(write, not_leader)
        if slot.shard is not None:
            slot.shard.on_unloaded()
        slot.partition.notify()  # wake waiters so they see the slot is gone

    def _wake_up(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def shutdown(self) -> None:
        """Unload every shard: parked requests are answered with NOT_COORDINATOR."""
        for slot in list(self.slots.values()):
            self._unload(slot)

    # ------------------------------------------------------------------------------ routing

    def partition_count(self) -> int:
        return offsets_partition_count(self.broker.controller, self.broker.config)

    def partition_for(self, group_id: str) -> int:
        return partition_for(group_id, self.partition_count())

    def slot_for(self, group_id: str) -> ShardSlot:
        """The loaded shard holding ``group_id``; NOT_COORDINATOR / LOAD_IN_PROGRESS if none."""
        return self.slot_of(self.partition_for(group_id))

    def slot_of(self, index: int) -> ShardSlot:
        slot = self.slots.get(index)
        if slot is None or slot.unloaded:
            raise errors.NotCoordinatorError(
                f"broker {self.broker.node_id} is not the coordinator for {OFFSETS_TOPIC}-{index}"
            )
        if slot.shard is None:
            raise errors.CoordinatorLoadInProgressError()
        return slot

    def active_shards(self) -> list[GroupShard]:
        """Every loaded shard; COORDINATOR_LOAD_IN_PROGRESS while any is loading."""
        shards = []
        for slot in self.slots.values():
            if slot.shard is None:
                raise errors.CoordinatorLoadInProgressError()
            shards.append(slot.shard)
        return shards

    # ------------------------------------------------------------------------------- writes

    async def write(
        self, group_id: str, operation: Callable[[GroupShard], CoordinatorResult[T]]
    ) -> T | None:
        """Run ``operation`` on the group's shard and write its records; its response."""
        slot = self.slot_for(group_id)
        return await self.write_to(slot, operation)

    async def write_to(
        self, slot: ShardSlot, operation: Callable[[GroupShard], CoordinatorResult[T]]
    ) -> T | None:
        assert slot.shard is not None
        result = operation(slot.shard)
        self._wake_if_sooner(slot)
        await self._write(slot, result)
        return result.response

    def _wake_if_sooner(self, slot: ShardSlot) -> None:
        """Wake the background task if the shard now has a deadline before its alarm."""
        if slot.shard is None:
            return
        deadline = slot.shard.timer.next_deadline()
        if deadline is not None and (
            self._sleeping_until is None or deadline < self._sleeping_until
        ):
            self._wake_up()

    async def _write(self, slot: ShardSlot, result: CoordinatorResult[Any]) -> None:
        if not result.records:
            if slot.pending:  # complete after the writes before it, as Kafka does
                await self._await(slot, slot.pending[-1])
            if result.on_written is not None:
                result.on_written(None)
            return
        await self._await(slot, self._append(slot, result))

    def _append(self, slot: ShardSlot, result: CoordinatorResult[Any]) -> _PendingWrite:
        """Append the result's records now, in the same step as the operation that decided
        them (so the log holds operations in the order they changed the shard)."""
        batch = build_batch(result.records, self.clock.time_ms())
        try:
            info = slot.partition.append_as_coordinator(batch)
        except errors.KafkaError as exc:
            if result.rollback is not None:
                result.rollback()
            if result.on_written is not None:
                result.on_written(exc)
            raise errors.for_code(write_error(exc))(exc.message) from None
        write = _PendingWrite(
            info.first_offset,
            info.last_offset,
            list(result.records) if result.replay else None,
            result.on_written,
        )
        slot.pending.append(write)
        return write

    async def _await(self, slot: ShardSlot, write: _PendingWrite) -> None:
        partition = slot.partition

        def committed() -> bool:
            return write.done or slot.unloaded or partition.high_watermark > write.last_offset

        timeout = self.config.offsets_commit_timeout_ms / 1000
        if not committed():
            await self.broker.replica_manager.wait_for([partition], committed, timeout)
        self._complete_committed(slot)
        if write.done:
            if write.error is not None:
                raise errors.for_code(write_error(write.error))(write.error.message)
            return
        if slot.unloaded:
            raise errors.NotCoordinatorError()
        timed_out = errors.RequestTimedOutError(
            "the group coordinator's write was not replicated within offsets.commit.timeout.ms"
        )
        self._call_written(write, timed_out)  # it may still commit later; then it replays only
        write.on_written = None
        raise errors.for_code(write_error(timed_out))(timed_out.message)

    def _complete_committed(self, slot: ShardSlot) -> None:
        """Complete, in log order, every pending write the high watermark has passed."""
        if slot.unloaded:
            return
        high_watermark = slot.partition.high_watermark
        pending = slot.pending
        completed = False
        while pending and pending[0].last_offset < high_watermark:
            write = pending.popleft()
            if write.records is not None and slot.shard is not None:
                for i, record in enumerate(write.records):
                    slot.shard.replay_committed(record, write.first_offset + i)
            write.done = True
            self._call_written(write, None)
            completed = True
        if completed:
            self._wake_if_sooner(slot)  # callbacks may have set deadlines

    @staticmethod
    def _call_written(write: _PendingWrite, error: errors.KafkaError | None) -> None:
        callback, write.on_written = write.on_written, None
        if callback is None:
            return
        try:
            callback(error)
        except Exception:
            log.exception("group coordinator: a write callback failed (a bug)")

    async def wait_for_pending(self, slot: ShardSlot) -> None:
        """Wait until every write already appended to the slot's partition is committed."""
        if slot.pending:
            await self._await(slot, slot.pending[-1])

    # --------------------------------------------------------------------------- background

    async def run(self) -> None:
        """Load partitions and run due timers until cancelled."""
        for partition in list(self.broker.replica_manager.partitions.values()):
            if partition.is_leader:
                self.on_leadership(partition, True)
        async with anyio.create_task_group() as tg:
            while True:
                self._wake = anyio.Event()
                self._start_work(tg)
                timeout = self._run_timers(tg)
                self._sleeping_until = (
                    None
                    if math.isinf(timeout)
                    else self.clock.monotonic_ms() + math.ceil(timeout * 1000)
                )
                await self.clock.wait(self._wake, timeout)

    def _start_work(self, tg: anyio.abc.TaskGroup) -> None:
        loads, self._to_load = self._to_load, []
        for slot in loads:
            if not slot.unloaded:
                tg.start_soon(self._load, slot)
        background, self._background = self._background, []
        for slot, result in background:
            self._start_write(tg, slot, result)
        for slot in self.slots.values():
            self._complete_committed(slot)

    def _run_timers(self, tg: anyio.abc.TaskGroup) -> float:
        """Run due timers; seconds until the next deadline."""
        now = self.clock.monotonic_ms()
        next_deadline: int | None = None
        for slot in list(self.slots.values()):
            shard = slot.shard
            if shard is None:
                continue
            while (operation := shard.timer.pop_expired(now)) is not None:
                try:
                    result = operation()
                except Exception:
                    log.exception("group coordinator: a timer operation failed (a bug)")
                    continue
                if not result.is_empty:
                    self._start_write(tg, slot, result)
            deadline = shard.timer.next_deadline()
            if deadline is not None and (next_deadline is None or deadline < next_deadline):
                next_deadline = deadline
        if next_deadline is None:
            return math.inf
        return max(next_deadline - self.clock.monotonic_ms(), 0) / 1000

    def _start_write(
        self, tg: anyio.abc.TaskGroup, slot: ShardSlot, result: CoordinatorResult[Any]
    ) -> None:
        """Write a timer's (or a load's) result: appended now, committed in the background."""
        if slot.unloaded:
            if result.rollback is not None:
                result.rollback()
            if result.on_written is not None:
                result.on_written(errors.NotLeaderOrFollowerError())
            return
        if not result.records:
            tg.start_soon(self._write_quietly, slot, result)
            return
        try:
            write = self._append(slot, result)
        except errors.KafkaError as exc:
            log.info("__consumer_offsets-%d: background write failed: %s", slot.index, exc)
            return
        tg.start_soon(self._await_quietly, slot, write)

    async def _write_quietly(self, slot: ShardSlot, result: CoordinatorResult[Any]) -> None:
        try:
            await self._write(slot, result)
        except errors.KafkaError as exc:
            log.info("__consumer_offsets-%d: background write failed: %s", slot.index, exc)

    async def _await_quietly(self, slot: ShardSlot, write: _PendingWrite) -> None:
        try:
            await self._await(slot, write)
        except errors.KafkaError as exc:
            log.info("__consumer_offsets-%d: background write failed: %s", slot.index, exc)

    async def _load(self, slot: ShardSlot) -> None:
        shard = self._new_shard(slot.index)
        try:
            await load_shard(shard, slot.partition.log)
        except Exception:
            log.exception("loading __consumer_offsets-%d failed", slot.index)
            return
        if slot.unloaded or self.slots.get(slot.index) is not slot:
            return
        log.info(
            "broker %d: loaded __consumer_offsets-%d: %d group(s)",
            self.broker.node_id,
            slot.index,
            len(shard.groups),
        )
        self._activate(slot, shard)


async def await_reply(reply: Reply[T]) -> T:
    """Wait for a reply the state machine completes (a parked JoinGroup or SyncGroup)."""
    if not reply.done:
        event = anyio.Event()
        reply.waker = event.set
        if not reply.done:
            await event.wait()
    return reply.result()

"""The partition log both backends share: segments, offsets, producer state, leader epochs.

:class:`UnifiedLog` (Kafka's UnifiedLog + LocalLog) keeps an ordered list of
:class:`~rafka.storage.segment.LogSegment` whose last one is active. An append goes:

    validate (validator.py) -> producer-state checks (nothing changed yet; a duplicate returns
    the original offsets) -> roll if the active segment is full or old -> write -> update the
    epoch cache, log end offset, producer table and transaction index

so a rejected append leaves no trace. (A disk log may write a large batch's records while it
is being validated, past the end of the file, and commits them only at "write":
``FileStore.write_ahead``.) The backends differ only in the hooks at the end of this
class: where a segment's bytes and indexes live, and where producer snapshots and the epoch
checkpoint go. Retention, cleaning and recovery live in their own modules.
"""

from __future__ import annotations

import random
import zlib
from bisect import bisect_right
from collections.abc import Iterator

from rafka import errors
from rafka.storage.append import AppendInfo, AppendOrigin, BatchInfo
from rafka.storage.clock import Clock
from rafka.storage.decisions import (
    Predicate,
    RollParams,
    SegmentStats,
    deletable_segments,
    log_start_offset_breached,
    retention_ms_breached,
    retention_size_breached,
    should_roll,
)
from rafka.storage.errors import CorruptIndexError, LogClosedError, UnexpectedAppendOffsetError
from rafka.storage.leader_epoch_cache import LeaderEpochCache
from rafka.storage.log import (
    EARLIEST_LOCAL_TIMESTAMP,
    EARLIEST_TIMESTAMP,
    LATEST_TIERED_TIMESTAMP,
    LATEST_TIMESTAMP,
    MAX_TIMESTAMP,
    FetchDataInfo,
    FlushPlan,
)
from rafka.storage.log_config import LogConfig
from rafka.storage.producer_append import analyze_producer_state, replay_producer_state
from rafka.storage.producer_state import (
    CompletedTxn,
    ProducerStateEntry,
    ProducerStateManager,
)
from rafka.storage.segment import BatchEntry, LogSegment, TimestampAndOffset
from rafka.storage.transaction_index import AbortedTxn
from rafka.storage.validator import ValidatedAppend, WriteAhead, validate_append

__all__ = ["DEFAULT_PRODUCER_ID_EXPIRATION_MS", "UnifiedLog"]

#: Kafka's ``producer.id.expiration.ms`` default (one day).
DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000


class _NoopFlush:
    __slots__ = ("offset",)

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def sync(self) -> None:
        pass


class UnifiedLog:
    """A partition log over segments (see the module docstring)."""

    def __init__(
        self,
        *,
        topic: str,
        partition: int,
        config: LogConfig,
        clock: Clock,
        rng: random.Random | None = None,
        producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.config = config
        self.clock = clock
        self._rng = rng or random.Random(zlib.crc32(f"{topic}-{partition}".encode()))
        self.producer_id_expiration_ms = producer_id_expiration_ms
        self.segments: list[LogSegment] = []
        self._bases: list[int] = []
        self._log_start_offset = 0
        self._log_end_offset = 0
        self._high_watermark = 0
        self._recovery_point = 0
        self._last_flush_ms = clock.time_ms()
        self._closed = False
        self._producers = ProducerStateManager()
        self._epochs = LeaderEpochCache(on_change=self._write_epoch_checkpoint)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.topic}-{self.partition}, start={self.log_start_offset},"
            f" end={self.log_end_offset}, segments={len(self.segments)})"
        )

    # -- offsets ------------------------------------------------------------------------------

    @property
    def log_start_offset(self) -> int:
        return self._log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self._log_end_offset

    @property
    def high_watermark(self) -> int:
        return self._high_watermark

    @high_watermark.setter
    def high_watermark(self, offset: int) -> None:
        self._high_watermark = min(max(offset, self._log_start_offset), self._log_end_offset)
        self._producers.on_high_watermark_updated(self._high_watermark)

    @property
    def first_unstable_offset(self) -> int | None:
        """First offset of the oldest open (or closed but unreplicated) transaction."""
        first = self._producers.first_unstable_offset()
        return None if first is None else max(first, self._log_start_offset)

    @property
    def last_stable_offset(self) -> int:
        first = self.first_unstable_offset
        return self._high_watermark if first is None else min(first, self._high_watermark)

    @property
    def recovery_point(self) -> int:
        return self._recovery_point

    @property
    def size(self) -> int:
        return sum(segment.size for segment in self.segments)

    @property
    def leader_epoch_cache(self) -> LeaderEpochCache:
        return self._epochs

    @property
    def producer_state(self) -> ProducerStateManager:
        return self._producers

    @property
    def active_segment(self) -> LogSegment:
        """The segment appends go to."""
        return self.segments[-1]

    @property
    def unflushed_messages(self) -> int:
        """Offsets appended since the recovery point."""
        return self._log_end_offset - self._recovery_point

    def _check_open(self) -> None:
        if self._closed:
            raise LogClosedError(f"log {self.topic}-{self.partition} is closed")

    # -- appending ----------------------------------------------------------------------------

    def append(
        self,
        records: bytes | bytearray | memoryview,
        *,
        leader_epoch: int = -1,
        origin: AppendOrigin = AppendOrigin.CLIENT,
    ) -> AppendInfo:
        self._check_open()
        write_ahead = None if origin == AppendOrigin.REPLICATION else self._write_ahead(records)
        if write_ahead is None:
            return self._append(records, leader_epoch, origin, None)
        try:
            return self._append(records, leader_epoch, origin, write_ahead)
        finally:
            self.segments[-1].store.discard_ahead()  # unless committed (or already dropped)

    def _append(
        self,
        records: bytes | bytearray | memoryview,
        leader_epoch: int,
        origin: AppendOrigin,
        write_ahead: WriteAhead | None,
    ) -> AppendInfo:
        now = self.clock.time_ms()
        validated = validate_append(
            records,
            origin=origin,
            config=self.config,
            now_ms=now,
            next_offset=self._log_end_offset,
            leader_epoch=leader_epoch,
            partition_name=f"{self.topic}-{self.partition}",
            write_ahead=write_ahead,
        )
        if not validated.batches:
            return AppendInfo(-1, -1, -1, -1, -1, self._log_start_offset, 0, 0)
        if origin == AppendOrigin.REPLICATION:
            if validated.first_offset < self._log_end_offset:
                raise UnexpectedAppendOffsetError(
                    f"replicated batches start at {validated.first_offset}, below the log end "
                    f"offset {self._log_end_offset}",
                    validated.first_offset,
                    validated.last_offset,
                )
            if validated.size > self.config.segment_size:
                raise errors.RecordListTooLargeError(
                    f"{validated.size} bytes exceed segment.bytes ({self.config.segment_size})"
                )
        updates, completed, duplicate = analyze_producer_state(self._producers, validated, origin)
        if duplicate is not None:
            return AppendInfo(
                duplicate.first_offset,
                duplicate.last_offset,
                -1,
                -1,
                duplicate.timestamp if validated.log_append_time >= 0 else -1,
                self._log_start_offset,
                0,
                0,
                duplicate=True,
            )
        rolled = self._maybe_roll(validated, now)
        segment = self.segments[-1]
        entries = [
            BatchEntry(b.position, b.size, b.last_offset, b.max_timestamp)
            for b in validated.batches
        ]
        segment.append(validated.parts, entries)
        for batch in validated.batches:
            if batch.partition_leader_epoch >= 0:
                self._epochs.assign(batch.partition_leader_epoch, batch.base_offset)
        self._log_end_offset = validated.last_offset + 1
        for info in updates.values():
            self._producers.update(info)
        for txn in completed:
            self._complete_txn(segment, txn)
        self._producers.map_end_offset = self._log_end_offset
        flush_needed = rolled or self.unflushed_messages >= self.config.flush_messages
        return AppendInfo(
            validated.first_offset,
            validated.last_offset,
            validated.max_timestamp,
            validated.offset_of_max_timestamp,
            validated.log_append_time,
            self._log_start_offset,
            validated.records_count,
            validated.size,
            flush_needed=flush_needed,
        )

    def _complete_txn(self, segment: LogSegment, txn: CompletedTxn) -> None:
        if txn.is_aborted:
            lso = self._producers.last_stable_offset(txn)
            segment.append_aborted_txn(
                AbortedTxn(txn.producer_id, txn.first_offset, txn.last_offset, lso)
            )
        self._producers.complete_txn(txn)

    # -- rolling ------------------------------------------------------------------------------

    def _maybe_roll(self, validated: ValidatedAppend, now: int) -> bool:
        segment = self.segments[-1]
        params = RollParams(
            segment_size=segment.size,
            segment_bytes=self.config.segment_size,
            messages_size=validated.size,
            time_waited_ms=segment.time_waited_for_roll(now, validated.max_timestamp),
            segment_ms=self.config.segment_ms,
            roll_jitter_ms=segment.roll_jitter_ms,
            offset_index_full=segment.offset_index.is_full,
            time_index_full=segment.time_index.is_full,
            offset_fits=segment.can_convert_to_relative_offset(validated.last_offset),
        )
        if not should_roll(params):
            return False
        self._roll(validated.first_offset)
        return True

    def roll(self) -> None:
        """Start a new active segment at the log end offset (no-op if the active one is empty)."""
        self._check_open()
        self._roll(self._log_end_offset)

    def _roll(self, expected_next_offset: int) -> LogSegment:
        new_base = max(expected_next_offset, self._log_end_offset)
        active = self.segments[-1]
        if active.base_offset == new_base and active.size == 0:
            return active
        active.store.discard_ahead()  # records written ahead go to the new segment instead
        active.on_become_inactive()
        segment = self._create_segment(new_base)
        self._add_segment(segment)
        self._producers.map_end_offset = new_base
        self._save_snapshot(new_base, self._producers.snapshot_entries())
        return segment

    def _write_ahead(self, records: bytes | bytearray | memoryview) -> WriteAhead | None:
        """How to write ``records``' records section while it is checked, if worth it
        (disk logs, large batches); None: check first, then write."""
        return None

    def _roll_jitter(self) -> int:
        jitter = self.config.segment_jitter_ms
        return 0 if jitter <= 0 else self._rng.randrange(min(jitter, self.config.segment_ms))

    def _add_segment(self, segment: LogSegment) -> None:
        index = bisect_right(self._bases, segment.base_offset)
        self.segments.insert(index, segment)
        self._bases.insert(index, segment.base_offset)

    def _floor_segment_index(self, offset: int) -> int:
        return bisect_right(self._bases, offset) - 1

    # -- reading ------------------------------------------------------------------------------

    def read(
        self,
        offset: int,
        max_bytes: int,
        *,
        max_offset: int | None = None,
        min_one_message: bool = True,
        include_aborted_txns: bool = False,
    ) -> FetchDataInfo:
        self._check_open()
        if max_bytes < 0:
            raise ValueError(f"invalid max_bytes {max_bytes}")
        if offset < self._log_start_offset or offset > self._log_end_offset:
            raise errors.OffsetOutOfRangeError(
                f"offset {offset} is outside [{self._log_start_offset}, {self._log_end_offset}] "
                f"of {self.topic}-{self.partition}"
            )
        limit = (
            self._log_end_offset if max_offset is None else min(max_offset, self._log_end_offset)
        )
        empty = FetchDataInfo(offset, (), 0, offset, False, () if include_aborted_txns else None)
        if offset >= limit:
            return empty
        index = max(self._floor_segment_index(offset), 0)
        for i in range(index, len(self.segments)):
            segment = self.segments[i]
            max_position = segment.size
            nxt = self._bases[i + 1] if i + 1 < len(self._bases) else None
            if limit < self._log_end_offset and (nxt is None or nxt > limit):
                found = segment.translate_offset(limit)
                if found is not None:
                    max_position = found[0]
            got = segment.read(offset, max_bytes, max_position, min_one_message)
            if got is None:
                continue
            aborted = None
            if include_aborted_txns:
                aborted = tuple(self.collect_aborted_transactions(offset, got.next_offset))
            return FetchDataInfo(
                offset,
                tuple(got.views),
                got.size,
                got.next_offset,
                got.first_entry_incomplete,
                aborted,
            )
        return empty

    def collect_aborted_transactions(self, start: int, upper: int) -> list[AbortedTxn]:
        """Aborted transactions overlapping ``[start, upper)``."""
        out: list[AbortedTxn] = []
        for segment in self.segments[max(self._floor_segment_index(start), 0) :]:
            found, complete = segment.collect_aborted_txns(start, upper)
            out.extend(found)
            if complete:
                break
        return out

    def batches(
        self, start: int = 0, segments: list[LogSegment] | None = None
    ) -> Iterator[tuple[LogSegment, int, BatchInfo]]:
        """Every stored batch from the one holding ``start``: ``(segment, position, info)``."""
        chosen = self.segments if segments is None else segments
        for segment in chosen[max(self._floor_segment_index(start), 0) :]:
            found = segment.translate_offset(start)
            if found is None:
                continue
            for position, header in segment.headers(found[0]):
                info = BatchInfo.from_header(position, header)
                yield segment, position, info

    # -- lookups ------------------------------------------------------------------------------

    def offset_for_timestamp(self, timestamp: int) -> TimestampAndOffset | None:
        self._check_open()
        if timestamp in (EARLIEST_TIMESTAMP, EARLIEST_LOCAL_TIMESTAMP):
            first = self._epochs.earliest_entry
            epoch = first[0] if first is not None and first[1] <= self._log_start_offset else None
            if timestamp == EARLIEST_LOCAL_TIMESTAMP:
                epoch = self._epochs.epoch_for_offset(self._log_start_offset)
            return TimestampAndOffset(-1, self._log_start_offset, epoch)
        if timestamp == LATEST_TIMESTAMP:
            return TimestampAndOffset(-1, self._log_end_offset, self._epochs.latest_epoch)
        if timestamp == LATEST_TIERED_TIMESTAMP:
            return TimestampAndOffset(-1, -1, -1)
        if timestamp == MAX_TIMESTAMP:
            best = max(self.segments, key=lambda s: s.max_timestamp)
            return best.offset_of_max_timestamp_record()
        for segment in self.segments:
            if segment.largest_timestamp() >= timestamp:
                return segment.find_offset_by_timestamp(timestamp, self._log_start_offset)
        return None

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        self._check_open()
        return self._epochs.end_offset_for(epoch, self._log_end_offset)

    # -- truncation ---------------------------------------------------------------------------

    def truncate_to(self, offset: int) -> bool:
        self._check_open()
        if offset < 0:
            raise ValueError(f"cannot truncate to a negative offset ({offset})")
        if offset >= self._log_end_offset:
            return False
        if self.segments[0].base_offset > offset:
            self.truncate_fully_and_start_at(offset)
            return True
        now = self.clock.time_ms()
        doomed = [s for s in self.segments if s.base_offset > offset]
        if doomed:
            self._remove_segments(doomed)
        self.segments[-1].truncate_to(offset, now)
        # The end of the last remaining batch: ``offset`` itself when it is a batch boundary
        # (always, for replication), and what a reload of the files would find in any case.
        end = self.segments[-1].next_offset()
        self._log_end_offset = end
        self._log_start_offset = min(self._log_start_offset, end)
        self._epochs.truncate_from_end(end)
        self._high_watermark = min(self._high_watermark, end)
        self._lower_recovery_point(end)
        self._delete_snapshots_after(end)
        self._rebuild_producer_state(end)
        return True

    def truncate_fully_and_start_at(self, offset: int) -> None:
        self._check_open()
        self._remove_segments(list(self.segments))
        self._add_segment(self._create_segment(offset))
        self._epochs.clear()
        self._producers.truncate_fully_and_start_at(offset)
        self._delete_snapshots_after(-1)
        self._log_start_offset = self._log_end_offset = self._high_watermark = offset
        self._lower_recovery_point(offset)
        self._recovery_point = offset

    def delete_records_before(self, offset: int) -> int:
        self._check_open()
        if offset > self._high_watermark:
            raise errors.OffsetOutOfRangeError(
                f"cannot move the log start offset to {offset}: it is past the high watermark "
                f"{self._high_watermark}"
            )
        self._increment_log_start_offset(offset)
        self._delete_segments(log_start_offset_breached(self._log_start_offset))
        return self._log_start_offset

    def _increment_log_start_offset(self, offset: int) -> None:
        if offset <= self._log_start_offset:
            return
        self._log_start_offset = offset
        self._epochs.truncate_from_start(offset)
        self._producers.on_log_start_offset_incremented(offset)
        self._after_log_start_offset_change()

    # -- retention ----------------------------------------------------------------------------

    def delete_old_segments(self) -> int:
        self._check_open()
        deleted = self._delete_segments(log_start_offset_breached(self._log_start_offset))
        if self.config.delete:
            deleted += self._delete_segments(
                retention_size_breached(self.size, self.config.retention_bytes)
            )
            now = self.clock.time_ms()
            deleted += self._delete_segments(retention_ms_breached(now, self.config.retention_ms))
        return deleted

    def _segment_stats(self) -> list[SegmentStats]:
        return [
            SegmentStats(
                s.base_offset,
                s.size,
                s.max_timestamp if s.max_timestamp >= 0 else s.created_ms,
            )
            for s in self.segments
        ]

    def _delete_segments(self, predicate: Predicate) -> int:
        count = deletable_segments(
            self._segment_stats(),
            high_watermark=self._high_watermark,
            log_end_offset=self._log_end_offset,
            predicate=predicate,
        )
        if not count:
            return 0
        doomed = self.segments[:count]
        if count == len(self.segments):
            self._roll(self._log_end_offset)
        self._remove_segments(doomed)
        self._increment_log_start_offset(self.segments[0].base_offset)
        self._delete_snapshots_before(self.segments[0].base_offset)
        return count

    # -- producer state ------------------------------------------------------------------------

    def _rebuild_producer_state(
        self, end_offset: int, segments: list[LogSegment] | None = None
    ) -> None:
        """Reload the producer table from the newest usable snapshot at or below
        ``end_offset`` and replay the batches after it (of ``segments`` only, if given)."""
        now = self.clock.time_ms()
        start = self.segments[0].base_offset  # every stored batch counts, even below log start
        entries: list[ProducerStateEntry] = []
        for offset in reversed(self._snapshot_offsets()):
            # Any snapshot whose offset still has all later data in the log will do (Kafka also
            # drops those at or below the log start offset, losing producers on restart).
            if offset > end_offset or offset < self.segments[0].base_offset:
                continue
            try:
                entries = self._load_snapshot(offset)
            except (CorruptIndexError, OSError):
                self._delete_snapshot(offset)
                continue
            start = offset
            break
        producers = self._producers
        producers.truncate_fully_and_start_at(start)
        for entry in entries:
            expired = now - entry.last_timestamp >= self.producer_id_expiration_ms
            if entry.current_txn_first_offset is not None or not expired:
                producers.load_entry(entry)
        replay_producer_state(producers, self.batches(start, segments), start, end_offset)

    def remove_expired_producers(self) -> None:
        """Forget producers idle longer than ``producer.id.expiration.ms``."""
        self._producers.remove_expired_producers(
            self.clock.time_ms(), self.producer_id_expiration_ms
        )

    # -- flushing -----------------------------------------------------------------------------

    def flush(self, offset: int | None = None) -> None:
        plan = self.prepare_flush(offset)
        plan.sync()
        self.complete_flush(plan)

    def prepare_flush(self, offset: int | None = None) -> FlushPlan:
        self._check_open()
        target = self._log_end_offset if offset is None else min(offset, self._log_end_offset)
        return _NoopFlush(target)

    def complete_flush(self, plan: FlushPlan) -> None:
        if plan.offset > self._recovery_point:
            self._recovery_point = plan.offset
        self._last_flush_ms = self.clock.time_ms()

    @property
    def last_flush_ms(self) -> int:
        """When the log was last flushed (by the log's clock)."""
        return self._last_flush_ms

    def close(self) -> None:
        if self._closed:
            return
        for segment in self.segments:
            segment.close()
        self._closed = True

    # -- backend hooks ------------------------------------------------------------------------

    def _create_segment(self, base_offset: int) -> LogSegment:
        raise NotImplementedError

    def _create_cleaned_segment(self, base_offset: int) -> LogSegment:
        """A segment for the cleaner to write into (not yet part of the log)."""
        return self._create_segment(base_offset)

    def _replace_segments(self, new: list[LogSegment], old: list[LogSegment]) -> None:
        """Swap cleaned segments in for the ones they were made from."""
        self._remove_segments(old)
        for segment in new:
            self._add_segment(segment)

    def _remove_segments(self, segments: list[LogSegment]) -> None:
        for segment in segments:
            index = self.segments.index(segment)
            del self.segments[index]
            del self._bases[index]
            segment.delete()

    def _write_epoch_checkpoint(self, entries: list[tuple[int, int]]) -> None:
        pass

    def _lower_recovery_point(self, offset: int) -> None:
        self._recovery_point = min(self._recovery_point, offset)

    def _after_log_start_offset_change(self) -> None:
        pass

    def _snapshot_offsets(self) -> list[int]:
        raise NotImplementedError

    def _load_snapshot(self, offset: int) -> list[ProducerStateEntry]:
        raise NotImplementedError

    def _save_snapshot(self, offset: int, entries: list[ProducerStateEntry]) -> None:
        raise NotImplementedError

    def _delete_snapshot(self, offset: int) -> None:
        raise NotImplementedError

    def _delete_snapshots_after(self, offset: int) -> None:
        for snapshot in self._snapshot_offsets():
            if snapshot > offset:
                self._delete_snapshot(snapshot)

    def _delete_snapshots_before(self, offset: int) -> None:
        for snapshot in self._snapshot_offsets():
            if snapshot < offset:
                self._delete_snapshot(snapshot)

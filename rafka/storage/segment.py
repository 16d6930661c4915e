"""A log segment: whole record batches from one base offset, with their indexes.

A segment with base offset ``B`` is, on disk, ``<B:020d>.log`` (the batches, concatenated, no
header), ``.index`` (:mod:`offset_index`), ``.timeindex`` (:mod:`time_index`) and, when it holds
ABORT markers, ``.txnindex`` (:mod:`transaction_index`). In memory the same structure is kept
with a :class:`~rafka.storage.byte_store.MemoryStore` and file-less indexes: both backends run
this one class, so they give the same answers.

Invariants:
- every batch's offsets lie in ``[B, B + 2**31 - 1]`` and increase from batch to batch;
- an index entry is added for the batch at position ``P`` when ``P`` is more than
  ``index.interval.bytes`` past the last indexed batch (the rule is the same for appends,
  recovery and reloads, so a rebuilt index equals the original);
- ``max_timestamp`` is the largest batch max timestamp, ``offset_of_max_timestamp`` the last
  offset of the first batch that reached it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

from rafka.errors import DecodeError
from rafka.protocol.records import BATCH_HEADER_SIZE, BatchHeader, RecordBatch, verify_crc
from rafka.storage.byte_store import Buffer, ByteStore
from rafka.storage.offset_index import OffsetIndex
from rafka.storage.time_index import TimeIndex
from rafka.storage.transaction_index import AbortedTxn, TransactionIndex

__all__ = ["BatchEntry", "LogSegment", "SegmentRead", "TimestampAndOffset"]

_SCAN_BLOCK = 4096
_RECOVERY_BLOCK = 1 << 20
_NO_TIMESTAMP = -1


class BatchEntry(NamedTuple):
    """What a segment needs to know of each batch appended to it."""

    #: Position of the batch relative to the start of the bytes being appended.
    position: int
    size: int
    last_offset: int
    max_timestamp: int


class SegmentRead(NamedTuple):
    """Whole batches read from one segment."""

    #: Position in the segment of the first batch returned.
    position: int
    #: The batches' bytes, as one or more views.
    views: list[memoryview]
    #: Bytes returned.
    size: int
    #: The offset after the last batch returned (the fetch offset when nothing is returned).
    next_offset: int
    #: The first batch did not fit in the byte limit (only without ``min_one_message``).
    first_entry_incomplete: bool


class TimestampAndOffset(NamedTuple):
    """A ListOffsets answer: a record's timestamp and offset and its batch's leader epoch."""

    timestamp: int
    offset: int
    leader_epoch: int | None


class LogSegment:
    """Batches plus indexes for one base offset (see the module docstring)."""

    __slots__ = (
        "_last_index_position",
        "_rolling_based_timestamp",
        "base_offset",
        "created_ms",
        "index_interval_bytes",
        "max_timestamp",
        "offset_index",
        "offset_of_max_timestamp",
        "roll_jitter_ms",
        "store",
        "time_index",
        "txn_index",
    )

    def __init__(
        self,
        store: ByteStore,
        base_offset: int,
        *,
        offset_index: OffsetIndex,
        time_index: TimeIndex,
        txn_index: TransactionIndex,
        index_interval_bytes: int,
        roll_jitter_ms: int,
        created_ms: int,
    ) -> None:
        self.store = store
        self.base_offset = base_offset
        self.offset_index = offset_index
        self.time_index = time_index
        self.txn_index = txn_index
        self.index_interval_bytes = index_interval_bytes
        self.roll_jitter_ms = roll_jitter_ms
        self.created_ms = created_ms
        self.max_timestamp = _NO_TIMESTAMP
        self.offset_of_max_timestamp = base_offset
        self._last_index_position = 0
        self._rolling_based_timestamp: int | None = None

    def __repr__(self) -> str:
        return f"LogSegment(base_offset={self.base_offset}, size={self.size})"

    def copy(self, store: ByteStore) -> LogSegment:
        """This segment over ``store`` (a copy of its bytes) with copies of its file-less
        indexes; used by in-memory snapshots."""
        other = LogSegment(
            store,
            self.base_offset,
            offset_index=self.offset_index.copy(),
            time_index=self.time_index.copy(),
            txn_index=self.txn_index.copy(),
            index_interval_bytes=self.index_interval_bytes,
            roll_jitter_ms=self.roll_jitter_ms,
            created_ms=self.created_ms,
        )
        other.max_timestamp = self.max_timestamp
        other.offset_of_max_timestamp = self.offset_of_max_timestamp
        other._last_index_position = self._last_index_position
        other._rolling_based_timestamp = self._rolling_based_timestamp
        return other

    @property
    def size(self) -> int:
        """Bytes of batches in the segment."""
        return self.store.size

    # -- appending ----------------------------------------------------------------------------

    def can_convert_to_relative_offset(self, offset: int) -> bool:
        """Whether ``offset`` fits this segment's int32 relative offsets."""
        return self.offset_index.can_append_offset(offset)

    def append(self, parts: Sequence[Buffer], entries: Sequence[BatchEntry]) -> None:
        """Append whole batches (``parts`` concatenated) described by ``entries``."""
        start = self.store.size
        self.store.append(parts)
        if start == 0 and entries:
            self._rolling_based_timestamp = entries[0].max_timestamp
        for entry in entries:
            self._index_batch(start + entry.position, entry.last_offset, entry.max_timestamp)

    def _index_batch(self, position: int, last_offset: int, max_timestamp: int) -> None:
        if max_timestamp > self.max_timestamp:
            self.max_timestamp = max_timestamp
            self.offset_of_max_timestamp = last_offset
        if (
            position - self._last_index_position > self.index_interval_bytes
            and not self.offset_index.is_full
        ):
            # (a full index only happens within one multi-batch append; the next append rolls)
            self.offset_index.append(last_offset, position)
            if not self.time_index.is_full:
                self.time_index.maybe_append(self.max_timestamp, self.offset_of_max_timestamp)
            self._last_index_position = position

    def append_aborted_txn(self, txn: AbortedTxn) -> None:
        """Record an aborted transaction whose ABORT marker is in this segment."""
        self.txn_index.append(txn)

    # -- scanning -----------------------------------------------------------------------------

    def headers(
        self, position: int = 0, end: int | None = None
    ) -> Iterator[tuple[int, BatchHeader]]:
        """``(position, header)`` of each batch from ``position`` (a batch start) to ``end``."""
        store = self.store
        limit = store.size if end is None else min(end, store.size)
        buf: Buffer = b""
        buf_start = position
        while position < limit:
            rel = position - buf_start
            if rel + BATCH_HEADER_SIZE > len(buf):
                buf = store.read_some(position, _SCAN_BLOCK)
                buf_start, rel = position, 0
            header = BatchHeader.parse(buf, rel)
            yield position, header
            position += header.batch_length + 12

    def batch_bytes(self, position: int, size: int) -> bytes:
        """The bytes of the batch at ``position`` (one copy)."""
        return b"".join(self.store.read(position, size))

    def translate_offset(
        self, offset: int, starting_position: int = 0
    ) -> tuple[int, BatchHeader] | None:
        """The first batch whose last offset is >= ``offset``: ``(position, header)``."""
        _, position = self.offset_index.lookup(offset)
        for pos, header in self.headers(max(position, starting_position)):
            if header.base_offset + header.last_offset_delta >= offset:
                return pos, header
        return None

    def next_offset(self) -> int:
        """The offset after the last batch, or the base offset when empty."""
        last = None
        _, position = self.offset_index.lookup(self.offset_index.last_offset)
        for _, header in self.headers(position):
            last = header
        return last.next_offset if last is not None else self.base_offset

    # -- reading ------------------------------------------------------------------------------

    def read(
        self, offset: int, max_size: int, max_position: int, min_one_message: bool
    ) -> SegmentRead | None:
        """Whole batches from the one holding ``offset``, within ``max_size`` bytes (or the first
        batch whatever its size with ``min_one_message``) and before ``max_position``.

        None when no batch of this segment ends at or after ``offset``.
        """
        found = self.translate_offset(offset)
        if found is None:
            return None
        position, first = found
        first_size = first.batch_length + 12
        if position + first_size > max_position:
            return SegmentRead(position, [], 0, offset, False)
        budget = max(max_size, first_size) if min_one_message else max_size
        if first_size > budget:
            return SegmentRead(position, [], 0, offset, True)
        limit = min(max_position, position + budget)
        positions = self.offset_index
        slot_position = positions.lookup_position(limit)
        scan_from = position
        if slot_position > position:
            # start from the indexed batch before the last one below the limit: its batches fit
            earlier = positions.lookup_position(slot_position - 1)
            scan_from = max(position, earlier)
        end = scan_from
        next_offset = first.next_offset
        for pos, header in self.headers(scan_from):
            size = header.batch_length + 12
            if pos + size > limit:
                break
            end = pos + size
            next_offset = header.next_offset
        views = self.store.read(position, end - position)
        return SegmentRead(position, views, end - position, next_offset, False)

    def find_offset_by_timestamp(
        self, timestamp: int, starting_offset: int
    ) -> TimestampAndOffset | None:
        """The first record with timestamp >= ``timestamp`` and offset >= ``starting_offset``."""
        _, indexed_offset = self.time_index.lookup(timestamp)
        _, position = self.offset_index.lookup(max(indexed_offset, starting_offset))
        for pos, header in self.headers(position):
            if header.max_timestamp < timestamp:
                continue
            batch = RecordBatch(self.batch_bytes(pos, header.batch_length + 12))
            for record in batch.records():
                if record.timestamp >= timestamp and record.offset >= starting_offset:
                    epoch = header.partition_leader_epoch
                    return TimestampAndOffset(record.timestamp, record.offset, _epoch(epoch))
        return None

    def offset_of_max_timestamp_record(self) -> TimestampAndOffset | None:
        """The first record carrying this segment's max timestamp (ListOffsets MAX_TIMESTAMP)."""
        if self.max_timestamp == _NO_TIMESTAMP and not self.size:
            return None
        _, position = self.offset_index.lookup(self.offset_of_max_timestamp)
        for pos, header in self.headers(position):
            if header.max_timestamp != self.max_timestamp:
                continue
            epoch = _epoch(header.partition_leader_epoch)
            if header.attributes & 0x08 or not header.records_count:  # LogAppendTime
                return TimestampAndOffset(header.max_timestamp, header.base_offset, epoch)
            batch = RecordBatch(self.batch_bytes(pos, header.batch_length + 12))
            for record in batch.records():
                if record.timestamp == header.max_timestamp:
                    return TimestampAndOffset(record.timestamp, record.offset, epoch)
        return None

    def collect_aborted_txns(self, fetch_offset: int, upper: int) -> tuple[list[AbortedTxn], bool]:
        """Aborted transactions of this segment overlapping ``[fetch_offset, upper)``."""
        return self.txn_index.collect(fetch_offset, upper)

    # -- time ---------------------------------------------------------------------------------

    @property
    def rolling_based_timestamp(self) -> int | None:
        """Max timestamp of the segment's first batch (None when empty)."""
        if self._rolling_based_timestamp is None and self.size:
            for _, header in self.headers(0):
                self._rolling_based_timestamp = header.max_timestamp
                break
        return self._rolling_based_timestamp

    def time_waited_for_roll(self, now_ms: int, message_timestamp: int) -> int:
        """How long this segment has been open, by record time if known, else by wall time."""
        first = self.rolling_based_timestamp
        if first is not None and first >= 0:
            return message_timestamp - first
        return now_ms - self.created_ms

    def largest_timestamp(self) -> int:
        """The max timestamp (retention by time compares it with ``retention.ms``)."""
        return self.max_timestamp

    # -- recovery and truncation ----------------------------------------------------------------

    def recover(
        self, visit: Callable[[int, BatchHeader], None], *, start_offset: int | None = None
    ) -> int:
        """Validate every batch (CRC, header, offsets), rebuild the indexes and cut the data
        after the first invalid batch. ``visit(position, header)`` sees each valid batch.

        Returns the number of bytes truncated.
        """
        self.offset_index.reset()
        self.time_index.reset()
        self.txn_index.reset()
        self.max_timestamp = _NO_TIMESTAMP
        self.offset_of_max_timestamp = self.base_offset
        self._last_index_position = 0
        self._rolling_based_timestamp = None
        valid = 0
        expected = self.base_offset if start_offset is None else start_offset
        size = self.store.size
        block: Buffer = b""
        block_start = 0
        while valid < size:
            rel = valid - block_start
            if rel + BATCH_HEADER_SIZE > len(block):
                block, block_start, rel = self._read_block(valid, _RECOVERY_BLOCK), valid, 0
            try:
                header = BatchHeader.parse(block, rel)
            except DecodeError:
                break
            batch_size = header.batch_length + 12
            last = header.base_offset + header.last_offset_delta
            if (
                valid + batch_size > size
                or header.base_offset < expected
                or header.last_offset_delta < 0
                or not self.can_convert_to_relative_offset(last)
            ):
                break
            if rel + batch_size > len(block):
                block, block_start, rel = self._read_block(valid, batch_size), valid, 0
            try:
                verify_crc(block, rel)
            except DecodeError:
                break
            if valid == 0:
                self._rolling_based_timestamp = header.max_timestamp
            self._index_batch(valid, last, header.max_timestamp)
            visit(valid, header)
            expected = last + 1
            valid += batch_size
        truncated = size - valid
        self.store.truncate(valid)
        self.time_index.maybe_append(
            self.max_timestamp, self.offset_of_max_timestamp, skip_full_check=True
        )
        return truncated

    def _read_block(self, position: int, size: int) -> Buffer:
        size = max(size, _RECOVERY_BLOCK)
        views = self.store.read(position, size)
        return views[0] if len(views) == 1 else b"".join(views)

    def reload_state(self) -> None:
        """Derive the running values (max timestamp, last indexed position) from the indexes
        and the batches after their last entries; used after loading or truncating."""
        count = len(self.offset_index)
        self._last_index_position = self.offset_index.entry(count - 1)[1] if count else 0
        ts, ts_offset = self.time_index.last_entry
        self.max_timestamp, self.offset_of_max_timestamp = ts, ts_offset
        _, position = self.offset_index.lookup(ts_offset)
        for _, header in self.headers(position):
            if header.max_timestamp > self.max_timestamp:
                self.max_timestamp = header.max_timestamp
                self.offset_of_max_timestamp = header.base_offset + header.last_offset_delta
        if not self.size:
            self._rolling_based_timestamp = None

    def truncate_to(self, offset: int, now_ms: int) -> int:
        """Remove the batch holding ``offset`` and everything after; return bytes removed."""
        found = self.translate_offset(offset)
        self.offset_index.truncate_to(offset)
        self.time_index.truncate_to(offset)
        self.txn_index.truncate_to(offset)
        removed = 0
        if found is not None:
            removed = self.store.size - found[0]
            self.store.truncate(found[0])
        if not self.size:
            self.created_ms = now_ms
        self.reload_state()
        return removed

    def on_become_inactive(self) -> None:
        """Record the final time-index entry (the segment's max timestamp), as on roll."""
        self.time_index.maybe_append(
            self.max_timestamp, self.offset_of_max_timestamp, skip_full_check=True
        )

    # -- files --------------------------------------------------------------------------------

    def flush_indexes(self, *, sync: bool) -> None:
        """Write index entries not yet in their files."""
        self.offset_index.flush(sync=sync)
        self.time_index.flush(sync=sync)
        self.txn_index.flush(sync=sync)

    def flush(self) -> None:
        """fsync the batches and the indexes."""
        self.store.flush()
        self.flush_indexes(sync=True)

    def close(self) -> None:
        """Write the final time-index entry and the indexes; release the file handle."""
        if self.size:
            self.on_become_inactive()
        self.flush_indexes(sync=False)
        self.store.close()

    def delete(self) -> None:
        """Remove the segment's files (or drop its memory)."""
        self.store.delete()
        self.offset_index.delete()
        self.time_index.delete()
        self.txn_index.delete()


def _epoch(epoch: int) -> int | None:
    return epoch if epoch >= 0 else None

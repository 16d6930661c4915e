"""Log compaction (Kafka's LogCleaner) for ``cleanup.policy=compact`` and ``compact,delete``.

A cleaning round over a log:

    first dirty offset      where the previous round stopped (cleaner-offset-checkpoint)
    first uncleanable       min(last stable offset, active segment base, first segment newer
                            than min.compaction.lag.ms), rounded down to a segment start
    run when                dirty / (clean + dirty) >= min.cleanable.dirty.ratio, or the oldest
                            dirty batch is older than max.compaction.lag.ms (or when forced)

1. An offset map ``key -> last offset`` is built from the dirty section (aborted transactional
   batches and control batches contribute nothing).
2. Every segment from the log start up to the end of the map is rewritten, segment groups
   merged while they fit ``segment.bytes``. A record survives if it is past the map's end or is
   the latest for its key; a tombstone (null value) survives until its batch's delete horizon.
3. Batch rules, in order: a batch of an aborted transaction is dropped; a transaction marker is
   kept while data of its transaction remains, then gets a delete horizon and is dropped after
   it; the last batch of every producer still in the producer table is kept even when emptied
   (its header carries the producer's sequence and epoch), as is the batch ending the round.
   Batches left whole are copied byte for byte; others are re-encoded with their original
   offsets, codec, producer fields and ``lastOffsetDelta``, and the delete horizon
   (``now + delete.retention.ms``) when they hold a tombstone or an emptied marker.
4. The new segments replace the old ones (on disk: ``.cleaned`` files renamed ``.swap``, old
   files removed, ``.swap`` suffix dropped; recovery finishes an interrupted swap).

Decoding records is unavoidable here and fine: cleaning is off the produce/fetch path.
"""

from __future__ import annotations

import heapq
import struct

import attrs

from rafka.protocol.records import (
    BATCH_HEADER_SIZE,
    BatchHeader,
    Compression,
    Record,
    RecordBatch,
    compress,
    parse_control_key,
)
from rafka.protocol.records import ControlRecordType as _Control
from rafka.protocol.records._crc import crc32c
from rafka.protocol.records.varint import encode_varint, encode_varlong
from rafka.storage.decisions import cleanable_dirty_ratio
from rafka.storage.segment import BatchEntry, LogSegment
from rafka.storage.transaction_index import AbortedTxn
from rafka.storage.unified_log import UnifiedLog

__all__ = ["CleanResult", "clean_log", "cleanable_offsets", "encode_batch_with_offsets"]

_LONG_MAX = (1 << 63) - 1
_TAIL = struct.Struct(">hiqqqhii")
_PREFIX = struct.Struct(">qiibI")
_DELETE_HORIZON = 0x40
_LOG_APPEND_TIME = 0x08
_COMPRESSION = 0x07


@attrs.frozen
class CleanResult:
    """What a cleaning round did."""

    first_dirty_offset: int
    #: Where the next round starts (store it as the partition's cleaner offset).
    end_offset: int
    bytes_before: int
    bytes_after: int
    records_before: int
    records_after: int


def cleanable_offsets(log: UnifiedLog, first_dirty: int, now_ms: int) -> tuple[int, int]:
    """``(first dirty offset, first uncleanable offset)`` of ``log`` (see the module doc)."""
    if first_dirty < log.log_start_offset or first_dirty > log.log_end_offset:
        first_dirty = log.log_start_offset
    candidates = [log.last_stable_offset, log.active_segment.base_offset]
    lag = max(log.config.min_compaction_lag_ms, 0)
    if lag > 0:
        for segment in log.segments[:-1]:
            if segment.base_offset < first_dirty and segment is not _floor(log, first_dirty):
                continue
            stamp = segment.max_timestamp if segment.max_timestamp >= 0 else segment.created_ms
            if stamp > now_ms - lag:
                candidates.append(segment.base_offset)
                break
    return first_dirty, max(first_dirty, min(candidates))


def _floor(log: UnifiedLog, offset: int) -> LogSegment:
    return log.segments[max(log._floor_segment_index(offset), 0)]


def _must_clean(log: UnifiedLog, first_dirty: int, uncleanable: int, now_ms: int) -> bool:
    lag = log.config.max_compaction_lag_ms
    if lag >= _LONG_MAX:
        return False
    for segment in log.segments[:-1]:
        if segment.base_offset >= uncleanable:
            break
        if segment.base_offset < first_dirty and segment is not _floor(log, first_dirty):
            continue
        first = segment.rolling_based_timestamp
        if first is not None and first >= 0 and now_ms - first > lag:
            return True
    return False


def clean_log(
    log: UnifiedLog, *, first_dirty_offset: int = 0, now_ms: int | None = None, force: bool = False
) -> CleanResult | None:
    """Run one cleaning round if ``log`` is due (or ``force``); None when nothing was done."""
    if not log.config.compact:
        return None
    now = log.clock.time_ms() if now_ms is None else now_ms
    first_dirty, uncleanable = cleanable_offsets(log, first_dirty_offset, now)
    cleanable = [s for s in log.segments[:-1] if s.base_offset < uncleanable]
    if not cleanable or first_dirty >= uncleanable:
        return None
    uncleanable = max(
        (s.base_offset for s in log.segments if s.base_offset <= uncleanable), default=0
    )
    clean_bytes = sum(s.size for s in log.segments if s.base_offset < first_dirty)
    floor_dirty = _floor(log, first_dirty)
    dirty_bytes = sum(
        s.size
        for s in log.segments
        if s.base_offset < uncleanable and (s.base_offset >= first_dirty or s is floor_dirty)
    )
    due = cleanable_dirty_ratio(clean_bytes, dirty_bytes) >= log.config.min_cleanable_dirty_ratio
    if not (force or (due and dirty_bytes) or _must_clean(log, first_dirty, uncleanable, now)):
        return None
    offsets, latest = _build_offset_map(log, first_dirty, uncleanable)
    if latest < 0:
        return None
    end_offset = latest + 1
    old = [s for s in log.segments[:-1] if s.base_offset < end_offset]
    active_producers = {
        pid: (entry.last_data_offset if entry.batches else None, entry.producer_epoch)
        for pid, entry in log.producer_state.producers.items()
    }
    context = _Context(log, offsets, latest, now, end_offset, active_producers)
    before = sum(s.size for s in old)
    records_before = records_after = 0
    for group in _group_segments(old, log.config.segment_size, uncleanable):
        new, counts = _clean_group(context, group)
        records_before += counts[0]
        records_after += counts[1]
        log._replace_segments([new], group)
    after = sum(s.size for s in log.segments if s.base_offset < end_offset)
    return CleanResult(first_dirty, end_offset, before, after, records_before, records_after)


def _group_segments(
    segments: list[LogSegment], max_size: int, uncleanable: int
) -> list[list[LogSegment]]:
    groups: list[list[LogSegment]] = []
    i = 0
    while i < len(segments):
        group = [segments[i]]
        size = segments[i].size
        i += 1
        while i < len(segments) and size + segments[i].size <= max_size:
            nxt = segments[i + 1].base_offset - 1 if i + 1 < len(segments) else uncleanable - 1
            if segments[i].size and nxt - group[0].base_offset > (1 << 31) - 1:
                break
            group.append(segments[i])
            size += segments[i].size
            i += 1
        groups.append(group)
    return groups


class _TxnTracker:
    """Which transactional batches belong to aborted transactions (CleanedTransactionMetadata)."""

    def __init__(self, aborted: list[AbortedTxn]) -> None:
        self._pending = [(t.first_offset, i, t) for i, t in enumerate(aborted)]
        heapq.heapify(self._pending)
        # producer id -> its aborted transaction and whether data of it was seen
        self._aborted: dict[int, tuple[AbortedTxn, bool]] = {}
        self._committed: set[int] = set()
        self.kept: list[AbortedTxn] = []

    def add(self, aborted: list[AbortedTxn]) -> None:
        for t in aborted:
            heapq.heappush(self._pending, (t.first_offset, len(self._pending) + 10**9, t))

    def _consume(self, offset: int) -> None:
        while self._pending and self._pending[0][0] <= offset:
            _, _, txn = heapq.heappop(self._pending)
            self._aborted.setdefault(txn.producer_id, (txn, False))

    def on_batch(self, header: BatchHeader) -> bool:
        """Whether this data batch may be discarded (it is part of an aborted transaction)."""
        self._consume(header.base_offset + header.last_offset_delta)
        if not header.is_transactional:
            return False
        state = self._aborted.get(header.producer_id)
        if state is None:
            self._committed.add(header.producer_id)
            return False
        self._aborted[header.producer_id] = (state[0], True)
        return True

    def on_control(self, header: BatchHeader, key: bytes | None) -> bool:
        """Whether this control batch may be discarded once its delete horizon passed."""
        self._consume(header.base_offset + header.last_offset_delta)
        if key is None:
            return True  # an emptied marker
        _, kind = parse_control_key(key)
        if kind == _Control.ABORT:
            state = self._aborted.pop(header.producer_id, None)
            if state is not None and state[1]:
                self.kept.append(state[0])  # keep the marker while aborted data remains
                return False
            return True
        if kind == _Control.COMMIT:
            if header.producer_id in self._committed:
                self._committed.discard(header.producer_id)
                return False
            return True
        return False


def _build_offset_map(log: UnifiedLog, start: int, end: int) -> tuple[dict[bytes, int], int]:
    offsets: dict[bytes, int] = {}
    latest = -1
    tracker = _TxnTracker(log.collect_aborted_transactions(start, end))
    for segment, position, info in log.batches(start):
        if info.base_offset >= end:
            break
        header = BatchHeader.parse(segment.batch_bytes(position, BATCH_HEADER_SIZE))
        if info.is_control:
            key = _first_key(segment, position, info.size) if info.records_count else None
            tracker.on_control(header, key)
        elif not tracker.on_batch(header):
            for record in RecordBatch(segment.batch_bytes(position, info.size)).records():
                if record.key is not None and record.offset >= start:
                    offsets[record.key] = record.offset
        latest = info.last_offset
    return offsets, latest


def _first_key(segment: LogSegment, position: int, size: int) -> bytes | None:
    records = RecordBatch(segment.batch_bytes(position, size)).records()
    return records[0].key if records else None


@attrs.define
class _Context:
    log: UnifiedLog
    offsets: dict[bytes, int]
    latest: int
    now: int
    end_offset: int
    producers: dict[int, tuple[int | None, int]]


def _clean_group(ctx: _Context, group: list[LogSegment]) -> tuple[LogSegment, tuple[int, int]]:
    log = ctx.log
    new = log._create_cleaned_segment(group[0].base_offset)
    tracker = _TxnTracker([])
    before = after = 0
    for i, segment in enumerate(group):
        upper = group[i + 1].base_offset if i + 1 < len(group) else segment.next_offset()
        tracker.add(log.collect_aborted_transactions(segment.base_offset, upper))
        for position, header in segment.headers(0):
            raw = segment.batch_bytes(position, header.batch_length + 12)
            out, counts = _filter_batch(ctx, tracker, header, raw)
            before += counts[0]
            after += counts[1]
            if out is not None:
                out_header = BatchHeader.parse(out)
                last = out_header.base_offset + out_header.last_offset_delta
                new.append([out], [BatchEntry(0, len(out), last, out_header.max_timestamp)])
    for txn in tracker.kept:
        new.append_aborted_txn(txn)
    new.on_become_inactive()
    return new, (before, after)


def _filter_batch(
    ctx: _Context, tracker: _TxnTracker, header: BatchHeader, raw: bytes
) -> tuple[bytes | None, tuple[int, int]]:
    records: list[Record] = RecordBatch(raw).records() if header.records_count else []
    if header.is_control:
        can_discard = tracker.on_control(header, records[0].key if records else None)
        horizon = header.delete_horizon_ms
        discard_records = can_discard and horizon is not None and horizon <= ctx.now
    else:
        can_discard = discard_records = tracker.on_batch(header)
    last_offset = header.base_offset + header.last_offset_delta
    last_of_producer = False
    if header.producer_id >= 0 and header.producer_id in ctx.producers:
        last_data, epoch = ctx.producers[header.producer_id]
        if last_data is not None:
            last_of_producer = last_offset == last_data
        else:
            last_of_producer = header.is_control and header.producer_epoch == epoch
    if last_of_producer or last_offset + 1 == ctx.end_offset:
        retention = "retain_empty"
    elif discard_records:
        retention = "delete"
    else:
        retention = "delete_empty"
    marker_for_empty_txn = can_discard and header.is_control
    if retention == "delete":
        return None, (len(records), 0)
    retained = [r for r in records if _retain(ctx, header, r, discard_records)]
    tombstones = any(r.value is None for r in retained) and not header.is_control
    needs_horizon = (tombstones or marker_for_empty_txn) and header.delete_horizon_ms is None
    counts = (len(records), len(retained))
    if retained and len(retained) == len(records) and not needs_horizon:
        return raw, counts
    if retained:
        horizon = (
            ctx.now + ctx.log.config.delete_retention_ms
            if needs_horizon
            else header.delete_horizon_ms
        )
        level = ctx.log.config.compression_level(header.compression)
        return encode_batch_with_offsets(header, retained, horizon, level), counts
    if retention == "retain_empty":
        return encode_batch_with_offsets(header, [], None, None), counts
    return None, counts


def _retain(ctx: _Context, header: BatchHeader, record: Record, discard: bool) -> bool:
    if discard:
        return False
    if header.is_control or record.offset > ctx.latest:
        return True
    if record.key is None:
        return False
    if record.offset < ctx.offsets.get(record.key, -1):
        return False
    if record.value is not None:
        return True
    horizon = header.delete_horizon_ms
    return horizon is None or ctx.now < horizon


def encode_batch_with_offsets(
    header: BatchHeader,
    records: list[Record],
    delete_horizon: int | None,
    compression_level: int | None,
) -> bytes:
    """Re-encode a stored batch keeping its offsets (gaps allowed), ``lastOffsetDelta``,
    producer fields, epoch and codec; with no records, an empty header-only batch."""
    log_append = bool(header.attributes & _LOG_APPEND_TIME)
    attributes = header.attributes & ~_DELETE_HORIZON
    if not records:
        attributes &= ~_COMPRESSION
        base_ts = max_ts = header.max_timestamp
        body = b""
    else:
        if delete_horizon is not None:
            attributes |= _DELETE_HORIZON
            base_ts = delete_horizon
        else:
            base_ts = records[0].timestamp
        max_ts = header.max_timestamp if log_append else max(r.timestamp for r in records)
        body = b"".join(_encode_record(r, header.base_offset, base_ts) for r in records)
        codec = Compression(header.attributes & _COMPRESSION)
        if codec != Compression.NONE:
            body = compress(codec, body, compression_level)
    tail = _TAIL.pack(
        attributes,
        header.last_offset_delta,
        base_ts,
        max_ts,
        header.producer_id,
        header.producer_epoch,
        header.base_sequence,
        len(records),
    )
    crc = crc32c(body, crc32c(tail))
    prefix = _PREFIX.pack(
        header.base_offset,
        BATCH_HEADER_SIZE - 12 + len(body),
        header.partition_leader_epoch,
        2,
        crc,
    )
    return prefix + tail + body


def _encode_record(record: Record, base_offset: int, base_ts: int) -> bytes:
    parts = [
        b"\x00",
        encode_varlong(record.timestamp - base_ts),
        encode_varint(record.offset - base_offset),
    ]
    for field in (record.key, record.value):
        if field is None:
            parts.append(b"\x01")
        else:
            parts += (encode_varint(len(field)), field)
    parts.append(encode_varint(len(record.headers)))
    for key, value in record.headers:
        raw = key.encode("utf-8")
        parts += (encode_varint(len(raw)), raw)
        if value is None:
            parts.append(b"\x01")
        else:
            parts += (encode_varint(len(value)), value)
    body = b"".join(parts)
    return encode_varint(len(body)) + body

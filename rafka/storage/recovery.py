"""Opening a partition directory: cleanup, segment loading and crash recovery (Kafka's LogLoader).

Steps, in order:

1. Leftovers of interrupted operations: ``*.deleted``, ``*.cleaned`` and ``*.tmp`` files are
   removed; ``*.swap`` files (a compaction that finished writing) replace the segments they
   cover and lose their suffix; index files without a ``.log`` are removed.
2. Every ``<offset>.log`` becomes a segment; its indexes are loaded and checked. A missing or
   malformed index marks the segment for recovery.
3. Recovery starts at the first segment marked, or, after an unclean shutdown (no marker), at
   the segment holding the recovery point. Every batch from there is validated (header, CRC,
   increasing offsets); indexes, the transaction index, leader epochs and producer state are
   rebuilt as it goes. The first invalid batch and everything after it (later segments too) is
   removed: what remains is a valid prefix, and everything flushed before the crash is in it.
4. The log start offset is the larger of its checkpoint and the first segment's base offset;
   the epoch cache is cut to ``[log start, log end]``; producer state comes from the newest
   intact snapshot plus a replay of the batches after it.
"""

from __future__ import annotations

import contextlib
import os
from functools import partial
from typing import TYPE_CHECKING

from rafka.errors import DecodeError
from rafka.protocol.records import BatchHeader
from rafka.storage.append import AppendOrigin, BatchInfo
from rafka.storage.byte_store import FileStore
from rafka.storage.checkpoint import (
    LEADER_EPOCH_CHECKPOINT,
    CheckpointError,
    read_leader_epoch_checkpoint,
)
from rafka.storage.errors import CorruptIndexError
from rafka.storage.offset_index import OffsetIndex
from rafka.storage.producer_append import apply_batch
from rafka.storage.segment import LogSegment
from rafka.storage.time_index import TimeIndex
from rafka.storage.transaction_index import AbortedTxn, TransactionIndex

if TYPE_CHECKING:
    from rafka.storage.disk_log import DiskLog

__all__ = ["load_log"]

_INDEX_SUFFIXES = (".index", ".timeindex", ".txnindex")


def _offset_of(name: str) -> int | None:
    stem = name.split(".", 1)[0]
    return int(stem) if len(stem) == 20 and stem.isdigit() else None


def _remove_leftovers(directory: str) -> None:
    swaps: list[str] = []
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if name.endswith((".deleted", ".cleaned", ".tmp")):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        elif name.endswith(".swap"):
            swaps.append(name)
    if not swaps:
        return
    # Swapped-in segments replace every segment whose base offset lies in their range.
    low, high = None, None
    for name in swaps:
        if not name.endswith(".log.swap"):
            continue
        base = _offset_of(name)
        if base is None:
            continue
        store = FileStore(os.path.join(directory, name), create=False)
        segment = LogSegment(
            store,
            base,
            offset_index=OffsetIndex(base, 1 << 30),
            time_index=TimeIndex(base, 1 << 30),
            txn_index=TransactionIndex(base),
            index_interval_bytes=1 << 30,
            roll_jitter_ms=0,
            created_ms=0,
        )
        try:
            next_offset = max(base + 1, segment.next_offset())
        except DecodeError:
            next_offset = base + 1
        store.close()
        low = base if low is None else min(low, base)
        high = next_offset if high is None else max(high, next_offset)
    if low is not None and high is not None:
        for name in os.listdir(directory):
            offset = _offset_of(name)
            if offset is not None and not name.endswith(".swap") and low <= offset < high:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(directory, name))
    for name in swaps:
        os.replace(os.path.join(directory, name), os.path.join(directory, name[: -len(".swap")]))


def _load_indexes(segment: LogSegment) -> bool:
    """Load and check a segment's indexes; False if the segment needs recovery."""
    try:
        segment.offset_index.load(segment.size)
        if len(segment.offset_index):
            offset, position = segment.offset_index.entry(len(segment.offset_index) - 1)
            found = segment.translate_offset(offset, position)
            if found is None or found[0] != position:
                raise CorruptIndexError("the last index entry does not name a batch")
            header = found[1]
            if header.base_offset + header.last_offset_delta != offset:
                raise CorruptIndexError("the last index entry does not name a batch's last offset")
        segment.time_index.load(segment.next_offset())
        segment.txn_index.load()
        segment.reload_state()
    except (OSError, CorruptIndexError, DecodeError):
        segment.offset_index.reset()
        segment.time_index.reset()
        segment.txn_index.reset()
        return False
    return True


def load_log(
    log: DiskLog, *, recovery_point: int, log_start_offset: int, had_clean_shutdown: bool
) -> None:
    """Load ``log.directory`` into ``log`` (see the module docstring)."""
    directory = log.directory
    _remove_leftovers(directory)
    names = os.listdir(directory)
    logs = {_offset_of(n) for n in names if n.endswith(".log")}
    for name in names:
        if name.endswith(_INDEX_SUFFIXES) and _offset_of(name) not in logs:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(directory, name))
    bad: list[int] = []
    for base in sorted(b for b in logs if b is not None):
        store = FileStore(os.path.join(directory, f"{base:020d}.log"), create=False)
        segment = log.segment_for(store, base)
        if not _load_indexes(segment):
            bad.append(len(log.segments))
        log._add_segment(segment)

    try:
        epochs = read_leader_epoch_checkpoint(os.path.join(directory, LEADER_EPOCH_CHECKPOINT))
    except CheckpointError:
        epochs = []
    for epoch, offset in epochs:
        with contextlib.suppress(ValueError):
            log._epochs.assign(epoch, offset)

    start = len(log.segments)
    if not had_clean_shutdown and log.segments:
        start = max(log._floor_segment_index(recovery_point), 0)
    if bad:
        start = min(start, bad[0])
    log._log_start_offset = log_start_offset
    recovered = start < len(log.segments)
    if recovered:
        _recover_from(log, start)

    if log.segments:
        log._log_end_offset = log.segments[-1].next_offset()
    if not log.segments or log_start_offset > log._log_end_offset:
        log._remove_segments(list(log.segments))
        log._add_segment(log._create_segment(log_start_offset))
        log._log_end_offset = log_start_offset
        log._epochs.clear()
        log._producers.truncate_fully_and_start_at(log_start_offset)
    leo = log._log_end_offset
    log._log_start_offset = max(log_start_offset, log.segments[0].base_offset)
    # Entries past the end describe lost data; one starting exactly at the end is an epoch
    # with no data yet (a new leader's), still true, so it stays (Kafka drops it).
    log._epochs.truncate_from_end(leo + 1)
    log._epochs.truncate_from_start(log._log_start_offset)
    log._loading = False
    log.write_epoch_checkpoint()
    log._loading = True
    log._delete_snapshots_after(leo)
    if not recovered or log._producers.map_end_offset != leo:
        log._rebuild_producer_state(leo)
    if recovered:
        log.take_snapshot(sync=False)
    log._high_watermark = log._log_start_offset
    log._recovery_point = leo if had_clean_shutdown else min(max(recovery_point, 0), leo)


def _recover_from(log: DiskLog, start: int) -> None:
    """Recover ``log.segments[start:]`` in order, removing everything after a bad batch."""
    segments = log.segments
    first = segments[start]
    log._rebuild_producer_state(first.base_offset, segments[:start])
    producers = log._producers
    log_start = log._log_start_offset
    expected = segments[start - 1].next_offset() if start else first.base_offset
    index = start
    while index < len(log.segments):
        segment = log.segments[index]
        segment.offset_index.reset()
        segment.time_index.reset()
        segment.txn_index.reset()

        def visit(position: int, header: BatchHeader, segment: LogSegment = segment) -> None:
            epoch = header.partition_leader_epoch
            latest = log._epochs.latest_epoch
            last = header.base_offset + header.last_offset_delta
            if epoch >= 0 and (latest is None or epoch > latest) and last >= log_start:
                log._epochs.assign(epoch, header.base_offset)
            if header.producer_id >= 0:
                info = producers.prepare_update(header.producer_id, AppendOrigin.REPLICATION)
                batch = BatchInfo.from_header(position, header)
                txn = apply_batch(info, batch, partial(segment.batch_bytes, position, batch.size))
                producers.update(info)
                if txn is not None:
                    if txn.is_aborted:
                        lso = producers.last_stable_offset(txn)
                        segment.append_aborted_txn(
                            AbortedTxn(txn.producer_id, txn.first_offset, txn.last_offset, lso)
                        )
                    producers.complete_txn(txn)
            producers.map_end_offset = last + 1

        try:
            truncated = segment.recover(visit, start_offset=max(expected, segment.base_offset))
        except DecodeError:
            truncated = segment.size
            segment.store.truncate(0)
        expected = segment.next_offset() if segment.size else max(expected, segment.base_offset)
        if truncated:
            later = log.segments[index + 1 :]
            if later:
                log._remove_segments(later)
            break
        index += 1
    producers.map_end_offset = log.segments[-1].next_offset()

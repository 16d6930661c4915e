"""Applying batches to the producer-state table: on append, on replay, on recovery.

:func:`analyze_producer_state` checks an append's batches against the table without changing
it (the log applies the result only once the bytes are written, so a rejected append changes
nothing); :func:`apply_batch` runs the rules of :mod:`producer_state` for one batch, reading the
control record of a transaction marker when there is one; :func:`replay_producer_state` rebuilds
the table from stored batches (after loading a snapshot, truncating, or recovering).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import NamedTuple

from rafka.protocol.records import RecordBatch, parse_control_record
from rafka.storage.append import AppendOrigin, BatchInfo
from rafka.storage.producer_state import CompletedTxn, ProducerAppendInfo, ProducerStateManager
from rafka.storage.segment import LogSegment
from rafka.storage.validator import ValidatedAppend

__all__ = ["Duplicate", "analyze_producer_state", "apply_batch", "replay_producer_state"]

#: Returns the bytes of one batch (only read for transaction markers).
Reader = Callable[[], bytes | bytearray | memoryview]


class Duplicate(NamedTuple):
    """The stored batch a producer's retry duplicates."""

    first_offset: int
    last_offset: int
    timestamp: int


def analyze_producer_state(
    producers: ProducerStateManager, validated: ValidatedAppend, origin: AppendOrigin
) -> tuple[dict[int, ProducerAppendInfo], list[CompletedTxn], Duplicate | None]:
    """Check the batches of an append: the updates to apply, the transactions they close, or
    the batch they duplicate (CLIENT appends only). Raises the producer errors; changes nothing."""
    updates: dict[int, ProducerAppendInfo] = {}
    completed: list[CompletedTxn] = []
    for batch in validated.batches:
        if batch.producer_id < 0:
            continue
        if origin == AppendOrigin.CLIENT:
            entry = producers.last_entry(batch.producer_id)
            if entry is not None:
                found = entry.find_duplicate_batch(
                    batch.producer_epoch, batch.base_sequence, batch.last_sequence
                )
                if found is not None:
                    duplicate = Duplicate(found.first_offset, found.last_offset, found.timestamp)
                    return updates, completed, duplicate
        info = updates.get(batch.producer_id)
        if info is None:
            info = updates[batch.producer_id] = producers.prepare_update(batch.producer_id, origin)
        txn = apply_batch(info, batch, partial(_batch_bytes, validated, batch))
        if txn is not None:
            completed.append(txn)
    return updates, completed, None


def apply_batch(info: ProducerAppendInfo, batch: BatchInfo, read: Reader) -> CompletedTxn | None:
    """Run the producer rules for one batch; the transaction a marker closes, if any."""
    if batch.is_control:
        if not batch.records_count:
            return None  # a marker emptied by the cleaner
        record = RecordBatch(read()).records()[0]
        control = parse_control_record(record)
        if control.end_txn is None:
            return None
        return info.append_end_txn_marker(
            commit=control.end_txn.commit,
            coordinator_epoch=control.end_txn.coordinator_epoch,
            epoch=batch.producer_epoch,
            offset=batch.base_offset,
            timestamp=record.timestamp,
        )
    info.append_data_batch(
        batch.producer_epoch,
        batch.base_sequence,
        batch.last_sequence,
        batch.max_timestamp,
        batch.base_offset,
        batch.last_offset,
        batch.is_transactional,
    )
    return None


def replay_producer_state(
    producers: ProducerStateManager,
    batches: Iterable[tuple[LogSegment, int, BatchInfo]],
    start: int,
    end_offset: int,
) -> None:
    """Apply the stored batches in ``[start, end_offset)`` (as a follower would)."""
    for segment, position, batch in batches:
        if batch.base_offset >= end_offset:
            break
        if batch.base_offset < start:
            continue
        if batch.producer_id >= 0:
            info = producers.prepare_update(batch.producer_id, AppendOrigin.REPLICATION)
            txn = apply_batch(info, batch, partial(segment.batch_bytes, position, batch.size))
            producers.update(info)
            if txn is not None:
                producers.complete_txn(txn)
        producers.map_end_offset = batch.last_offset + 1
    producers.map_end_offset = max(producers.map_end_offset, end_offset)


def _batch_bytes(validated: ValidatedAppend, batch: BatchInfo) -> bytes:
    data = b"".join(validated.parts)
    return data[batch.position : batch.position + batch.size]

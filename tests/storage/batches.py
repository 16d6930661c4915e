"""Record batches for the storage tests, built with the protocol package's encoder."""

from __future__ import annotations

from collections.abc import Sequence

from rafka.protocol.records import (
    Compression,
    RecordBatchBuilder,
    build_end_txn_marker_batch,
    read_batches,
)

Rec = tuple[bytes | None, bytes | None]


def batch(
    records: Sequence[Rec] | int = 1,
    *,
    timestamp: int = 1_000_000,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    transactional: bool = False,
    compression: Compression = Compression.NONE,
    timestamps: Sequence[int] | None = None,
    value_size: int = 8,
) -> bytes:
    """A v2 batch with base offset 0; ``records`` is a count or ``(key, value)`` pairs."""
    if isinstance(records, int):
        records = [(b"k%d" % i, b"v" * value_size) for i in range(records)]
    builder = RecordBatchBuilder(
        compression=compression,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        is_transactional=transactional,
    )
    for i, (key, value) in enumerate(records):
        builder.append(timestamps[i] if timestamps else timestamp + i, key, value)
    return builder.build()


def marker(
    producer_id: int, producer_epoch: int, *, commit: bool, coordinator_epoch: int = 0, ts: int = 0
) -> bytes:
    """A COMMIT or ABORT control batch."""
    return build_end_txn_marker_batch(producer_id, producer_epoch, commit, coordinator_epoch, ts)


def offsets(data: bytes | bytearray | memoryview) -> list[tuple[int, int]]:
    """``(base offset, last offset)`` of every batch in ``data``."""
    return [(b.base_offset, b.last_offset) for b in read_batches(data)]


def records(data: bytes | bytearray | memoryview) -> list[tuple[int, bytes | None, bytes | None]]:
    """``(offset, key, value)`` of every record in ``data``."""
    return [(r.offset, r.key, r.value) for b in read_batches(data) for r in b.records()]

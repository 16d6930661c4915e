"""Consumed records, and turning fetched record batches into them.

A fetch returns whole stored batches; the first may begin before the fetch position (the
offset falls inside it) and is trimmed. Control batches (transaction markers) are skipped; with
``read_committed`` so are batches of aborted transactions, as Kafka's consumer does: a batch of
producer P from offset O on is aborted when the fetch response lists (P, first offset <= O) and
no later commit or abort marker of P has been passed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs

from rafka.protocol.records import ControlRecordType, read_batches
from rafka.protocol.records.control import parse_control_key
from rafka.protocol.records.record import TimestampType

__all__ = ["ConsumerRecord", "records_from_fetch"]

Header = tuple[str, bytes | None]


@attrs.frozen(slots=True)
class ConsumerRecord:
    """One consumed record."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    timestamp_type: TimestampType
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()
    leader_epoch: int | None = None


def records_from_fetch(
    topic: str,
    partition: int,
    data: bytes | bytearray | memoryview,
    position: int,
    aborted: Sequence[tuple[int, int]] | None,
) -> Iterator[ConsumerRecord]:
    """Records at or after ``position`` in fetched ``data``; ``aborted`` for read_committed."""
    aborted_by_producer: dict[int, list[int]] = {}
    for producer_id, first_offset in sorted(aborted or (), key=lambda a: a[1]):
        aborted_by_producer.setdefault(producer_id, []).append(first_offset)
    ongoing_aborts: set[int] = set()
    for batch in read_batches(data):
        header = getattr(batch, "header", None)
        if header is None:  # a legacy (v0/v1) message set
            epoch = None
            is_control = is_transactional = False
            producer_id = -1
            last_offset = batch.last_offset
            timestamp_type = batch.timestamp_type
        else:
            epoch = header.partition_leader_epoch if header.partition_leader_epoch >= 0 else None
            is_control = header.is_control
            is_transactional = header.is_transactional
            producer_id = header.producer_id
            last_offset = header.last_offset
            timestamp_type = header.timestamp_type
        if last_offset < position:
            continue
        if aborted is not None and is_transactional:
            starts = aborted_by_producer.get(producer_id)
            if starts and header is not None and starts[0] <= header.base_offset:
                starts.pop(0)
                ongoing_aborts.add(producer_id)
            if is_control:
                for record in batch.records():
                    kind = parse_control_key(record.key)[1]
                    if kind in (ControlRecordType.ABORT, ControlRecordType.COMMIT):
                        ongoing_aborts.discard(producer_id)
                continue
            if producer_id in ongoing_aborts:
                continue
        if is_control:
            continue
        for record in batch.records():
            if record.offset >= position:
                yield ConsumerRecord(
                    topic,
                    partition,
                    record.offset,
                    record.timestamp,
                    timestamp_type,
                    record.key,
                    record.value,
                    record.headers,
                    epoch,
                )

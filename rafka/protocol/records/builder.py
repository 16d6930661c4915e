"""The tight v2 batch encoder of clients' accumulators (and of the broker when it re-encodes).

Byte layout written per record (see ``default_records.py`` for the whole record grammar):

    length varint | attributes 0 | timestampDelta varlong | offsetDelta varint
    | keyLength varint (-1: null) | key | valueLength varint (-1: null) | value
    | headersCount varint | headers

Appending does no more than table lookups for the varints below 2**13 and one list extend; the
61-byte header (``batch_header.py``) and the CRC-32C are written once, in ``build``. Magic 0/1
builders delegate to ``legacy_records.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rafka.protocol.records._crc import crc32c
from rafka.protocol.records.batch_header import (
    BATCH_HEADER_SIZE,
    CONTROL_MASK,
    HEADER_PREFIX_STRUCT,
    HEADER_TAIL_STRUCT,
    LOG_OVERHEAD,
    TIMESTAMP_TYPE_MASK,
    TRANSACTIONAL_MASK,
)
from rafka.protocol.records.compression import Compression, compress
from rafka.protocol.records.legacy_records import LegacyBatchBuilder
from rafka.protocol.records.record import Header, TimestampType
from rafka.protocol.records.varint import (
    UVARINT_TABLE,
    encode_varint,
    encode_varlong,
)

__all__ = ["RecordBatchBuilder", "encode_batch", "estimate_record_size"]

_NULL = b"\x01"  # zigzag varint -1: a null key or value
_ZERO = b"\x00"  # attributes 0, or zero headers
_TABLE_LIMIT = 8192  # signed values 0 <= n < 8192 have their zigzag varint in UVARINT_TABLE


def _encode_headers(headers: Sequence[Header]) -> bytes:
    parts = [encode_varint(len(headers))]
    for key, value in headers:
        raw_key = key.encode("utf-8")
        parts.append(encode_varint(len(raw_key)))
        parts.append(raw_key)
        if value is None:
            parts.append(_NULL)
        else:
            parts.append(encode_varint(len(value)))
            parts.append(value)
    return b"".join(parts)


def _length_size(n: int) -> int:
    """Bytes of the zigzag varint of a length ``n >= 0`` (an upper bound past 2^20)."""
    return 1 if n < 64 else 2 if n < 8192 else 3 if n < 1048576 else 5


def estimate_record_size(
    key: bytes | None, value: bytes | None, headers: Sequence[Header] = ()
) -> int:
    """Upper bound of the encoded size of one record with these contents (v2)."""
    size = 21  # length (5) + attributes (1) + timestamp delta (10) + offset delta (5)
    if key is None:
        size += 1
    else:
        n = len(key)
        size += n + _length_size(n)
    if value is None:
        size += 1
    else:
        n = len(value)
        size += n + _length_size(n)
    if headers:
        size += len(_encode_headers(headers))
    else:
        size += 1
    return size


class RecordBatchBuilder:
    """Accumulates records and encodes them as one batch (magic 2, or legacy 0/1).

    ``append`` keeps references to ``key`` and ``value``: do not mutate them before ``build``.
    Under ``LOG_APPEND_TIME``, ``log_append_time`` (when given) becomes ``max_timestamp``, as the
    broker would set it; records keep their own timestamps in the encoding.
    """

    __slots__ = (
        "_attributes",
        "_base_offset",
        "_base_sequence",
        "_base_timestamp",
        "_compression",
        "_compression_level",
        "_count",
        "_legacy",
        "_log_append_time",
        "_max_timestamp",
        "_partition_leader_epoch",
        "_parts",
        "_producer_epoch",
        "_producer_id",
        "_size",
        "_timestamp_type",
    )

    def __init__(
        self,
        *,
        compression: Compression = Compression.NONE,
        timestamp_type: TimestampType = TimestampType.CREATE_TIME,
        base_offset: int = 0,
        producer_id: int = -1,
        producer_epoch: int = -1,
        base_sequence: int = -1,
        is_transactional: bool = False,
        is_control: bool = False,
        partition_leader_epoch: int = -1,
        compression_level: int | None = None,
        magic: int = 2,
        log_append_time: int | None = None,
    ) -> None:
        compression = Compression(compression)
        timestamp_type = TimestampType(timestamp_type)
        self._legacy: LegacyBatchBuilder | None = None
        if magic in (0, 1):
            if is_transactional or is_control or producer_id != -1 or base_sequence != -1:
                raise ValueError("magic v0/v1 message sets have no producer state or control")
            self._legacy = LegacyBatchBuilder(
                magic=magic,
                compression=compression,
                timestamp_type=timestamp_type,
                base_offset=base_offset,
                compression_level=compression_level,
                log_append_time=log_append_time,
            )
        elif magic != 2:
            raise ValueError(f"unsupported magic {magic}")
        if timestamp_type == TimestampType.NO_TIMESTAMP_TYPE and magic == 2:
            raise ValueError("a v2 batch needs CREATE_TIME or LOG_APPEND_TIME")
        if is_transactional and producer_id < 0:
            raise ValueError("a transactional batch needs a producer id")
        attributes = int(compression)
        if timestamp_type == TimestampType.LOG_APPEND_TIME:
            attributes |= TIMESTAMP_TYPE_MASK
        if is_transactional:
            attributes |= TRANSACTIONAL_MASK
        if is_control:
            attributes |= CONTROL_MASK
        self._attributes = attributes
        self._compression = compression
        self._compression_level = compression_level
        self._timestamp_type = timestamp_type
        self._log_append_time = log_append_time
        self._base_offset = base_offset
        self._producer_id = producer_id
        self._producer_epoch = producer_epoch
        self._base_sequence = base_sequence
        self._partition_leader_epoch = partition_leader_epoch
        self._parts: list[bytes] = []
        self._count = 0
        self._size = 0
        self._base_timestamp = -1
        self._max_timestamp = -1

    def append(
        self,
        timestamp: int,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header] = (),
    ) -> int:
        """Add a record; return its offset delta (0 for the first record)."""
        if self._legacy is not None:
            return self._legacy.append(timestamp, key, value, headers)
        delta = self._count
        if delta:
            timestamp_delta = timestamp - self._base_timestamp
            if timestamp > self._max_timestamp:
                self._max_timestamp = timestamp
        else:
            self._base_timestamp = self._max_timestamp = timestamp
            timestamp_delta = 0
        table = UVARINT_TABLE
        if 0 <= timestamp_delta < _TABLE_LIMIT:
            ts_bytes = table[timestamp_delta << 1]
        else:
            ts_bytes = encode_varlong(timestamp_delta)
        delta_bytes = table[delta << 1] if delta < _TABLE_LIMIT else encode_varint(delta)
        size = 1 + len(ts_bytes) + len(delta_bytes)
        if key is None:
            key_prefix = _NULL
            key = b""
            size += 1
        else:
            length = len(key)
            key_prefix = table[length << 1] if length < _TABLE_LIMIT else encode_varint(length)
            size += len(key_prefix) + length
        if value is None:
            value_prefix = _NULL
            value = b""
            size += 1
        else:
            length = len(value)
            value_prefix = table[length << 1] if length < _TABLE_LIMIT else encode_varint(length)
            size += len(value_prefix) + length
        header_bytes = _encode_headers(headers) if headers else _ZERO
        size += len(header_bytes)
        size_prefix = table[size << 1] if size < _TABLE_LIMIT else encode_varint(size)
        self._parts += (
            size_prefix,
            _ZERO,
            ts_bytes,
            delta_bytes,
            key_prefix,
            key,
            value_prefix,
            value,
            header_bytes,
        )
        self._size += size + len(size_prefix)
        self._count = delta + 1
        return delta

    def set_producer_state(
        self, producer_id: int, producer_epoch: int, base_sequence: int, transactional: bool
    ) -> None:
        """Stamp the idempotent/transactional producer state before :meth:`build`.

        Producers assign sequence numbers when a batch is first sent, not when it is opened.
        """
        if self._legacy is not None:
            raise ValueError("magic v0/v1 message sets have no producer state")
        self._producer_id = producer_id
        self._producer_epoch = producer_epoch
        self._base_sequence = base_sequence
        if transactional:
            self._attributes |= TRANSACTIONAL_MASK
        else:
            self._attributes &= ~TRANSACTIONAL_MASK

    def estimated_size(self) -> int:
        """Bytes of the batch so far, before compression (an upper bound for the usual codecs)."""
        if self._legacy is not None:
            return self._legacy.estimated_size()
        return BATCH_HEADER_SIZE + self._size

    def __len__(self) -> int:
        """Number of records appended."""
        if self._legacy is not None:
            return len(self._legacy)
        return self._count

    def build(self) -> bytes:
        """Encode the batch, header and CRC included; ``b""`` when no record was appended."""
        if self._legacy is not None:
            return self._legacy.build()
        count = self._count
        if not count:
            return b""
        records = b"".join(self._parts)
        if self._compression != Compression.NONE:
            records = compress(self._compression, records, self._compression_level)
        max_timestamp = self._max_timestamp
        if (
            self._timestamp_type == TimestampType.LOG_APPEND_TIME
            and self._log_append_time is not None
        ):
            max_timestamp = self._log_append_time
        tail = HEADER_TAIL_STRUCT.pack(
            self._attributes,
            count - 1,
            self._base_timestamp,
            max_timestamp,
            self._producer_id,
            self._producer_epoch,
            self._base_sequence,
            count,
        )
        crc = crc32c(records, crc32c(tail))
        prefix = HEADER_PREFIX_STRUCT.pack(
            self._base_offset,
            BATCH_HEADER_SIZE - LOG_OVERHEAD + len(records),
            self._partition_leader_epoch,
            2,
            crc,
        )
        return b"".join((prefix, tail, records))


def encode_batch(
    records: Iterable[tuple[int, bytes | None, bytes | None, Sequence[Header]]],
    *,
    compression: Compression = Compression.NONE,
    timestamp_type: TimestampType = TimestampType.CREATE_TIME,
    base_offset: int = 0,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    is_transactional: bool = False,
    is_control: bool = False,
    partition_leader_epoch: int = -1,
    compression_level: int | None = None,
    magic: int = 2,
    log_append_time: int | None = None,
) -> bytes:
    """Encode ``(timestamp, key, value, headers)`` tuples as one batch (see the builder)."""
    builder = RecordBatchBuilder(
        compression=compression,
        timestamp_type=timestamp_type,
        base_offset=base_offset,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        is_transactional=is_transactional,
        is_control=is_control,
        partition_leader_epoch=partition_leader_epoch,
        compression_level=compression_level,
        magic=magic,
        log_append_time=log_append_time,
    )
    append = builder.append
    for timestamp, key, value, headers in records:
        append(timestamp, key, value, headers)
    return builder.build()

"""The v2 record batch header, and in-place edits of stored batches: the broker's hot path.

Byte layout of a v2 batch (big-endian, 61-byte header):

    offset size field
    0      8    baseOffset            int64   offset of the first record (assigned by the leader)
    8      4    batchLength           int32   bytes after this field (size_in_bytes - 12)
    12     4    partitionLeaderEpoch  int32   set by the leader; outside the CRC
    16     1    magic                 int8    2
    17     4    crc                   uint32  CRC-32C of bytes 21 .. end of batch
    21     2    attributes            int16   bits 0-2 compression codec, 3 timestamp type
                                              (1 = log append time), 4 transactional, 5 control,
                                              6 baseTimestamp holds the delete horizon
    23     4    lastOffsetDelta       int32
    27     8    baseTimestamp         int64   timestamp of the first record
    35     8    maxTimestamp          int64   largest timestamp (the log append time under it)
    43     8    producerId            int64   -1 when not idempotent
    51     2    producerEpoch         int16
    53     4    baseSequence          int32   -1 when not idempotent
    57     4    recordsCount          int32
    61     ...  records               (the whole section compressed unless codec 0)

Legacy message sets (magic 0 and 1) share the first 17 bytes' shape: offset int64, size int32,
crc uint32, magic int8. That is how :func:`iter_batch_positions` walks a mix of both; the legacy
layout itself is in :mod:`rafka.protocol.records.legacy_records`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import NamedTuple

from rafka.errors._base import DecodeError
from rafka.protocol.records._crc import crc32c
from rafka.protocol.records.compression import Compression
from rafka.protocol.records.errors import CorruptRecordError
from rafka.protocol.records.record import TimestampType

__all__ = [
    "BATCH_HEADER_SIZE",
    "LOG_OVERHEAD",
    "BatchHeader",
    "compute_crc",
    "increment_sequence",
    "iter_batch_positions",
    "patch_base_offset",
    "patch_partition_leader_epoch",
    "set_log_append_time",
    "set_max_timestamp",
    "verify_crc",
]

#: Size of the v2 batch header; also the smallest v2 batch.
BATCH_HEADER_SIZE = 61
#: The offset and size fields before every batch or legacy message (Kafka's LOG_OVERHEAD).
LOG_OVERHEAD = 12

HEADER_STRUCT = struct.Struct(">qiibIhiqqqhii")
#: attributes .. recordsCount, the CRC-covered part of the header.
HEADER_TAIL_STRUCT = struct.Struct(">hiqqqhii")
#: baseOffset, batchLength, partitionLeaderEpoch, magic, crc: what precedes the CRC'd part.
HEADER_PREFIX_STRUCT = struct.Struct(">qiibI")

CRC_OFFSET = 17
ATTRIBUTES_OFFSET = 21
MAX_TIMESTAMP_OFFSET = 35

COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_MASK = 0x08
TRANSACTIONAL_MASK = 0x10
CONTROL_MASK = 0x20
DELETE_HORIZON_MASK = 0x40

_INT32_MAX = (1 << 31) - 1
_SIZE_MAGIC = struct.Struct(">i4xb")
_INT64 = struct.Struct(">q")
_INT32 = struct.Struct(">i")
_UINT32 = struct.Struct(">I")
_ATTRS = struct.Struct(">h")
_LEGACY_ATTRS_TS = struct.Struct(">Bq")
# Smallest legal value of the size field per magic: 14 (v0 message), 22 (v1), 49 (v2 header).
_MIN_SIZE = (14, 22, BATCH_HEADER_SIZE - LOG_OVERHEAD)
_CODECS = tuple(Compression)


def increment_sequence(sequence: int, increment: int) -> int:
    """Add to a producer sequence number, wrapping past 2**31 - 1 to 0 as Kafka does."""
    if sequence > _INT32_MAX - increment:
        return increment - (_INT32_MAX - sequence) - 1
    return sequence + increment


class BatchHeader(NamedTuple):
    """The 61-byte header of a v2 batch as plain ints; parse with :meth:`parse`."""

    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview, pos: int = 0) -> BatchHeader:
        """Read the header of the v2 batch at ``pos`` (one ``struct.unpack_from``).

        Raises :class:`DecodeError` when fewer than 61 bytes remain, the magic is not 2, or the
        length field is smaller than a header. It does not check the CRC (:func:`verify_crc`).
        """
        if pos < 0:
            raise ValueError(f"negative position {pos}")
        try:
            fields = HEADER_STRUCT.unpack_from(buf, pos)
        except struct.error:
            raise DecodeError(
                f"record batch header needs {BATCH_HEADER_SIZE} bytes, "
                f"{max(0, len(buf) - pos)} remain"
            ) from None
        if fields[3] != 2:
            raise DecodeError(f"expected a magic v2 record batch, found magic {fields[3]}")
        if fields[1] < BATCH_HEADER_SIZE - LOG_OVERHEAD:
            raise CorruptRecordError(f"record batch length {fields[1]} is smaller than a header")
        return cls._make(fields)

    @property
    def compression(self) -> Compression:
        """The codec of the records section; :class:`CorruptRecordError` for ids 5-7."""
        codec = self.attributes & COMPRESSION_MASK
        if codec >= len(_CODECS):
            raise CorruptRecordError(f"unknown compression codec id {codec}")
        return _CODECS[codec]

    @property
    def timestamp_type(self) -> TimestampType:
        """CREATE_TIME or LOG_APPEND_TIME (attribute bit 3)."""
        if self.attributes & TIMESTAMP_TYPE_MASK:
            return TimestampType.LOG_APPEND_TIME
        return TimestampType.CREATE_TIME

    @property
    def is_transactional(self) -> bool:
        """Whether the batch belongs to a transaction (attribute bit 4)."""
        return bool(self.attributes & TRANSACTIONAL_MASK)

    @property
    def is_control(self) -> bool:
        """Whether the batch holds control records such as transaction markers (bit 5)."""
        return bool(self.attributes & CONTROL_MASK)

    @property
    def has_delete_horizon(self) -> bool:
        """Whether ``base_timestamp`` holds the compaction delete horizon (bit 6)."""
        return bool(self.attributes & DELETE_HORIZON_MASK)

    @property
    def delete_horizon_ms(self) -> int | None:
        """The delete horizon set by the log cleaner, or None."""
        return self.base_timestamp if self.attributes & DELETE_HORIZON_MASK else None

    @property
    def has_producer_id(self) -> bool:
        """Whether the batch was written by an idempotent or transactional producer."""
        return self.producer_id >= 0

    @property
    def last_offset(self) -> int:
        """Offset of the last record: ``base_offset + last_offset_delta``."""
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        """The offset after this batch."""
        return self.base_offset + self.last_offset_delta + 1

    @property
    def size_in_bytes(self) -> int:
        """Size of the whole batch: ``batch_length + 12``."""
        return self.batch_length + LOG_OVERHEAD

    @property
    def last_sequence(self) -> int:
        """Sequence number of the last record (-1 without a producer sequence)."""
        if self.base_sequence == -1:
            return -1
        return increment_sequence(self.base_sequence, self.last_offset_delta)


def iter_batch_positions(
    buf: bytes | bytearray | memoryview, pos: int = 0
) -> Iterator[tuple[int, int, int]]:
    """Yield ``(start, size_in_bytes, magic)`` of every whole batch in a concatenation.

    Works on any mix of magic 0, 1 (one legacy message, possibly a compressed wrapper, per entry)
    and 2. A trailing partial batch is skipped silently, as fetch responses may end with one; a
    length field too small for any batch, or an unknown magic, raises
    :class:`CorruptRecordError`.
    """
    if pos < 0:
        raise ValueError(f"negative position {pos}")
    end = len(buf)
    unpack = _SIZE_MAGIC.unpack_from
    while end - pos >= CRC_OFFSET:
        size, magic = unpack(buf, pos + 8)
        if size < _MIN_SIZE[0]:
            raise CorruptRecordError(f"record size {size} at position {pos} is below 14")
        total = size + LOG_OVERHEAD
        if end - pos < total:
            return
        if not 0 <= magic <= 2:
            raise CorruptRecordError(f"unknown magic {magic} at position {pos}")
        if size < _MIN_SIZE[magic]:
            raise CorruptRecordError(
                f"size {size} at position {pos} is too small for a magic v{magic} entry"
            )
        yield pos, total, magic
        pos += total


def _extent(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    """Return ``(magic, end)`` of the whole batch at ``pos``, checking that it fits in ``buf``."""
    if pos < 0 or len(buf) - pos < CRC_OFFSET:
        raise DecodeError(f"no record batch header at position {pos}")
    size, magic = _SIZE_MAGIC.unpack_from(buf, pos + 8)
    if not 0 <= magic <= 2:
        raise CorruptRecordError(f"unknown magic {magic} at position {pos}")
    if size < _MIN_SIZE[magic]:
        raise CorruptRecordError(f"size {size} is too small for a magic v{magic} entry")
    end = pos + LOG_OVERHEAD + size
    if end > len(buf):
        raise DecodeError(f"batch of {size + LOG_OVERHEAD} bytes is truncated")
    return magic, end


def compute_crc(buf: bytes | bytearray | memoryview, pos: int = 0) -> int:
    """The CRC the batch at ``pos`` should carry: CRC-32C (v2) or CRC-32 (v0/v1)."""
    magic, end = _extent(buf, pos)
    view = memoryview(buf)
    if magic == 2:
        return crc32c(view[pos + ATTRIBUTES_OFFSET : end])
    return zlib.crc32(view[pos + 16 : end])


def verify_crc(buf: bytes | bytearray | memoryview, pos: int = 0) -> None:
    """Check the CRC of the batch (or legacy message) at ``pos``.

    Raises :class:`CorruptRecordError` on a mismatch, :class:`DecodeError` if it is truncated.
    """
    computed = compute_crc(buf, pos)
    (stored,) = _UINT32.unpack_from(buf, pos + (CRC_OFFSET if buf[pos + 16] == 2 else 12))
    if stored != computed:
        raise CorruptRecordError(
            f"record batch at position {pos} is corrupt "
            f"(stored crc = {stored}, computed crc = {computed})"
        )


def patch_base_offset(buf: bytearray | memoryview, pos: int, base_offset: int) -> None:
    """Overwrite the base offset of the batch at ``pos`` (outside the CRC: no CRC change).

    For a legacy entry this writes its offset field, which is the offset of its last message.
    """
    try:
        _INT64.pack_into(buf, pos, base_offset)
    except struct.error:
        raise DecodeError(f"no record batch header at position {pos}") from None


def patch_partition_leader_epoch(buf: bytearray | memoryview, pos: int, epoch: int) -> None:
    """Overwrite the partition leader epoch of the v2 batch at ``pos`` (outside the CRC)."""
    if len(buf) - pos < BATCH_HEADER_SIZE or buf[pos + 16] != 2:
        raise DecodeError(f"no magic v2 record batch header at position {pos}")
    _INT32.pack_into(buf, pos + 12, epoch)


def set_max_timestamp(
    buf: bytearray | memoryview,
    pos: int,
    timestamp: int,
    timestamp_type: TimestampType = TimestampType.LOG_APPEND_TIME,
) -> None:
    """Set the timestamp type and max timestamp of the batch at ``pos``; recompute its CRC.

    What Kafka's leader does after validating a produced batch: under LOG_APPEND_TIME with its
    clock, under CREATE_TIME with the largest record timestamp (see ``walk_records``). A v2
    batch that already carries both is left untouched. Magic v1: sets the entry's timestamp
    and timestamp type bit (for a compressed wrapper the inner messages follow it under
    LOG_APPEND_TIME). Magic v0 has no timestamps: :class:`ValueError`.
    """
    magic, end = _extent(buf, pos)
    view = memoryview(buf)
    type_bit = TIMESTAMP_TYPE_MASK if timestamp_type == TimestampType.LOG_APPEND_TIME else 0
    if magic == 2:
        (attributes,) = _ATTRS.unpack_from(buf, pos + ATTRIBUTES_OFFSET)
        (current,) = _INT64.unpack_from(buf, pos + MAX_TIMESTAMP_OFFSET)
        new_attributes = (attributes & ~TIMESTAMP_TYPE_MASK) | type_bit
        if new_attributes == attributes and current == timestamp:
            return
        _ATTRS.pack_into(buf, pos + ATTRIBUTES_OFFSET, new_attributes)
        _INT64.pack_into(buf, pos + MAX_TIMESTAMP_OFFSET, timestamp)
        _UINT32.pack_into(buf, pos + CRC_OFFSET, crc32c(view[pos + ATTRIBUTES_OFFSET : end]))
    elif magic == 1:
        attributes = (buf[pos + 17] & ~TIMESTAMP_TYPE_MASK) | type_bit
        _LEGACY_ATTRS_TS.pack_into(buf, pos + 17, attributes, timestamp)
        _UINT32.pack_into(buf, pos + 12, zlib.crc32(view[pos + 16 : end]))
    else:
        raise ValueError("magic v0 messages have no timestamp to set")


def set_log_append_time(buf: bytearray | memoryview, pos: int, timestamp: int) -> None:
    """Stamp the batch at ``pos`` with the broker's append time and recompute its CRC.

    Readers then report ``timestamp`` for every record. See :func:`set_max_timestamp`.
    """
    set_max_timestamp(buf, pos, timestamp, TimestampType.LOG_APPEND_TIME)

"""Magic v0 and v1 message sets (the formats before Kafka 0.11): decode and encode.

Byte layout of one entry of a message set (big-endian):

    offset       int64   absolute offset; for a compressed wrapper, that of its last message
    size         int32   bytes after this field
    crc          uint32  CRC-32 (zlib) of magic .. end
    magic        int8    0 or 1
    attributes   int8    bits 0-2 codec (0-3; zstd needs v2), bit 3 timestamp type (v1 only)
    timestamp    int64   v1 only
    keyLength    int32   -1 for a null key
    key          bytes
    valueLength  int32   -1 for a null value
    value        bytes

A compressed entry (a "wrapper") has a null key; its value is a compressed message set of
uncompressed entries of the same magic. Inner offsets: magic 0 stores absolute offsets; magic 1
stores 0..n-1 and the absolute offset is ``wrapper offset - last inner offset + inner offset``.
Under LOG_APPEND_TIME a v1 wrapper's timestamp is the timestamp of every message inside.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence

from rafka.errors._base import DecodeError
from rafka.protocol.records.compression import Compression, compress, decompress
from rafka.protocol.records.errors import CorruptRecordError, InvalidRecordError
from rafka.protocol.records.record import Header, Record, TimestampType

__all__ = ["LegacyBatch", "LegacyBatchBuilder", "LegacyRecordTuple", "encode_legacy"]

#: ``(timestamp, key, value)``, optionally followed by headers (which must be empty).
LegacyRecordTuple = (
    tuple[int, bytes | None, bytes | None]
    | tuple[int, bytes | None, bytes | None, Sequence[Header]]
)

_ENTRY_HEAD = struct.Struct(">qiIbB")  # offset, size, crc, magic, attributes
_OFFSET_SIZE_CRC = struct.Struct(">qiI")
_MAGIC_ATTRS = struct.Struct(">bB")
_INT64 = struct.Struct(">q")
_INT32 = struct.Struct(">i")
_TIMESTAMP_TYPE_MASK = 0x08
_KEY_LENGTH_AT = (18, 26)  # position of keyLength within an entry, by magic
_MIN_SIZE = (14, 22)  # smallest size field, by magic
_CODECS = (Compression.NONE, Compression.GZIP, Compression.SNAPPY, Compression.LZ4)
_NULL_LENGTH = b"\xff\xff\xff\xff"


class _Entry:
    """One message of a message set, with its fields split out."""

    __slots__ = ("attributes", "crc", "end", "key", "magic", "offset", "timestamp", "value")

    offset: int
    crc: int
    magic: int
    attributes: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    end: int

    def __init__(self, data: bytes, pos: int, limit: int) -> None:
        if limit - pos < 12 + _MIN_SIZE[0]:
            raise DecodeError(f"truncated legacy message at position {pos}")
        offset, size, crc, magic, attributes = _ENTRY_HEAD.unpack_from(data, pos)
        if magic not in (0, 1):
            raise CorruptRecordError(f"expected a magic v0/v1 message, found magic {magic}")
        if size < _MIN_SIZE[magic]:
            raise CorruptRecordError(f"legacy message size {size} is below the minimum")
        end = pos + 12 + size
        if end > limit:
            raise DecodeError(f"legacy message of {size + 12} bytes is truncated")
        at = pos + _KEY_LENGTH_AT[magic]
        timestamp = _INT64.unpack_from(data, pos + 18)[0] if magic else -1
        (length,) = _INT32.unpack_from(data, at)
        at += 4
        key = None
        if length >= 0:
            if length > end - at - 4:
                raise InvalidRecordError("legacy message key overruns the message")
            key = data[at : at + length]
            at += length
        (length,) = _INT32.unpack_from(data, at)
        at += 4
        value = None
        if length >= 0:
            if length != end - at:
                raise InvalidRecordError("legacy message value does not fill the message")
            value = data[at:end]
        elif at != end:
            raise InvalidRecordError("bytes remain after a legacy message's null value")
        self.offset = offset
        self.crc = crc
        self.magic = magic
        self.attributes = attributes
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.end = end

    def check_crc(self, data: bytes, pos: int) -> None:
        computed = zlib.crc32(memoryview(data)[pos + 16 : self.end])
        if computed != self.crc:
            raise CorruptRecordError(
                f"legacy message is corrupt (stored crc = {self.crc}, computed crc = {computed})"
            )


class LegacyBatch:
    """One top-level entry of a v0/v1 message set: a message, or a compressed wrapper of many.

    Offers the same reading surface as :class:`RecordBatch`; producer fields read as -1.
    """

    __slots__ = ("_entry", "_raw")

    def __init__(self, buf: bytes | bytearray | memoryview, pos: int = 0) -> None:
        """Read the entry at ``pos``; :class:`DecodeError` if it is malformed or truncated."""
        if pos < 0 or len(buf) - pos < 17:
            raise DecodeError(f"no legacy message at position {pos}")
        (size,) = _INT32.unpack_from(buf, pos + 8)
        if size < 0 or pos + 12 + size > len(buf):
            raise DecodeError("legacy message is truncated")
        raw = bytes(memoryview(buf)[pos : pos + 12 + size])
        self._raw = raw
        self._entry = _Entry(raw, 0, len(raw))

    def __repr__(self) -> str:
        e = self._entry
        return (
            f"LegacyBatch(offset={e.offset}, magic={e.magic}, "
            f"compression={self.compression.name}, size={len(self._raw)})"
        )

    @property
    def raw(self) -> bytes:
        """The entry's bytes."""
        return self._raw

    @property
    def magic(self) -> int:
        """0 or 1."""
        return self._entry.magic

    @property
    def offset(self) -> int:
        """The entry's offset field (for a wrapper, the offset of its last message)."""
        return self._entry.offset

    @property
    def attributes(self) -> int:
        """The attributes byte."""
        return self._entry.attributes

    @property
    def crc(self) -> int:
        """The stored CRC-32."""
        return self._entry.crc

    @property
    def key(self) -> bytes | None:
        """The entry's own key (None for a wrapper)."""
        return self._entry.key

    @property
    def value(self) -> bytes | None:
        """The entry's own value (for a wrapper, the compressed inner message set)."""
        return self._entry.value

    @property
    def timestamp(self) -> int:
        """The entry's timestamp (-1 for magic 0)."""
        return self._entry.timestamp

    @property
    def compression(self) -> Compression:
        """The codec of the wrapper's value; :class:`CorruptRecordError` for unknown ids."""
        codec = self._entry.attributes & 0x07
        if codec >= len(_CODECS):
            raise CorruptRecordError(f"invalid compression codec id {codec} for magic < 2")
        return _CODECS[codec]

    @property
    def timestamp_type(self) -> TimestampType:
        """NO_TIMESTAMP_TYPE for magic 0, else CREATE_TIME or LOG_APPEND_TIME."""
        if self._entry.magic == 0:
            return TimestampType.NO_TIMESTAMP_TYPE
        if self._entry.attributes & _TIMESTAMP_TYPE_MASK:
            return TimestampType.LOG_APPEND_TIME
        return TimestampType.CREATE_TIME

    @property
    def max_timestamp(self) -> int:
        """The entry's timestamp (a v1 wrapper carries its messages' largest or append time)."""
        return self._entry.timestamp

    @property
    def base_offset(self) -> int:
        """Offset of the first message (decompresses a wrapper)."""
        if not self._entry.attributes & 0x07:
            return self._entry.offset
        return self.records()[0].offset

    @property
    def last_offset(self) -> int:
        """Offset of the last message."""
        return self._entry.offset

    @property
    def next_offset(self) -> int:
        """Offset after the last message."""
        return self._entry.offset + 1

    @property
    def records_count(self) -> int:
        """Number of messages (decompresses a wrapper)."""
        if not self._entry.attributes & 0x07:
            return 1
        return len(self.records())

    @property
    def size_in_bytes(self) -> int:
        """Size of the whole entry."""
        return len(self._raw)

    is_transactional = False
    is_control = False
    producer_id = -1
    producer_epoch = -1
    base_sequence = -1
    last_sequence = -1
    partition_leader_epoch = -1

    def verify_crc(self) -> None:
        """Raise :class:`CorruptRecordError` if the stored CRC-32 does not match."""
        self._entry.check_crc(self._raw, 0)

    def records(self, max_decompressed_size: int | None = None) -> list[Record]:
        """The messages of this entry: itself, or a wrapper's inner messages (CRC-checked)."""
        wrapper = self._entry
        codec = self.compression
        if codec == Compression.NONE:
            return [Record(wrapper.offset, wrapper.timestamp, wrapper.key, wrapper.value)]
        if wrapper.value is None:
            raise InvalidRecordError("compressed legacy wrapper has a null value")
        data = decompress(codec, wrapper.value, max_decompressed_size, magic=wrapper.magic)
        inner: list[_Entry] = []
        pos = 0
        while pos < len(data):
            entry = _Entry(data, pos, len(data))
            entry.check_crc(data, pos)
            if entry.magic != wrapper.magic:
                raise InvalidRecordError(
                    f"inner message magic {entry.magic} differs from wrapper magic {wrapper.magic}"
                )
            if entry.attributes & 0x07:
                raise InvalidRecordError("inner legacy messages must not be compressed")
            inner.append(entry)
            pos = entry.end
        if not inner:
            raise InvalidRecordError("compressed legacy wrapper holds no messages")
        shift = wrapper.offset - inner[-1].offset if wrapper.magic else 0
        log_append = wrapper.magic == 1 and wrapper.attributes & _TIMESTAMP_TYPE_MASK
        return [
            Record(
                shift + e.offset,
                wrapper.timestamp if log_append else e.timestamp,
                e.key,
                e.value,
            )
            for e in inner
        ]

    def __iter__(self) -> Iterator[Record]:
        """Iterate over :meth:`records`."""
        return iter(self.records())


def _encode_message(
    magic: int, attributes: int, timestamp: int, key: bytes | None, value: bytes | None, offset: int
) -> bytes:
    parts = [_MAGIC_ATTRS.pack(magic, attributes)]
    if magic:
        parts.append(_INT64.pack(timestamp))
    for field in (key, value):
        if field is None:
            parts.append(_NULL_LENGTH)
        else:
            parts.append(_INT32.pack(len(field)))
            parts.append(bytes(field))
    body = b"".join(parts)
    return _OFFSET_SIZE_CRC.pack(offset, len(body) + 4, zlib.crc32(body)) + body


class LegacyBatchBuilder:
    """Builds a v0/v1 message set: plain messages, or one compressed wrapper holding them."""

    __slots__ = (
        "_base_offset",
        "_compression",
        "_compression_level",
        "_log_append_time",
        "_magic",
        "_records",
        "_size",
        "_timestamp_type",
    )

    def __init__(
        self,
        *,
        magic: int,
        compression: Compression = Compression.NONE,
        timestamp_type: TimestampType = TimestampType.CREATE_TIME,
        base_offset: int = 0,
        compression_level: int | None = None,
        log_append_time: int | None = None,
    ) -> None:
        if magic not in (0, 1):
            raise ValueError(f"legacy message sets have magic 0 or 1, not {magic}")
        compression = Compression(compression)
        if compression == Compression.ZSTD:
            raise ValueError("zstd compression needs magic v2")
        timestamp_type = TimestampType(timestamp_type)
        if magic == 0 and timestamp_type == TimestampType.LOG_APPEND_TIME:
            raise ValueError("magic v0 messages have no timestamp")
        if magic == 1 and timestamp_type == TimestampType.NO_TIMESTAMP_TYPE:
            raise ValueError("magic v1 messages need CREATE_TIME or LOG_APPEND_TIME")
        self._magic = magic
        self._compression = compression
        self._timestamp_type = timestamp_type
        self._base_offset = base_offset
        self._compression_level = compression_level
        self._log_append_time = log_append_time
        self._records: list[tuple[int, bytes | None, bytes | None]] = []
        self._size = 0

    def append(
        self,
        timestamp: int,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header] = (),
    ) -> int:
        """Add a message; return its offset delta. Headers need magic v2."""
        if headers:
            raise ValueError("magic v0/v1 messages cannot carry headers")
        delta = len(self._records)
        self._records.append((timestamp, key, value))
        self._size += (
            12 + _MIN_SIZE[self._magic] + (len(key) if key else 0) + (len(value) if value else 0)
        )
        return delta

    def estimated_size(self) -> int:
        """Bytes of the message set so far, before compression."""
        return self._size + (12 + _MIN_SIZE[self._magic] if self._compression else 0)

    def __len__(self) -> int:
        """Number of messages appended."""
        return len(self._records)

    def build(self) -> bytes:
        """Encode the message set; ``b""`` when no message was appended."""
        records = self._records
        if not records:
            return b""
        magic = self._magic
        log_append = self._timestamp_type == TimestampType.LOG_APPEND_TIME
        type_bit = _TIMESTAMP_TYPE_MASK if log_append else 0
        if log_append and self._log_append_time is not None:
            records = [(self._log_append_time, k, v) for _, k, v in records]
        base = self._base_offset
        if self._compression == Compression.NONE:
            return b"".join(
                _encode_message(magic, type_bit, ts, k, v, base + i)
                for i, (ts, k, v) in enumerate(records)
            )
        first_inner = 0 if magic else base  # v1 inner offsets are relative
        inner = b"".join(
            _encode_message(magic, type_bit, ts, k, v, first_inner + i)
            for i, (ts, k, v) in enumerate(records)
        )
        payload = compress(self._compression, inner, self._compression_level, magic=magic)
        wrapper_ts = max(ts for ts, _, _ in records)
        return _encode_message(
            magic,
            int(self._compression) | type_bit,
            wrapper_ts,
            None,
            payload,
            base + len(records) - 1,
        )


def encode_legacy(
    records: Iterable[LegacyRecordTuple],
    magic: int,
    compression: Compression = Compression.NONE,
    base_offset: int = 0,
    *,
    timestamp_type: TimestampType = TimestampType.CREATE_TIME,
    log_append_time: int | None = None,
    compression_level: int | None = None,
) -> bytes:
    """Encode ``(timestamp, key, value[, headers])`` tuples as a v0/v1 message set."""
    builder = LegacyBatchBuilder(
        magic=magic,
        compression=compression,
        timestamp_type=timestamp_type,
        base_offset=base_offset,
        compression_level=compression_level,
        log_append_time=log_append_time,
    )
    for record in records:
        builder.append(record[0], record[1], record[2], record[3] if len(record) > 3 else ())
    return builder.build()

"""Magic v2 record batches: the lazy decoder (the encoder is in ``builder.py``).

Byte layout of a record inside a v2 batch (the header is in ``batch_header.py``):

    length          varint    bytes after this field
    attributes      int8      unused, 0
    timestampDelta  varlong   timestamp - baseTimestamp
    offsetDelta     varint    offset - baseOffset (0, 1, 2, ... in a well-formed batch)
    keyLength       varint    -1 for a null key
    key             bytes
    valueLength     varint    -1 for a null value
    value           bytes
    headersCount    varint
    headers         headersCount x [keyLength varint, key UTF-8,
                                    valueLength varint (-1 for null), value]

When the batch's codec is not NONE, the whole records section (everything after the 61-byte
header) is one compressed payload; ``recordsCount`` still counts the records inside.
"""

from __future__ import annotations

from collections.abc import Iterator

from rafka.errors._base import DecodeError
from rafka.protocol.records.batch_header import (
    BATCH_HEADER_SIZE,
    COMPRESSION_MASK,
    LOG_OVERHEAD,
    TIMESTAMP_TYPE_MASK,
    BatchHeader,
    verify_crc,
)
from rafka.protocol.records.builder import RecordBatchBuilder, encode_batch, estimate_record_size
from rafka.protocol.records.compression import Compression, decompress
from rafka.protocol.records.errors import InvalidRecordError
from rafka.protocol.records.record import Header, Record, TimestampType
from rafka.protocol.records.varint import (
    ZIGZAG_ONE_BYTE,
    decode_varint,
    decode_varlong,
)

__all__ = [
    "MIN_RECORD_SIZE",
    "RecordBatch",
    "RecordBatchBuilder",  # re-exported from builder.py: v2 encode and decode from one place
    "decode_records",
    "encode_batch",
    "estimate_record_size",
]

#: Smallest encoded record: length, attributes, deltas, key/value lengths and header count.
MIN_RECORD_SIZE = 7


def _decode_headers(data: bytes, pos: int, end: int) -> tuple[tuple[Header, ...], int]:
    count, pos = decode_varint(data, pos)
    if count < 0:
        raise InvalidRecordError(f"invalid record header count {count}")
    if count > (end - pos) >> 1:  # a header takes at least two bytes
        raise InvalidRecordError(f"record header count {count} overruns the record")
    headers: list[Header] = []
    for _ in range(count):
        length, pos = decode_varint(data, pos)
        if length < 0:
            raise InvalidRecordError("invalid null record header key")
        key_end = pos + length
        if key_end > end:
            raise InvalidRecordError("record header key overruns the record")
        key = data[pos:key_end].decode("utf-8", "replace")  # Java decodes leniently too
        length, pos = decode_varint(data, key_end)
        if length < 0:
            headers.append((key, None))
        else:
            value_end = pos + length
            if value_end > end:
                raise InvalidRecordError("record header value overruns the record")
            headers.append((key, data[pos:value_end]))
            pos = value_end
    return tuple(headers), pos


# Record is frozen: its __init__ sets each slot through object.__setattr__, a third of the cost
# of decoding a record. The decoder writes the slots through their descriptors instead.
_RECORD_SETTERS = tuple(
    getattr(Record, name).__set__ for name in ("offset", "timestamp", "key", "value", "headers")
)


def decode_records(
    data: bytes,
    pos: int,
    end: int,
    count: int,
    base_offset: int,
    base_timestamp: int,
    log_append_time: int | None = None,
) -> list[Record]:
    """Decode ``count`` records from ``data[pos:end]``, an uncompressed records section.

    Raises :class:`InvalidRecordError` unless the records fill the section exactly.
    """
    if count < 0:
        raise InvalidRecordError(f"invalid record count {count}")
    if count * MIN_RECORD_SIZE > end - pos:
        raise InvalidRecordError(f"record count {count} cannot fit in {end - pos} bytes")
    # Under LOG_APPEND_TIME every record reads the append time: base it there, ignore deltas.
    delta_factor = 1
    if log_append_time is not None:
        base_timestamp = log_append_time
        delta_factor = 0
    zigzag = ZIGZAG_ONE_BYTE
    new = object.__new__
    set_offset, set_timestamp, set_key, set_value, set_headers = _RECORD_SETTERS
    out: list[Record] = []
    append = out.append
    try:
        for _ in range(count):
            # Each varint: one byte inline, two bytes inline, longer ones by function.
            byte = data[pos]
            if byte < 0x80:
                length = zigzag[byte]
                pos += 1
            elif (following := data[pos + 1]) < 0x80:
                raw = (byte & 0x7F) | (following << 7)
                length = (raw >> 1) ^ -(raw & 1)
                pos += 2
            else:
                length, pos = decode_varint(data, pos)
            record_end = pos + length
            if length < 6 or record_end > end:
                raise InvalidRecordError(f"invalid record length {length}")
            byte = data[pos + 1]  # after the unused attributes byte
            if byte < 0x80:
                timestamp_delta = zigzag[byte]
                pos += 2
            elif (following := data[pos + 2]) < 0x80:
                raw = (byte & 0x7F) | (following << 7)
                timestamp_delta = (raw >> 1) ^ -(raw & 1)
                pos += 3
            else:
                timestamp_delta, pos = decode_varlong(data, pos + 1)
            byte = data[pos]
            if byte < 0x80:
                offset_delta = zigzag[byte]
                pos += 1
            elif (following := data[pos + 1]) < 0x80:
                raw = (byte & 0x7F) | (following << 7)
                offset_delta = (raw >> 1) ^ -(raw & 1)
                pos += 2
            else:
                offset_delta, pos = decode_varint(data, pos)
            byte = data[pos]
            if byte < 0x80:
                length = zigzag[byte]
                pos += 1
            else:
                length, pos = decode_varint(data, pos)
            if length < 0:
                key = None
            else:
                key = data[pos : pos + length]
                pos += length
            byte = data[pos]
            if byte < 0x80:
                length = zigzag[byte]
                pos += 1
            elif (following := data[pos + 1]) < 0x80:
                raw = (byte & 0x7F) | (following << 7)
                length = (raw >> 1) ^ -(raw & 1)
                pos += 2
            else:
                length, pos = decode_varint(data, pos)
            if length < 0:
                value = None
            else:
                value = data[pos : pos + length]
                pos += length
            if data[pos] == 0 and pos + 1 == record_end:  # no headers: the usual case
                headers: tuple[Header, ...] = ()
                pos = record_end
            else:
                headers, pos = _decode_headers(data, pos, record_end)
                if pos != record_end:
                    raise InvalidRecordError("record fields do not fill the record's length")
            record = new(Record)
            set_offset(record, base_offset + offset_delta)
            set_timestamp(record, base_timestamp + timestamp_delta * delta_factor)
            set_key(record, key)
            set_value(record, value)
            set_headers(record, headers)
            append(record)
    except IndexError:
        raise InvalidRecordError("record overruns the batch") from None
    except DecodeError as exc:
        if isinstance(exc, InvalidRecordError):
            raise
        raise InvalidRecordError(str(exc)) from None
    if pos != end:
        raise InvalidRecordError(f"{end - pos} bytes remain after the last record")
    return out


class RecordBatch:
    """A v2 batch read from a buffer; records are decompressed and decoded on demand."""

    __slots__ = ("_buf", "_pos", "header")

    header: BatchHeader

    def __init__(self, buf: bytes | bytearray | memoryview, pos: int = 0) -> None:
        """View the batch at ``pos``; :class:`DecodeError` if its header is bad or truncated."""
        header = BatchHeader.parse(buf, pos)
        if pos + header.batch_length + LOG_OVERHEAD > len(buf):
            raise DecodeError(f"record batch of {header.size_in_bytes} bytes is truncated")
        self.header = header
        self._buf = buf
        self._pos = pos

    def __repr__(self) -> str:
        h = self.header
        return (
            f"RecordBatch(base_offset={h.base_offset}, records={h.records_count}, "
            f"compression={self.compression.name}, size={h.size_in_bytes})"
        )

    @property
    def raw(self) -> memoryview:
        """The batch's bytes (a view of the buffer it was read from)."""
        return memoryview(self._buf)[self._pos : self._pos + self.header.size_in_bytes]

    def verify_crc(self) -> None:
        """Raise :class:`CorruptRecordError` if the stored CRC does not match."""
        verify_crc(self._buf, self._pos)

    def records(self, max_decompressed_size: int | None = None) -> list[Record]:
        """Decompress (bounded by ``max_decompressed_size``) and decode every record."""
        h = self.header
        start = self._pos + BATCH_HEADER_SIZE
        end = self._pos + h.batch_length + LOG_OVERHEAD
        codec = h.attributes & COMPRESSION_MASK
        buf = self._buf
        if codec:
            data = decompress(h.compression, memoryview(buf)[start:end], max_decompressed_size)
            start, end = 0, len(data)
        elif type(buf) is bytes:
            data = buf
        else:
            data = bytes(memoryview(buf)[start:end])
            start, end = 0, len(data)
        return decode_records(
            data,
            start,
            end,
            h.records_count,
            h.base_offset,
            h.base_timestamp,
            h.max_timestamp if h.attributes & TIMESTAMP_TYPE_MASK else None,
        )

    def __iter__(self) -> Iterator[Record]:
        """Iterate over the decoded records."""
        return iter(self.records())

    # Mirrors of the header, named like LegacyBatch's so either kind reads the same.

    @property
    def magic(self) -> int:
        """Always 2."""
        return 2

    @property
    def base_offset(self) -> int:
        """Offset of the first record."""
        return self.header.base_offset

    @property
    def last_offset(self) -> int:
        """Offset of the last record."""
        return self.header.last_offset

    @property
    def next_offset(self) -> int:
        """Offset after the last record."""
        return self.header.next_offset

    @property
    def records_count(self) -> int:
        """Number of records, as the header says."""
        return self.header.records_count

    @property
    def size_in_bytes(self) -> int:
        """Size of the whole batch."""
        return self.header.size_in_bytes

    @property
    def compression(self) -> Compression:
        """Codec of the records section."""
        return self.header.compression

    @property
    def timestamp_type(self) -> TimestampType:
        """CREATE_TIME or LOG_APPEND_TIME."""
        return self.header.timestamp_type

    @property
    def base_timestamp(self) -> int:
        """Timestamp the record deltas are relative to."""
        return self.header.base_timestamp

    @property
    def max_timestamp(self) -> int:
        """Largest record timestamp, or the log append time."""
        return self.header.max_timestamp

    @property
    def is_transactional(self) -> bool:
        """Whether the batch is part of a transaction."""
        return self.header.is_transactional

    @property
    def is_control(self) -> bool:
        """Whether the batch holds control records."""
        return self.header.is_control

    @property
    def producer_id(self) -> int:
        """Producer id, -1 if none."""
        return self.header.producer_id

    @property
    def producer_epoch(self) -> int:
        """Producer epoch, -1 if none."""
        return self.header.producer_epoch

    @property
    def base_sequence(self) -> int:
        """Sequence of the first record, -1 if none."""
        return self.header.base_sequence

    @property
    def last_sequence(self) -> int:
        """Sequence of the last record, -1 if none."""
        return self.header.last_sequence

    @property
    def partition_leader_epoch(self) -> int:
        """Leader epoch stamped by the partition leader."""
        return self.header.partition_leader_epoch

    @property
    def crc(self) -> int:
        """The stored CRC-32C."""
        return self.header.crc

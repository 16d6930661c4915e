"""Structural validation of a v2 batch's records without decoding them: the produce path.

What is walked (the record layout is in ``default_records.py``):

    for record i in 0 .. recordsCount-1:
        length          varint    must be >= 6 and end inside the records section
        attributes      int8      skipped
        timestampDelta  varlong   read: min / max timestamp
        offsetDelta     varint    read: must equal i
        keyLength       varint    low bit read: zigzag values are odd exactly when negative
        ...                       skipped by ``length`` (read too when ``full=True``)
    the records must end exactly at the end of the section.

The header must also agree with itself: ``recordsCount == lastOffsetDelta + 1`` for a batch with
records. A compressed batch is decompressed (bounded) and the payload walked the same way.
"""

from __future__ import annotations

import attrs

from rafka.errors._base import DecodeError
from rafka.protocol.records.batch_header import (
    BATCH_HEADER_SIZE,
    COMPRESSION_MASK,
    LOG_OVERHEAD,
    BatchHeader,
)
from rafka.protocol.records.compression import decompress
from rafka.protocol.records.errors import InvalidRecordError
from rafka.protocol.records.varint import (
    ZIGZAG_ONE_BYTE,
    Buffer,
    decode_varint,
    decode_varlong,
)

__all__ = ["WalkResult", "walk_records"]

_MIN_BODY = 6  # attributes, timestamp delta, offset delta, key length, value length, headers


@attrs.frozen(slots=True)
class WalkResult:
    """What the walk learned about a batch's records.

    Timestamps are ``baseTimestamp + timestampDelta`` of the records as written (-1 when the
    batch has no records), whatever the batch's timestamp type.
    """

    count: int
    min_timestamp: int
    max_timestamp: int
    has_null_key: bool


def walk_records(
    buf: Buffer,
    pos: int = 0,
    *,
    full: bool = False,
    max_decompressed_size: int | None = None,
) -> WalkResult:
    """Validate the structure of the v2 batch at ``pos`` and summarise its records.

    Checks that offset deltas are 0..n-1, that the number of records matches ``records_count``
    and ``last_offset_delta``, and that the record lengths fill the records section exactly.
    With ``full=True`` it also checks that each record's key, value and headers fill its length
    exactly, as a full decode would. The CRC is not checked here (see ``verify_crc``).

    Raises :class:`InvalidRecordError` on a violation, another :class:`DecodeError` when the
    batch is truncated or cannot be decompressed.
    """
    header = BatchHeader.parse(buf, pos)
    end = pos + header.batch_length + LOG_OVERHEAD
    if end > len(buf):
        raise DecodeError(f"record batch of {header.size_in_bytes} bytes is truncated")
    count = header.records_count
    if count < 0:
        raise InvalidRecordError(f"invalid record count {count}")
    if count and header.last_offset_delta != count - 1:
        raise InvalidRecordError(
            f"record count {count} does not match last offset delta {header.last_offset_delta}"
        )
    start = pos + BATCH_HEADER_SIZE
    data: Buffer = buf
    if header.attributes & COMPRESSION_MASK:
        data = decompress(header.compression, memoryview(buf)[start:end], max_decompressed_size)
        start, end = 0, len(data)
    if count * (_MIN_BODY + 1) > end - start:
        raise InvalidRecordError(f"record count {count} cannot fit in {end - start} bytes")
    try:
        if full:
            min_delta, max_delta, null_key = _walk_full(data, start, end, count)
        else:
            min_delta, max_delta, null_key = _walk(data, start, end, count)
    except IndexError:
        raise InvalidRecordError("record overruns the batch") from None
    except InvalidRecordError:
        raise
    except DecodeError as exc:  # a malformed varint
        raise InvalidRecordError(str(exc)) from None
    if not count:
        return WalkResult(0, -1, -1, False)
    base = header.base_timestamp
    return WalkResult(count, base + min_delta, base + max_delta, null_key)


def _walk(data: Buffer, pos: int, end: int, count: int) -> tuple[int, int, bool]:
    zigzag = ZIGZAG_ONE_BYTE
    min_delta = 1 << 64
    max_delta = -(1 << 64)
    null_key = False
    for index in range(count):
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
        if length < _MIN_BODY or record_end > end:
            raise InvalidRecordError(f"invalid length {length} of record {index}")
        byte = data[pos + 1]  # after the attributes byte
        if byte < 0x80:
            delta = zigzag[byte]
            pos += 2
        elif (following := data[pos + 2]) < 0x80:
            raw = (byte & 0x7F) | (following << 7)
            delta = (raw >> 1) ^ -(raw & 1)
            pos += 3
        else:
            delta, pos = decode_varlong(data, pos + 1)
        if delta > max_delta:
            max_delta = delta
        if delta < min_delta:
            min_delta = delta
        byte = data[pos]
        if byte < 0x80:
            delta = zigzag[byte]
            pos += 1
        elif (following := data[pos + 1]) < 0x80:
            raw = (byte & 0x7F) | (following << 7)
            delta = (raw >> 1) ^ -(raw & 1)
            pos += 2
        else:
            delta, pos = decode_varint(data, pos)
        if delta != index:
            raise InvalidRecordError(f"record {index} has offset delta {delta}")
        if pos >= record_end:
            raise InvalidRecordError(f"record {index} is shorter than its fields")
        if data[pos] & 1:  # a negative key length: a null key
            null_key = True
        pos = record_end
    if pos != end:
        raise InvalidRecordError(f"{end - pos} bytes remain after the last record")
    return min_delta, max_delta, null_key


def _walk_full(data: Buffer, pos: int, end: int, count: int) -> tuple[int, int, bool]:
    zigzag = ZIGZAG_ONE_BYTE
    min_delta = 1 << 64
    max_delta = -(1 << 64)
    null_key = False
    for index in range(count):
        byte = data[pos]
        if byte < 0x80:
            length = zigzag[byte]
            pos += 1
        else:
            length, pos = decode_varint(data, pos)
        record_end = pos + length
        if length < _MIN_BODY or record_end > end:
            raise InvalidRecordError(f"invalid length {length} of record {index}")
        byte = data[pos + 1]  # after the attributes byte
        if byte < 0x80:
            delta = zigzag[byte]
            pos += 2
        else:
            delta, pos = decode_varlong(data, pos + 1)
        if delta > max_delta:
            max_delta = delta
        if delta < min_delta:
            min_delta = delta
        byte = data[pos]
        if byte < 0x80:
            delta = zigzag[byte]
            pos += 1
        else:
            delta, pos = decode_varint(data, pos)
        if delta != index:
            raise InvalidRecordError(f"record {index} has offset delta {delta}")
        byte = data[pos]  # key length
        if byte < 0x80:
            length = zigzag[byte]
            pos += 1
        else:
            length, pos = decode_varint(data, pos)
        if length < 0:
            null_key = True
        else:
            pos += length
        if pos >= record_end:
            raise InvalidRecordError(f"record {index} key overruns the record")
        byte = data[pos]  # value length
        if byte < 0x80:
            length = zigzag[byte]
            pos += 1
        else:
            length, pos = decode_varint(data, pos)
        if length > 0:
            pos += length
        if pos >= record_end:
            raise InvalidRecordError(f"record {index} value overruns the record")
        if data[pos] == 0:  # no headers
            pos += 1
        else:
            pos = _skip_headers(data, pos, record_end, index)
        if pos != record_end:
            raise InvalidRecordError(f"record {index} fields do not fill its length")
    if pos != end:
        raise InvalidRecordError(f"{end - pos} bytes remain after the last record")
    return min_delta, max_delta, null_key


def _skip_headers(data: Buffer, pos: int, record_end: int, index: int) -> int:
    headers, pos = decode_varint(data, pos)
    if headers < 0 or headers > (record_end - pos) >> 1:
        raise InvalidRecordError(f"invalid header count {headers} in record {index}")
    for _ in range(headers):
        length, pos = decode_varint(data, pos)
        if length < 0:
            raise InvalidRecordError(f"null header key in record {index}")
        length, pos = decode_varint(data, pos + length)
        if length > 0:
            pos += length
        if pos > record_end:
            raise InvalidRecordError(f"record {index} header overruns the record")
    return pos

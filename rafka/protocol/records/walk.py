"""Structural validation of a v2 batch's records without decoding them: the produce path.

What is walked (the record layout is in ``default_records.py``):

    for record i in 0 .. recordsCount-1:
        length          varint    must be >= 6 and end inside the records section
        attributes      int8      skipped
        timestampDelta  varlong   read: min / max timestamp
        offsetDelta     varint    read: must equal i (unless the caller accepts any delta)
        keyLength       varint    low bit read: zigzag values are odd exactly when negative
        ...                       skipped by ``length`` (read too when ``full=True``)
    the records must end exactly at the end of the section.

The header must also agree with itself: ``recordsCount == lastOffsetDelta + 1`` for a batch with
records. A compressed batch is decompressed (bounded) and the payload walked the same way.
"""

from __future__ import annotations

import functools
import sys

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
    check_offset_deltas: bool = True,
) -> WalkResult:
    """Validate the structure of the v2 batch at ``pos`` and summarise its records.

    Checks that offset deltas are 0..n-1 (with ``check_offset_deltas=False`` any value is
    accepted, as Kafka does for an uncompressed batch), that the number of records matches
    ``records_count`` and ``last_offset_delta``, and that the record lengths fill the records
    section exactly.
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
        check = check_offset_deltas
        if full:
            min_delta, max_delta, null_key = _walk_full(data, start, end, count, check)
        else:
            min_delta, max_delta, null_key = _walk(data, start, end, count, check)
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


def _walk(data: Buffer, pos: int, end: int, count: int, check: bool) -> tuple[int, int, bool]:
    """The default walk: runs of equal-size records column-wise, anything else record by record."""
    min_delta = 1 << 64
    max_delta = -(1 << 64)
    null_key = False
    index = misses = 0
    while index < count:
        run = _equal_size_run(data, pos, end, index, count, check) if misses < _MAX_MISSES else None
        if run is not None:
            misses = 0
            n, size, low, high, nulls = run
            index, pos = index + n, pos + n * size
        else:  # a few records one by one, or all the rest after repeated misses
            misses += 1
            stop = count if misses >= _MAX_MISSES else min(count, index + _MIN_RUN)
            pos, low, high, nulls = _walk_records(data, pos, end, index, stop, check)
            index = stop
        min_delta = min(min_delta, low)
        max_delta = max(max_delta, high)
        null_key = null_key or nulls
    if pos != end:
        raise InvalidRecordError(f"{end - pos} bytes remain after the last record")
    return min_delta, max_delta, null_key


# -- equal-size runs --------------------------------------------------------------------------
#
# Producers often send records of one size: fixed-size values and keys, timestamps within 64 ms
# (one-byte deltas) or within 8 s (two bytes). Records of equal encoded size S that also share the
# widths of their timestamp and offset deltas sit at a fixed stride, so each field of n records
# is one strided slice (``data[a:b:S]``), checked in C: the length bytes must all equal the first
# record's, the offset deltas must equal the precomputed encodings of index..index+n-1, the
# timestamp deltas give min and max through a translation table, and the key lengths' low bits
# say whether a key is null. A run that fails a check is retried shorter, and after repeated
# misses the rest of the batch is walked record by record -- the answer (result or error) is
# the same either way; the record loop is the reference (tests compare the two).

#: Shortest run worth checking column-wise; also how many records the loop walks after a miss.
_MIN_RUN = 16
#: Misses in a row after which the batch is not one of equal-size runs: walk the rest per record.
_MAX_MISSES = 3
#: One-byte zigzag varints (bytes below 0x80) -> value + 64 (0..127), which orders as values do.
_TS_ONE_BYTE = bytes([(b >> 1 ^ -(b & 1)) + 64 for b in range(0x80)] + [0] * 0x80)
#: First byte of a two-byte varint of an even (non-negative zigzag) value: 1, anything else: 0.
_TS_TWO_BYTE_FIRST = bytes(1 if b >= 0x80 and not b & 1 else 0 for b in range(0x100))
#: Low bit of each byte (a zigzag varint is negative exactly when its first byte is odd).
_LOW_BIT = bytes(b & 1 for b in range(0x100))
#: Top bit of each byte (a varint continues after a byte that has it).
_TOP_BIT = bytes(b >> 7 for b in range(0x100))
#: Offset deltas 0..63 (one byte each) and 64..8191 (two bytes: the two columns).
_OFFSET_DELTAS_1 = bytes(range(0, 0x80, 2))
_OFFSET_DELTAS_2_LOW = bytes(range(0x80, 0x100, 2)) * 127
_OFFSET_DELTAS_2_HIGH = b"".join(bytes((high,)) * 64 for high in range(1, 0x80))
_LITTLE_ENDIAN = sys.byteorder == "little"
#: Each byte with its top bit set (the guard of ``_ascending``).
_GUARD_BIT = bytes(b | 0x80 for b in range(0x100))


def _equal_size_run(
    data: Buffer, pos: int, end: int, index: int, count: int, check: bool
) -> tuple[int, int, int, int, bool] | None:
    """``(n, size, min delta, max delta, null key)`` of the equal-size run at ``pos``, or None.

    None also when the record at ``pos`` is malformed: the record loop then reports it.
    ``check``: offset deltas must be the records' indexes; else only their widths must agree.
    """
    first = data[pos]
    if first < 0x80:
        length_width = 1
        length = ZIGZAG_ONE_BYTE[first]
    else:
        try:
            length, after = decode_varint(data, pos)
        except DecodeError:
            return None
        length_width = after - pos
    size = length_width + length
    if length < _MIN_BODY or pos + size > end:
        return None
    ts_at = length_width + 1
    ts_width = 1 if data[pos + ts_at] < 0x80 else 2
    if not check:  # any delta, of the first record's width (one or two bytes)
        offset_at = pos + ts_at + ts_width
        if offset_at + 1 >= end:
            return None
        offset_width = 1 if data[offset_at] < 0x80 else 2 if data[offset_at + 1] < 0x80 else 0
        if not offset_width:
            return None
        # deltas that are the indexes (as producers write them) change width at 64 and 8192
        if index < 64 and offset_width == 1:
            limit = 64
        elif index < 8192 and offset_width == 2:
            limit = 8192
        else:
            limit = count
    elif index < 64:
        offset_width, limit = 1, 64
    elif index < 8192:
        offset_width, limit = 2, 8192
    else:
        return None
    key_at = ts_at + ts_width + offset_width
    if key_at >= size:
        return None
    n = min(count, limit) - index
    n = min(n, (end - pos) // size)
    while n >= _MIN_RUN:
        stop = pos + n * size
        found = _check_run(
            data, pos, stop, size, n, index, length_width, ts_at, ts_width, key_at, check
        )
        if found is not None:
            return (n, size, *found)
        n >>= 1
    return None


def _check_run(
    data: Buffer,
    pos: int,
    stop: int,
    size: int,
    n: int,
    index: int,
    length_width: int,
    ts_at: int,
    ts_width: int,
    key_at: int,
    check: bool,
) -> tuple[int, int, bool] | None:
    def column(at: int) -> bytes:
        return bytes(data[pos + at : stop : size])

    for at in range(length_width):
        if column(at) != bytes((data[pos + at],)) * n:
            return None
    offset_at = ts_at + ts_width
    if not check:  # every delta as wide as the first: the key lengths line up
        if key_at - offset_at == 1:
            if not column(offset_at).isascii():
                return None
        elif 0 in column(offset_at).translate(_TOP_BIT) or not column(offset_at + 1).isascii():
            return None
    elif index < 64:
        if column(offset_at) != _OFFSET_DELTAS_1[index : index + n]:
            return None
    elif (
        column(offset_at) != _OFFSET_DELTAS_2_LOW[index - 64 : index - 64 + n]
        or column(offset_at + 1) != _OFFSET_DELTAS_2_HIGH[index - 64 : index - 64 + n]
    ):
        return None
    if ts_width == 1:
        raw_deltas = column(ts_at)
        if not raw_deltas.isascii():
            return None
        deltas = raw_deltas.translate(_TS_ONE_BYTE)
        if _ascending(deltas):
            low_delta, high_delta = deltas[0] - 64, deltas[-1] - 64
        else:
            low_delta, high_delta = min(deltas) - 64, max(deltas) - 64
    else:
        low_bytes, high_bytes = column(ts_at), column(ts_at + 1)
        if 0 in low_bytes.translate(_TS_TWO_BYTE_FIRST) or not high_bytes.isascii():
            return None
        # a non-negative two-byte delta orders as (high byte, low byte) does
        if _ascending(high_bytes, low_bytes):
            low_delta = _two_byte_delta(low_bytes[0], high_bytes[0])
            high_delta = _two_byte_delta(low_bytes[-1], high_bytes[-1])
        else:
            pairs = bytearray(2 * n)  # native uint16s ordered as the deltas are
            pairs[0 if _LITTLE_ENDIAN else 1 :: 2] = low_bytes
            pairs[1 if _LITTLE_ENDIAN else 0 :: 2] = high_bytes
            values = memoryview(pairs).cast("H")
            low_pair, high_pair = min(values), max(values)
            low_delta = _two_byte_delta(low_pair & 0xFF, low_pair >> 8)
            high_delta = _two_byte_delta(high_pair & 0xFF, high_pair >> 8)
    null_key = 1 in column(key_at).translate(_LOW_BIT)
    return low_delta, high_delta, null_key


def _two_byte_delta(low: int, high: int) -> int:
    return ((high << 7) | (low & 0x7F)) >> 1


def _ascending(high: bytes, low: bytes | None = None) -> bool:
    """Whether the keys ``high[i]`` (or ``(high[i], low[i])``) never decrease; ``high`` < 0x80.

    One big-integer subtraction compares all neighbours at once: key i >= 1 sits in a field of
    one number with the field's top bit set as a guard (``high`` never uses that bit), key i-1
    in the same field of the other; ``guard + key_i - key_(i-1)`` stays inside its field (no
    borrow crosses) and keeps the guard bit exactly when ``key_i >= key_(i-1)``.
    """
    later: bytes | bytearray
    earlier: bytes | bytearray
    if low is None:
        later, earlier, width = high[1:].translate(_GUARD_BIT), high[:-1], 1
    else:
        later = bytearray(2 * (len(high) - 1))
        earlier = bytearray(len(later))
        later[0::2] = high[1:].translate(_GUARD_BIT)
        later[1::2] = low[1:]
        earlier[0::2] = high[:-1]
        earlier[1::2] = low[:-1]
        width = 2
    guards = _guards(width, len(high) - 1)
    difference = int.from_bytes(later, "big") - int.from_bytes(earlier, "big")
    return difference & guards == guards


@functools.lru_cache(maxsize=64)
def _guards(width: int, fields: int) -> int:
    """``fields`` fields of ``width`` bytes, each with only its top bit set."""
    return int.from_bytes((b"\x80" + bytes(width - 1)) * fields, "big")


def _walk_records(
    data: Buffer, pos: int, end: int, first: int, stop: int, check: bool
) -> tuple[int, int, int, bool]:
    """Walk records ``first..stop-1`` from ``pos`` one by one: ``(next pos, min, max, null)``;
    ``check``: each offset delta must be its record's index."""
    zigzag = ZIGZAG_ONE_BYTE
    min_delta = 1 << 64
    max_delta = -(1 << 64)
    null_key = False
    for index in range(first, stop):
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
        if check and delta != index:
            raise InvalidRecordError(f"record {index} has offset delta {delta}")
        if pos >= record_end:
            raise InvalidRecordError(f"record {index} is shorter than its fields")
        if data[pos] & 1:  # a negative key length: a null key
            null_key = True
        pos = record_end
    return pos, min_delta, max_delta, null_key


def _walk_full(data: Buffer, pos: int, end: int, count: int, check: bool) -> tuple[int, int, bool]:
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
        if check and delta != index:
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

"""Varints and zigzag varints, the integer encodings of the v2 record format.

Byte layout:

    unsigned varint   7 bits per byte, least significant group first; every byte but the last
                      has its high bit (0x80) set. int32 values take 1-5 bytes, int64 1-10.
    varint / varlong  a signed int32 / int64 mapped by zigzag, n -> (n << 1) ^ (n >> 63), so that
                      small magnitudes of either sign stay short (0->0, -1->1, 1->2, -2->3, ...),
                      then written as an unsigned varint.

Encoders answer from a precomputed table of the encodings of every unsigned value below 2**14
(every 1- and 2-byte varint) and fall back to a loop above. Decoders take ``(buffer, position)``
and return ``(value, next_position)``; the hot loops in this package inline the one-byte case.
"""

from __future__ import annotations

from rafka.errors._base import DecodeError

__all__ = [
    "UVARINT_TABLE",
    "UVARINT_TABLE_LIMIT",
    "ZIGZAG_ONE_BYTE",
    "Buffer",
    "decode_unsigned_varint",
    "decode_varint",
    "decode_varlong",
    "encode_unsigned_varint",
    "encode_varint",
    "encode_varlong",
    "size_of_unsigned_varint",
    "size_of_varint",
]

#: Anything the decoders index into: they read single bytes as ints.
Buffer = bytes | bytearray | memoryview

#: Values below this have their unsigned varint encoding in :data:`UVARINT_TABLE`.
UVARINT_TABLE_LIMIT = 1 << 14

#: ``UVARINT_TABLE[u]`` is the unsigned varint encoding of ``u`` for ``0 <= u < 2**14``.
_ONE_BYTE = [bytes((u,)) for u in range(0x80)]
_LOW_GROUP = [bytes((u | 0x80,)) for u in range(0x80)]
UVARINT_TABLE: list[bytes] = _ONE_BYTE + [
    low + high for high in _ONE_BYTE[1:] for low in _LOW_GROUP
]

#: ``ZIGZAG_ONE_BYTE[b]`` is the signed value of the one-byte zigzag varint ``b`` (``b < 0x80``).
ZIGZAG_ONE_BYTE: tuple[int, ...] = tuple((b >> 1) ^ -(b & 1) for b in range(0x80))

_INT32_MIN = -(1 << 31)
_INT32_MAX = (1 << 31) - 1
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def encode_unsigned_varint(value: int) -> bytes:
    """Encode a non-negative integer as an unsigned varint."""
    if value < UVARINT_TABLE_LIMIT:
        if value < 0:
            raise ValueError(f"unsigned varint cannot encode {value}")
        return UVARINT_TABLE[value]
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_varint(value: int) -> bytes:
    """Encode a signed int32 as a zigzag varint (1-5 bytes)."""
    if not _INT32_MIN <= value <= _INT32_MAX:
        raise ValueError(f"varint out of int32 range: {value}")
    return encode_unsigned_varint((value << 1) ^ (value >> 63))


def encode_varlong(value: int) -> bytes:
    """Encode a signed int64 as a zigzag varlong (1-10 bytes)."""
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError(f"varlong out of int64 range: {value}")
    return encode_unsigned_varint((value << 1) ^ (value >> 63))


def size_of_unsigned_varint(value: int) -> int:
    """Number of bytes of the unsigned varint encoding of ``value`` (>= 0)."""
    size = 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size


def size_of_varint(value: int) -> int:
    """Number of bytes of the zigzag varint (or varlong) encoding of ``value``."""
    return size_of_unsigned_varint((value << 1) ^ (value >> 63))


def _decode_unsigned(buf: Buffer, pos: int, max_bytes: int) -> tuple[int, int]:
    try:
        byte = buf[pos]
        if byte < 0x80:
            return byte, pos + 1
        result = byte & 0x7F
        shift = 7
        end = pos + max_bytes
        pos += 1
        while True:
            if pos >= end:
                raise DecodeError(f"varint longer than {max_bytes} bytes")
            byte = buf[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result, pos
            shift += 7
    except IndexError:
        raise DecodeError("truncated varint") from None


def decode_unsigned_varint(buf: Buffer, pos: int = 0) -> tuple[int, int]:
    """Read an unsigned int32 varint at ``pos``; return ``(value, next_pos)``."""
    value, pos = _decode_unsigned(buf, pos, 5)
    if value > 0xFFFFFFFF:
        raise DecodeError(f"unsigned varint out of int32 range: {value}")
    return value, pos


def decode_varint(buf: Buffer, pos: int = 0) -> tuple[int, int]:
    """Read a zigzag int32 varint at ``pos``; return ``(value, next_pos)``."""
    value, pos = _decode_unsigned(buf, pos, 5)
    if value > 0xFFFFFFFF:
        raise DecodeError(f"varint out of int32 range: {value}")
    return (value >> 1) ^ -(value & 1), pos


def decode_varlong(buf: Buffer, pos: int = 0) -> tuple[int, int]:
    """Read a zigzag int64 varlong at ``pos``; return ``(value, next_pos)``."""
    value, pos = _decode_unsigned(buf, pos, 10)
    if value > 0xFFFFFFFFFFFFFFFF:
        raise DecodeError(f"varlong out of int64 range: {value}")
    return (value >> 1) ^ -(value & 1), pos

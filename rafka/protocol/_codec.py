"""Primitive readers and writers used by the generated message codecs.

Wire primitives (all big-endian)::

    int8/16/32/64, uint16/32, float64     fixed width
    bool                                  int8, non-zero is true
    uuid                                  16 bytes
    string        int16 length (-1 null)  then UTF-8 bytes
    bytes/records int32 length (-1 null)  then raw bytes
    array         int32 count  (-1 null)  then elements
    compact forms (flexible versions): unsigned varint of length+1 (0 is null)
    tagged fields: uvarint count, then per field uvarint tag, uvarint size, size bytes

Readers take ``(buf, pos)`` and return ``(value, new_pos)``. ``buf`` is always ``bytes``
(the message entry points convert), so slicing a string is one copy and one decode. Readers
never allocate from a length field before checking it against the bytes that remain. Running
past the end surfaces as ``IndexError``/``struct.error``, which the message entry points turn
into :class:`~rafka.errors.DecodeError` (a try block costs nothing on the happy path).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from struct import Struct
from typing import TypeAlias

from rafka.errors._base import DecodeError, EncodeError
from rafka.errors._codes import UnsupportedVersionError

Buffer: TypeAlias = bytes | bytearray | memoryview
TaggedFields: TypeAlias = tuple[tuple[int, bytes], ...]

INT8 = Struct(">b")
INT16 = Struct(">h")
INT32 = Struct(">i")
INT64 = Struct(">q")
UINT16 = Struct(">H")
UINT32 = Struct(">I")
FLOAT64 = Struct(">d")

#: Precompiled Structs for integer arrays of fewer than 64 elements, by format letter.
ARRAYS: dict[str, tuple[Struct, ...]] = {
    code: tuple(Struct(f">{n}{code}") for n in range(64)) for code in "bhiqHI"
}
ARRAYS_b, ARRAYS_h, ARRAYS_i = ARRAYS["b"], ARRAYS["h"], ARRAYS["i"]
ARRAYS_q, ARRAYS_H, ARRAYS_I = ARRAYS["q"], ARRAYS["H"], ARRAYS["I"]
ZERO_UUID = uuid.UUID(int=0)
NULL_INT16 = b"\xff\xff"
NULL_INT32 = b"\xff\xff\xff\xff"
_MAX_STRING = 0x7FFF

#: Structs for runs of same-shaped array elements (see ``bulk_struct``), by format.
_BULK: dict[str, Struct] = {}
_BULK_LIMIT = 256


def bulk_struct(fmt: str) -> Struct:
    """The compiled ``Struct`` of ``fmt``: one element of an array whose elements all have the
    same shape (the same lengths of their integer arrays), read with ``iter_unpack``.

    A memo of compiled formats (like ``re``'s): shapes are few in practice, and hostile input
    cannot grow it past a bound.
    """
    compiled = _BULK.get(fmt)
    if compiled is None:
        if len(_BULK) >= _BULK_LIMIT:
            _BULK.clear()
        compiled = _BULK[fmt] = Struct(fmt)
    return compiled


#: Allocates a generated struct without running its ``__init__``: decoders store every field
#: (attrs slots, no validators or converters) right after, which builds the same object.
new_struct = object.__new__


def null_error(field: str) -> DecodeError:
    return DecodeError(f"non-nullable field {field} was serialized as null")


def null_encode_error(field: str) -> EncodeError:
    return EncodeError(f"non-nullable field {field} is None")


def unsupported_field(field: str) -> UnsupportedVersionError:
    return UnsupportedVersionError(
        f"field {field} has a non-default value that this version cannot carry"
    )


def unsupported_tags() -> UnsupportedVersionError:
    return UnsupportedVersionError("tagged fields are set but this version is not flexible")


def count_error(n: int, remaining: int) -> DecodeError:
    return DecodeError(f"array of {n} elements cannot fit in the {remaining} bytes remaining")


# ----------------------------------------------------------------------------------- varints


def r_uvarint(b: bytes, p: int) -> tuple[int, int]:
    """An unsigned varint of at most 5 bytes (Kafka's int-sized varint)."""
    byte = b[p]
    if byte < 0x80:
        return byte, p + 1
    result = byte & 0x7F
    shift = 7
    while True:
        p += 1
        byte = b[p]
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, p + 1
        shift += 7
        if shift > 28:
            raise DecodeError("unsigned varint longer than 5 bytes")


def w_uvarint(out: bytearray, n: int) -> None:
    if n < 0x80:
        out.append(n)
        return
    if n >> 32:
        raise EncodeError(f"unsigned varint out of range: {n}")
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def uvarint_size(n: int) -> int:
    size = 1
    while n >= 0x80:
        n >>= 7
        size += 1
    return size


# ------------------------------------------------------------------------- strings and bytes


def _string_at(b: bytes, p: int, n: int) -> tuple[str, int]:
    if n > _MAX_STRING:
        raise DecodeError(f"string length {n} is over the limit of {_MAX_STRING}")
    end = p + n
    if end > len(b):
        raise DecodeError(f"string of {n} bytes runs past the end of the buffer")
    return b[p:end].decode(), end


def r_str(b: bytes, p: int) -> tuple[str, int]:
    n = INT16.unpack_from(b, p)[0]
    if n < 0:
        raise DecodeError("non-nullable string was serialized as null")
    return _string_at(b, p + 2, n)


def r_nstr(b: bytes, p: int) -> tuple[str | None, int]:
    n = INT16.unpack_from(b, p)[0]
    if n < 0:
        return None, p + 2
    return _string_at(b, p + 2, n)


def r_cstr(b: bytes, p: int) -> tuple[str, int]:
    n = b[p]
    if n < 0x80:
        p += 1
    else:
        n, p = r_uvarint(b, p)
    if n == 0:
        raise DecodeError("non-nullable string was serialized as null")
    return _string_at(b, p, n - 1)


def r_ncstr(b: bytes, p: int) -> tuple[str | None, int]:
    n = b[p]
    if n < 0x80:
        p += 1
    else:
        n, p = r_uvarint(b, p)
    if n == 0:
        return None, p
    return _string_at(b, p, n - 1)


def _bytes_at(b: bytes, p: int, n: int) -> tuple[bytes, int]:
    end = p + n
    if end > len(b):
        raise DecodeError(f"bytes field of {n} bytes runs past the end of the buffer")
    return b[p:end], end


def r_bytes(b: bytes, p: int) -> tuple[bytes, int]:
    n = INT32.unpack_from(b, p)[0]
    if n < 0:
        raise DecodeError("non-nullable bytes field was serialized as null")
    return _bytes_at(b, p + 4, n)


def r_nbytes(b: bytes, p: int) -> tuple[bytes | None, int]:
    n = INT32.unpack_from(b, p)[0]
    if n < 0:
        return None, p + 4
    return _bytes_at(b, p + 4, n)


def r_cbytes(b: bytes, p: int) -> tuple[bytes, int]:
    n, p = r_uvarint(b, p)
    if n == 0:
        raise DecodeError("non-nullable bytes field was serialized as null")
    return _bytes_at(b, p, n - 1)


def r_ncbytes(b: bytes, p: int) -> tuple[bytes | None, int]:
    n, p = r_uvarint(b, p)
    if n == 0:
        return None, p
    return _bytes_at(b, p, n - 1)


def bytes_error(n: int) -> DecodeError:
    return DecodeError(f"bytes field of {n} bytes runs past the end of the buffer")


def records_error(n: int) -> DecodeError:
    return DecodeError(f"records field of {n} bytes runs past the end of the buffer")


def _records_at(b: bytes, p: int, n: int) -> tuple[memoryview, int]:
    end = p + n
    if end > len(b):
        raise records_error(n)
    return memoryview(b)[p:end], end


def r_nrecords(b: bytes, p: int) -> tuple[memoryview | None, int]:
    """Records are a zero-copy view of the frame."""
    n = INT32.unpack_from(b, p)[0]
    if n < 0:
        return None, p + 4
    return _records_at(b, p + 4, n)


def r_records(b: bytes, p: int) -> tuple[memoryview, int]:
    value, p = r_nrecords(b, p)
    if value is None:
        raise DecodeError("non-nullable records field was serialized as null")
    return value, p


def r_ncrecords(b: bytes, p: int) -> tuple[memoryview | None, int]:
    n, p = r_uvarint(b, p)
    if n == 0:
        return None, p
    return _records_at(b, p, n - 1)


def r_crecords(b: bytes, p: int) -> tuple[memoryview, int]:
    value, p = r_ncrecords(b, p)
    if value is None:
        raise DecodeError("non-nullable records field was serialized as null")
    return value, p


def _utf8(s: str | None) -> bytes:
    if s is None:
        raise EncodeError("a non-nullable string field is None")
    data = s.encode()
    if len(data) > _MAX_STRING:
        raise EncodeError(f"string of {len(data)} bytes is too long to serialize")
    return data


def w_str(out: bytearray, s: str | None) -> None:
    data = _utf8(s)
    out += INT16.pack(len(data))
    out += data


def w_nstr(out: bytearray, s: str | None) -> None:
    if s is None:
        out += NULL_INT16
    else:
        w_str(out, s)


def w_cstr(out: bytearray, s: str | None) -> None:
    data = _utf8(s)
    n = len(data) + 1
    if n < 0x80:
        out.append(n)
    else:
        w_uvarint(out, n)
    out += data


def w_ncstr(out: bytearray, s: str | None) -> None:
    if s is None:
        out.append(0)
    else:
        w_cstr(out, s)


def w_bytes(out: bytearray, data: Buffer | None) -> None:
    if data is None:
        raise EncodeError("a non-nullable bytes field is None")
    out += INT32.pack(len(data))
    out += data


def w_nbytes(out: bytearray, data: Buffer | None) -> None:
    if data is None:
        out += NULL_INT32
    else:
        w_bytes(out, data)


def w_cbytes(out: bytearray, data: Buffer | None) -> None:
    if data is None:
        raise EncodeError("a non-nullable bytes field is None")
    w_uvarint(out, len(data) + 1)
    out += data


def w_ncbytes(out: bytearray, data: Buffer | None) -> None:
    if data is None:
        out.append(0)
    else:
        w_cbytes(out, data)


# ---------------------------------------------------------------------------- arrays, uuids


def r_alen(b: bytes, p: int) -> tuple[int, int]:
    """An int32 array count; -1 for null. The count is checked against the bytes left."""
    n = INT32.unpack_from(b, p)[0]
    p += 4
    if n > len(b) - p:
        raise count_error(n, len(b) - p)
    return (n if n >= 0 else -1), p


def r_calen(b: bytes, p: int) -> tuple[int, int]:
    """A compact array count (uvarint of count+1); -1 for null."""
    n = b[p]
    if n < 0x80:
        p += 1
    else:
        n, p = r_uvarint(b, p)
    n -= 1
    if n > len(b) - p:
        raise count_error(n, len(b) - p)
    return n, p


def w_alen(out: bytearray, n: int) -> None:
    out += INT32.pack(n)


def w_calen(out: bytearray, n: int) -> None:
    n += 1
    if n < 0x80:
        out.append(n)
    else:
        w_uvarint(out, n)


_new, _setattr, _int_from_bytes = object.__new__, object.__setattr__, int.from_bytes
_UUID, _SAFE_UNKNOWN = uuid.UUID, uuid.SafeUUID.unknown


def _uuid_of(raw: bytes) -> uuid.UUID:
    """``uuid.UUID(bytes=raw)`` without the argument checks of ``UUID.__init__`` (3x faster):
    the same two slots set the same way (``raw`` is always 16 bytes here)."""
    u = _new(_UUID)
    _setattr(u, "int", _int_from_bytes(raw))
    _setattr(u, "is_safe", _SAFE_UNKNOWN)
    return u


def _uuid_slow(raw: bytes) -> uuid.UUID:
    return uuid.UUID(bytes=raw)


def _pick_uuid_of() -> Callable[[bytes], uuid.UUID]:
    """The fast constructor if it builds exactly what ``UUID.__init__`` builds on this
    Python, else the plain one."""
    raw = bytes(range(1, 17))
    try:
        fast, slow = _uuid_of(raw), uuid.UUID(bytes=raw)
        if fast == slow and fast.is_safe is slow.is_safe and repr(fast) == repr(slow):
            return _uuid_of
    except (AttributeError, TypeError):
        pass
    return _uuid_slow


#: Build a ``uuid.UUID`` from 16 raw bytes.
uuid_of = _pick_uuid_of()


def r_uuid(b: bytes, p: int) -> tuple[uuid.UUID, int]:
    end = p + 16
    if end > len(b):
        raise DecodeError("uuid runs past the end of the buffer")
    return uuid_of(b[p:end]), end


def w_uuid(out: bytearray, u: uuid.UUID) -> None:
    out += u.bytes


def r_fixed_array(b: bytes, p: int, n: int, code: str, size: int) -> tuple[list[int], int]:
    """``n`` fixed-width integers in one struct call (``code`` is a struct format letter)."""
    end = p + n * size
    if end > len(b):
        raise count_error(n, len(b) - p)
    return list(Struct(f">{n}{code}").unpack_from(b, p)), end


def w_fixed_array(out: bytearray, values: list[int], code: str) -> None:
    out += Struct(f">{len(values)}{code}").pack(*values)


# ---------------------------------------------------------------------------- tagged fields


def r_tags(b: bytes, p: int) -> tuple[list[tuple[int, bytes]], int]:
    """Read a tagged-field section: ``[(tag, raw value bytes), ...]``."""
    count, p = r_uvarint(b, p)
    if count > len(b) - p:
        raise count_error(count, len(b) - p)
    fields = []
    for _ in range(count):
        tag, p = r_uvarint(b, p)
        size, p = r_uvarint(b, p)
        end = p + size
        if end > len(b):
            raise DecodeError(f"tagged field {tag} of {size} bytes runs past the end")
        fields.append((tag, b[p:end]))
        p = end
    return fields, p


def w_tags(out: bytearray, known: list[tuple[int, Buffer]], unknown: TaggedFields) -> None:
    """Write a tagged-field section; known and unknown fields are merged in tag order."""
    fields: list[tuple[int, Buffer]] = known
    if unknown:
        fields = sorted([*known, *unknown], key=lambda item: item[0])
    w_uvarint(out, len(fields))
    for tag, data in fields:
        w_uvarint(out, tag)
        w_uvarint(out, len(data))
        out += data


def w_no_tags(out: bytearray, unknown: TaggedFields) -> None:
    """The tagged-field section of a struct with no known tagged fields at this version."""
    if unknown:
        w_tags(out, [], unknown)
    else:
        out.append(0)

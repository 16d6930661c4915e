"""Varint and zigzag encodings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rafka.errors._base import DecodeError
from rafka.protocol.records.varint import (
    UVARINT_TABLE,
    decode_unsigned_varint,
    decode_varint,
    decode_varlong,
    encode_unsigned_varint,
    encode_varint,
    encode_varlong,
    size_of_varint,
)
from tests.protocol.records.strategies import FAST


def _reference_unsigned(value: int) -> bytes:
    out = bytearray()
    while True:
        if value < 0x80:
            out.append(value)
            return bytes(out)
        out.append((value & 0x7F) | 0x80)
        value >>= 7


def test_table_holds_every_one_and_two_byte_varint() -> None:
    assert len(UVARINT_TABLE) == 1 << 14
    assert all(UVARINT_TABLE[u] == _reference_unsigned(u) for u in range(1 << 14))


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (-1, b"\x01"),
        (1, b"\x02"),
        (-64, b"\x7f"),
        (64, b"\x80\x01"),
        (2**31 - 1, b"\xfe\xff\xff\xff\x0f"),
        (-(2**31), b"\xff\xff\xff\xff\x0f"),
    ],
)
def test_known_zigzag_encodings(value: int, encoded: bytes) -> None:
    assert encode_varint(value) == encoded
    assert decode_varint(encoded) == (value, len(encoded))


@FAST
@given(st.integers(-(2**31), 2**31 - 1), st.binary(max_size=3))
def test_varint_round_trip(value: int, trailer: bytes) -> None:
    encoded = encode_varint(value)
    assert len(encoded) == size_of_varint(value)
    assert decode_varint(b"\xaa" + encoded + trailer, 1) == (value, 1 + len(encoded))


@FAST
@given(st.integers(-(2**63), 2**63 - 1))
def test_varlong_round_trip(value: int) -> None:
    encoded = encode_varlong(value)
    assert len(encoded) <= 10
    assert decode_varlong(encoded) == (value, len(encoded))


@FAST
@given(st.integers(0, 2**32 - 1))
def test_unsigned_round_trip(value: int) -> None:
    encoded = encode_unsigned_varint(value)
    assert encoded == _reference_unsigned(value)
    assert decode_unsigned_varint(encoded) == (value, len(encoded))


def test_out_of_range_values_are_refused() -> None:
    with pytest.raises(ValueError):
        encode_varint(2**31)
    with pytest.raises(ValueError):
        encode_varlong(-(2**63) - 1)
    with pytest.raises(ValueError):
        encode_unsigned_varint(-1)


@pytest.mark.parametrize(
    "data", [b"", b"\x80", b"\xff\xff", b"\xff\xff\xff\xff\xff\x01", b"\xff\xff\xff\xff\x7f"]
)
def test_malformed_varints_raise_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_varint(data)


def test_varlong_longer_than_ten_bytes() -> None:
    with pytest.raises(DecodeError):
        decode_varlong(b"\xff" * 10 + b"\x01")
    assert decode_varlong(b"\xff" * 9 + b"\x01")[0] == -(2**63)

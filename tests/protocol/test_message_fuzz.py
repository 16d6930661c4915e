"""Malformed input: decoders raise DecodeError (or UNSUPPORTED_VERSION), never anything else,
never hang, and never allocate from a hostile length field."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rafka.errors import DecodeError
from rafka.protocol._message import Message
from rafka.protocol.messages import API_SPECS, MetadataResponse, ProduceRequest
from tests.strategies import message_strategy

ALL = [
    (getattr(spec, kind), version)
    for spec in API_SPECS.values()
    if spec.module is not None
    for kind in ("request_class", "response_class")
    for version in spec.versions
]


def _decode(cls: type[Message], data: bytes, version: int) -> None:
    with contextlib.suppress(DecodeError):
        cls.decode(data, version)


@settings(max_examples=3000, deadline=None)
@given(case=st.sampled_from(ALL), data=st.binary(max_size=64))
def test_random_bytes(case: tuple[type[Message], int], data: bytes) -> None:
    cls, version = case
    _decode(cls, data, version)


@pytest.mark.parametrize("kind", ["request_class", "response_class"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_truncation_and_bit_flips(kind: str, data: Any) -> None:
    spec = data.draw(st.sampled_from([s for s in API_SPECS.values() if s.module]))
    cls = getattr(spec, kind)
    version = data.draw(st.sampled_from(list(spec.versions)))
    encoded = data.draw(message_strategy(cls, version)).encode(version)
    for cut in range(len(encoded)):
        with pytest.raises(DecodeError):
            cls.decode(encoded[:cut], version)
    if encoded:
        pos = data.draw(st.integers(0, len(encoded) - 1))
        flipped = bytearray(encoded)
        flipped[pos] ^= data.draw(st.integers(1, 255))
        _decode(cls, bytes(flipped), version)


def test_hostile_array_length_fails_fast() -> None:
    # A MetadataResponse v0 claiming 2^31-1 brokers, in 20 bytes.
    frame = b"\x7f\xff\xff\xff" + b"\x00" * 16
    start = time.perf_counter()
    with pytest.raises(DecodeError, match="cannot fit"):
        MetadataResponse.decode(frame, 0)
    assert time.perf_counter() - start < 0.05


def test_hostile_compact_length_fails_fast() -> None:
    # ProduceRequest v9 (flexible): transactional id null, acks, timeout, then a compact
    # array count of 2^32-2 (a 5-byte varint).
    frame = b"\x00" + b"\x00\x01" + b"\x00\x00\x00\x01" + b"\xff\xff\xff\xff\x0f" + b"\x00" * 8
    with pytest.raises(DecodeError):
        ProduceRequest.decode(frame, 9)


def test_overlong_varint_is_rejected() -> None:
    frame = b"\x00\x00\x01\x00\x00\x00\x01" + b"\xff" * 10
    with pytest.raises(DecodeError, match="varint"):
        ProduceRequest.decode(frame, 9)


def test_trailing_bytes_are_rejected() -> None:
    data = MetadataResponse().encode(12) + b"\x00"
    with pytest.raises(DecodeError, match="unexpected bytes"):
        MetadataResponse.decode(data, 12)


def test_unsupported_version() -> None:
    from rafka.errors import UnsupportedVersionError

    with pytest.raises(UnsupportedVersionError):
        ProduceRequest().encode(2)
    with pytest.raises(UnsupportedVersionError):
        ProduceRequest.decode(b"", 99)

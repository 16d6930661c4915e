"""Hostile and damaged input: only DecodeError subclasses escape, nothing hangs or balloons."""

from __future__ import annotations

import contextlib
import struct
import time
import tracemalloc
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rafka.errors._base import DecodeError
from rafka.protocol.records import (
    BatchHeader,
    Compression,
    CorruptRecordError,
    LegacyBatch,
    RecordBatch,
    compress,
    decompress,
    encode_batch,
    encode_legacy,
    iter_batch_positions,
    read_batches,
    verify_crc,
    walk_records,
)
from rafka.protocol.records.legacy_records import _encode_message
from rafka.protocol.records.varint import encode_varint
from tests.protocol.records.strategies import FUZZ, LEGACY_CODECS, V2_CODECS, fix_crc

LIMIT = 1 << 20  # decompression bound used while fuzzing


def _swallow(func: Callable[[], object]) -> None:
    with contextlib.suppress(DecodeError):
        func()


def exercise(buf: bytes | bytearray | memoryview) -> None:
    """Run every reader over ``buf``; anything but a DecodeError fails the test."""
    _swallow(lambda: BatchHeader.parse(buf))
    _swallow(lambda: walk_records(buf, max_decompressed_size=LIMIT))
    _swallow(lambda: walk_records(buf, full=True, max_decompressed_size=LIMIT))
    _swallow(lambda: verify_crc(buf))
    _swallow(lambda: RecordBatch(buf).records(LIMIT))
    _swallow(lambda: LegacyBatch(buf).records(LIMIT))

    def read_all() -> None:
        for batch in read_batches(buf):
            _swallow(batch.verify_crc)
            _swallow(lambda b=batch: b.records(LIMIT))  # type: ignore[misc]
            _swallow(lambda b=batch: (b.compression, b.timestamp_type, b.base_offset))  # type: ignore[misc]
            if isinstance(batch, RecordBatch):
                raw = batch.raw
                _swallow(lambda r=raw: walk_records(r, max_decompressed_size=LIMIT))  # type: ignore[misc]
                _swallow(lambda r=raw: walk_records(r, full=True, max_decompressed_size=LIMIT))  # type: ignore[misc]

    _swallow(read_all)


def _samples() -> Iterator[bytes]:
    records = [
        (1_000, b"key", b"value" * 20, (("h", b"x"), ("n", None))),
        (999, None, None, ()),
        (1_003, b"", b"", ()),
    ]
    for codec in V2_CODECS:
        yield encode_batch(
            records, compression=codec, producer_id=3, producer_epoch=1, base_sequence=0
        )
    for codec in LEGACY_CODECS:
        for magic in (0, 1):
            yield encode_legacy([(t, k, v) for t, k, v, _ in records], magic, codec, 10)


SAMPLES = list(_samples())


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    exercise(data)


@FUZZ
@given(st.binary(min_size=0, max_size=200), st.sampled_from(SAMPLES))
def test_random_bytes_after_a_valid_prefix(tail: bytes, sample: bytes) -> None:
    # Keep the header plausible so the readers get past the first checks.
    data = bytearray(sample[:61] + tail)
    struct.pack_into(">i", data, 8, max(len(data) - 12, 14))
    exercise(data)
    if data[16] == 2 and len(data) >= 61:
        fix_crc(data)
        exercise(data)


@pytest.mark.parametrize("sample", SAMPLES, ids=range(len(SAMPLES)))
def test_every_truncation(sample: bytes) -> None:
    whole = list(iter_batch_positions(sample))
    for cut in range(len(sample)):
        piece = sample[:cut]
        exercise(piece)
        assert list(iter_batch_positions(piece)) == [p for p in whole if p[0] + p[1] <= cut]
        with pytest.raises(DecodeError):
            walk_records(piece)
        with pytest.raises(DecodeError):
            RecordBatch(piece)


@FUZZ
@given(st.sampled_from(SAMPLES), st.data())
def test_bit_flips(sample: bytes, data: st.DataObject) -> None:
    flipped = bytearray(sample)
    for _ in range(data.draw(st.integers(1, 3))):
        bit = data.draw(st.integers(0, len(flipped) * 8 - 1))
        flipped[bit // 8] ^= 1 << (bit % 8)
    exercise(flipped)
    exercise(memoryview(bytes(flipped)))


@pytest.mark.parametrize("sample", SAMPLES, ids=range(len(SAMPLES)))
def test_crc_catches_every_single_bit_flip_it_covers(sample: bytes) -> None:
    first = 21 if sample[16] == 2 else 16
    _, size, _ = next(iter_batch_positions(sample))
    for index in range(first, size, 3):
        for bit in (0, 7):
            flipped = bytearray(sample)
            flipped[index] ^= 1 << bit
            with pytest.raises(CorruptRecordError):
                verify_crc(flipped)


def _v2(records_section: bytes, count: int) -> bytearray:
    base = bytearray(encode_batch([(0, None, b"v", ())]))
    data = base[:61] + records_section
    struct.pack_into(">i", data, 8, len(data) - 12)
    struct.pack_into(">ii", data, 23, count - 1, 0)
    struct.pack_into(">i", data, 57, count)
    fix_crc(data)
    return data


def _hostile() -> Iterator[bytearray]:
    one = encode_batch([(0, b"k", b"v", (("h", b"x"),))])[61:]
    yield _v2(one, 2**31 - 1)  # records count
    yield _v2(encode_varint(2**31 - 1) + one[1:], 1)  # record length
    yield _v2(one[:1] + b"\x00\x00\x00" + encode_varint(2**31 - 1) + one[5:], 1)  # key length
    huge_headers = bytearray(one)
    huge_headers[-5:-4] = encode_varint(2**31 - 1)
    yield _v2(bytes(huge_headers), 1)  # header count
    big = bytearray(encode_batch([(0, None, b"v", ())]))
    struct.pack_into(">i", big, 8, 2**31 - 1)  # batch length
    yield big
    legacy = bytearray(encode_legacy([(0, b"k", b"v")], 1))
    struct.pack_into(">i", legacy, 26, 2**31 - 1)  # key length
    yield legacy
    inner = bytearray(encode_legacy([(0, b"k", b"v")], 1))
    struct.pack_into(">i", inner, 8, 2**31 - 1)  # inner message size
    payload = compress(Compression.GZIP, bytes(inner))
    yield bytearray(_encode_message(1, int(Compression.GZIP), 0, None, payload, 0))
    yield bytearray(_bomb_batch(compress(Compression.ZSTD, bytes(50_000_000))))


def _bomb_batch(payload: bytes) -> bytes:
    data = bytearray(encode_batch([(0, None, b"v", ())], compression=Compression.ZSTD))
    data = data[:61] + payload
    struct.pack_into(">i", data, 8, len(data) - 12)
    fix_crc(data)
    return bytes(data)


@pytest.mark.parametrize("data", list(_hostile()), ids=range(8))
def test_hostile_lengths_neither_allocate_nor_hang(data: bytearray) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        exercise(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * LIMIT
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("codec", V2_CODECS)
@FUZZ
@given(st.binary(max_size=300), st.sampled_from([0, 1, 2]))
def test_decompress_random_bytes(codec: Compression, data: bytes, magic: int) -> None:
    prefix = {
        Compression.GZIP: b"\x1f\x8b\x08\x00",
        Compression.SNAPPY: b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01",
        Compression.LZ4: b"\x04\x22\x4d\x18\x60\x40\x82",
        Compression.ZSTD: b"\x28\xb5\x2f\xfd",
    }.get(codec, b"")
    for payload in (data, prefix + data):
        _swallow(lambda p=payload: decompress(codec, p, LIMIT, magic=magic))  # type: ignore[misc]

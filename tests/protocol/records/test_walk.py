"""walk_records: agrees with a full decode, rejects each kind of inconsistency."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rafka.errors._base import DecodeError
from rafka.protocol.records import (
    Compression,
    InvalidRecordError,
    RecordBatch,
    WalkResult,
    compress,
    encode_batch,
    walk_records,
)
from rafka.protocol.records import walk as walk_module
from tests.protocol.records.strategies import (
    FAST,
    V2_CODECS,
    assemble_batch,
    fix_crc,
    raw_record,
    record_lists,
)

RecordTuple = tuple[int, bytes | None, bytes | None, tuple[tuple[str, bytes | None], ...]]


@pytest.mark.parametrize("codec", V2_CODECS)
@FAST
@given(records=record_lists())
def test_walk_agrees_with_decode(codec: Compression, records: list[RecordTuple]) -> None:
    data = encode_batch(records, compression=codec)
    decoded = RecordBatch(data).records()
    for full in (False, True):
        walked = walk_records(b"\x00" * 7 + data, 7, full=full)
        assert walked == WalkResult(
            count=len(decoded),
            min_timestamp=min(r.timestamp for r in decoded),
            max_timestamp=max(r.timestamp for r in decoded),
            has_null_key=any(r.key is None for r in decoded),
        )


def _section(*records: bytes) -> bytes:
    return b"".join(records)


def _check_rejected(batch: bytes, *, fast: bool = True, decode: bool = True) -> None:
    with pytest.raises(InvalidRecordError):
        walk_records(batch, full=True)
    if fast:
        with pytest.raises(InvalidRecordError):
            walk_records(batch)
    if decode:  # a reader does not check what only a validator must (e.g. lastOffsetDelta)
        with pytest.raises(InvalidRecordError):
            RecordBatch(batch).records()


def test_hand_made_valid_batch_is_accepted() -> None:
    section = _section(raw_record(0, 5, b"k"), raw_record(1, -3, None, None, (("h", None),)))
    batch = assemble_batch(section, count=2, base_timestamp=100)
    assert walk_records(batch) == WalkResult(2, 97, 105, True)
    assert walk_records(batch, full=True) == WalkResult(2, 97, 105, True)


@pytest.mark.parametrize(("count", "last_offset_delta"), [(3, 2), (1, 1), (2, 0), (2, 5)])
def test_count_mismatch(count: int, last_offset_delta: int) -> None:
    section = _section(raw_record(0), raw_record(1))
    batch = assemble_batch(section, count=count, last_offset_delta=last_offset_delta)
    _check_rejected(batch, decode=count != 2)


@pytest.mark.parametrize("deltas", [(0, 2, 3), (1, 2, 3), (0, 1, 1), (0, 0, 1), (0, -1, 2)])
def test_non_consecutive_offset_deltas(deltas: tuple[int, ...]) -> None:
    batch = assemble_batch(_section(*(raw_record(d) for d in deltas)), count=3)
    with pytest.raises(InvalidRecordError, match="offset delta"):
        walk_records(batch)
    with pytest.raises(InvalidRecordError, match="offset delta"):
        walk_records(batch, full=True)
    # Kafka accepts them in an uncompressed batch: the validator asks for no delta check
    for full in (False, True):
        walked = walk_records(batch, full=full, check_offset_deltas=False)
        assert walked == WalkResult(3, 0, 0, True)


def test_record_length_overrun() -> None:
    section = _section(raw_record(0), raw_record(1, length_adjust=+5))
    _check_rejected(assemble_batch(section, count=2))
    section = _section(raw_record(0, length_adjust=2**30))
    _check_rejected(assemble_batch(section, count=1))


def test_trailing_garbage_after_the_last_record() -> None:
    _check_rejected(assemble_batch(_section(raw_record(0), b"\x00\x00"), count=1))
    compressed = compress(Compression.GZIP, _section(raw_record(0), b"junk"))
    _check_rejected(assemble_batch(compressed, count=1, attributes=int(Compression.GZIP)))


def test_fields_that_do_not_fill_the_record_need_the_full_walk() -> None:
    # The length covers an extra byte after the headers: only a field-by-field read notices.
    batch = assemble_batch(_section(raw_record(0, extra=b"\x00")), count=1)
    assert walk_records(batch).count == 1
    _check_rejected(batch, fast=False)
    # A key longer than its record.
    batch = assemble_batch(_section(raw_record(0, key=b"abc", length_adjust=-3)), count=1)
    _check_rejected(batch, fast=False)


def test_short_records_and_impossible_counts() -> None:
    _check_rejected(assemble_batch(_section(b"\x02\x00\x00"), count=1))
    _check_rejected(assemble_batch(_section(raw_record(0)), count=2**31 - 1))
    _check_rejected(assemble_batch(_section(raw_record(0)), count=-5, last_offset_delta=-6))


def test_empty_batch_walks_to_nothing() -> None:
    batch = assemble_batch(b"", count=0, last_offset_delta=3)
    assert walk_records(batch) == WalkResult(0, -1, -1, False)
    assert RecordBatch(batch).records() == []


def test_header_count_overrun() -> None:
    record = bytearray(raw_record(0, headers=(("a", b"b"),)))
    record[-5] = 0x7E  # header count varint: 63 headers in a tiny record
    _check_rejected(assemble_batch(bytes(record), count=1), fast=False)


def test_truncated_and_non_v2_input() -> None:
    data = encode_batch([(0, None, b"v", ())])
    with pytest.raises(DecodeError):
        walk_records(data[:-1])
    with pytest.raises(DecodeError):
        walk_records(b"")
    edited = bytearray(data)
    struct.pack_into(">i", edited, 57, 0)
    fix_crc(edited)
    with pytest.raises(InvalidRecordError):
        walk_records(edited)


def test_compressed_walk_is_bounded() -> None:
    records = [(0, None, bytes(100_000), ())] * 20
    data = encode_batch(records, compression=Compression.LZ4)
    with pytest.raises(DecodeError):
        walk_records(data, max_decompressed_size=1_000_000)
    assert walk_records(data).count == 20


# -- runs of equal-size records (walked column-wise) against the record-by-record loop --------


def _reference_walk(data: bytes, check: bool = True) -> WalkResult | type[Exception]:
    """The walk with the column-wise fast path off: the record loop alone."""
    saved = walk_module._MIN_RUN
    walk_module._MIN_RUN = 1 << 62
    try:
        return _outcome(data, check)
    finally:
        walk_module._MIN_RUN = saved


def _outcome(data: bytes, check: bool = True) -> WalkResult | type[Exception]:
    try:
        return walk_records(data, check_offset_deltas=check)
    except DecodeError as exc:  # InvalidRecordError is one
        return type(exc)


@st.composite
def _uniform_batches(draw: st.DrawFn) -> bytes:
    """Batches of many records of one size (the fast path's case), timestamps in order or not."""
    key = draw(st.one_of(st.none(), st.binary(min_size=0, max_size=80)))
    big = st.integers(8200, 9000).map(bytes)  # a three-byte record length
    value = draw(st.one_of(st.none(), st.binary(min_size=0, max_size=200), big))
    count = draw(st.integers(1, 300 if value is None or len(value) < 8200 else 40))
    spread = draw(st.sampled_from([0, 63, 64, 2000, 8191, 8192, 1 << 20]))
    kind = draw(st.sampled_from(["ascending", "random", "descending"]))
    deltas = draw(st.lists(st.integers(0, spread), min_size=count, max_size=count))
    if kind == "ascending":
        deltas.sort()
    elif kind == "descending":
        deltas.sort(reverse=True)
    if draw(st.booleans()):  # some records a little before the first one
        deltas = [d - draw(st.integers(0, 70)) if i % 7 == 3 else d for i, d in enumerate(deltas)]
    base = 1_700_000_000_000
    return encode_batch([(base + d, key, value, ()) for d in deltas])


@FAST
@given(batch=_uniform_batches())
def test_equal_size_runs_walk_as_the_record_loop_does(batch: bytes) -> None:
    fast = _outcome(batch)
    assert fast == _reference_walk(batch)
    decoded = RecordBatch(batch).records()
    assert fast == WalkResult(
        count=len(decoded),
        min_timestamp=min(r.timestamp for r in decoded),
        max_timestamp=max(r.timestamp for r in decoded),
        has_null_key=any(r.key is None for r in decoded),
    )


@FAST
@given(batch=_uniform_batches(), data=st.data(), check=st.booleans())
def test_damaged_equal_size_runs_fail_as_the_record_loop_does(
    batch: bytes, data: st.DataObject, check: bool
) -> None:
    damaged = bytearray(batch)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(61, len(damaged) - 1))  # the records section
        damaged[at] = data.draw(st.integers(0, 255))
    assert _outcome(bytes(damaged), check) == _reference_walk(bytes(damaged), check)


@st.composite
def _batches_with_any_offset_deltas(draw: st.DrawFn) -> bytes:
    """Records of one size whose offset deltas are anything of one varint width (and now and
    then one of another width), as a producer may write them into an uncompressed batch."""
    count = draw(st.integers(1, 200))
    low, high = draw(st.sampled_from([(-64, 63), (64, 8191), (-8192, -65), (8192, 1 << 20)]))
    deltas = draw(st.lists(st.integers(low, high), min_size=count, max_size=count))
    if draw(st.booleans()):
        deltas[draw(st.integers(0, count - 1))] = draw(st.integers(-(1 << 20), 1 << 20))
    key = draw(st.one_of(st.none(), st.binary(max_size=20)))
    records = [raw_record(d, i % 50, key, b"v" * 30) for i, d in enumerate(deltas)]
    return assemble_batch(_section(*records), count=count, base_timestamp=1000)


@FAST
@given(batch=_batches_with_any_offset_deltas(), data=st.data())
def test_any_offset_deltas_walk_as_the_record_loop_does(batch: bytes, data: st.DataObject) -> None:
    expected = _reference_walk(batch, check=False)
    assert isinstance(expected, WalkResult)
    assert _outcome(batch, check=False) == expected
    assert _outcome(batch, check=True) == _reference_walk(batch, check=True)
    damaged = bytearray(batch)
    at = data.draw(st.integers(61, len(damaged) - 1))
    damaged[at] = data.draw(st.integers(0, 255))
    assert _outcome(bytes(damaged), False) == _reference_walk(bytes(damaged), False)


def test_a_batch_of_equal_size_records_is_walked_column_wise() -> None:
    records = [(1000 + i, b"key%05d" % i, bytes(1000), ()) for i in range(1000)]
    batch = encode_batch(records)
    calls = []
    original = walk_module._walk_records

    def counting(*args: object) -> object:
        calls.append(args)
        return original(*args)  # type: ignore[arg-type]

    walk_module._walk_records = counting  # type: ignore[assignment]
    expected = WalkResult(1000, 1000, 1999, False)
    try:
        assert walk_records(batch) == expected
        # as the broker gets it: a view into a request frame (and a bytearray)
        assert walk_records(memoryview(b"frame" + batch)[5:]) == expected
        assert walk_records(bytearray(batch)) == expected
        # the validator's walk of an uncompressed batch, which accepts any offset deltas
        assert walk_records(batch, check_offset_deltas=False) == expected
    finally:
        walk_module._walk_records = original
    assert calls == []  # no record was walked one by one

"""Encode -> decode round trips for every codec, magic, timestamp type and batch flag."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rafka.protocol.records import (
    Compression,
    LegacyBatch,
    Record,
    RecordBatch,
    RecordBatchBuilder,
    TimestampType,
    encode_batch,
    encode_legacy,
    read_batches,
    verify_crc,
    walk_records,
)
from tests.protocol.records.strategies import (
    FAST,
    LEGACY_CODECS,
    V2_CODECS,
    record_lists,
    timestamp_types_v2,
    v1_timestamps,
)

RecordTuple = tuple[int, bytes | None, bytes | None, tuple[tuple[str, bytes | None], ...]]


@pytest.mark.parametrize("codec", V2_CODECS)
@FAST
@given(
    records=record_lists(),
    timestamp_type=timestamp_types_v2,
    transactional=st.booleans(),
    control=st.booleans(),
    base_offset=st.integers(0, 2**62),
    producer=st.tuples(
        st.integers(0, 2**63 - 1), st.integers(0, 2**15 - 1), st.integers(0, 2**31 - 1)
    ),
    idempotent=st.booleans(),
    leader_epoch=st.integers(-1, 2**31 - 1),
    log_append_time=st.one_of(st.none(), st.integers(0, 2**45)),
)
def test_v2_round_trip(
    codec: Compression,
    records: list[RecordTuple],
    timestamp_type: TimestampType,
    transactional: bool,
    control: bool,
    base_offset: int,
    producer: tuple[int, int, int],
    idempotent: bool,
    leader_epoch: int,
    log_append_time: int | None,
) -> None:
    producer_id, producer_epoch, base_sequence = (
        producer if idempotent or transactional else (-1, -1, -1)
    )
    data = encode_batch(
        records,
        compression=codec,
        timestamp_type=timestamp_type,
        base_offset=base_offset,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        is_transactional=transactional,
        is_control=control,
        partition_leader_epoch=leader_epoch,
        log_append_time=log_append_time,
    )
    verify_crc(data)
    [batch] = list(read_batches(data))
    assert isinstance(batch, RecordBatch)
    max_ts = max(r[0] for r in records)
    if timestamp_type == TimestampType.LOG_APPEND_TIME and log_append_time is not None:
        max_ts = log_append_time
    h = batch.header
    assert (h.base_offset, h.records_count, h.last_offset_delta) == (
        base_offset,
        len(records),
        len(records) - 1,
    )
    assert (h.base_timestamp, h.max_timestamp) == (records[0][0], max_ts)
    assert (h.producer_id, h.producer_epoch, h.base_sequence) == (
        producer_id,
        producer_epoch,
        base_sequence,
    )
    assert h.partition_leader_epoch == leader_epoch
    assert (h.compression, h.timestamp_type) == (codec, timestamp_type)
    assert (h.is_transactional, h.is_control) == (transactional, control)
    expected = [
        Record(
            base_offset + i,
            max_ts if timestamp_type == TimestampType.LOG_APPEND_TIME else ts,
            key,
            value,
            tuple(headers),
        )
        for i, (ts, key, value, headers) in enumerate(records)
    ]
    assert batch.records() == expected
    assert list(RecordBatch(memoryview(bytearray(data)))) == expected
    walked = walk_records(data)
    assert walk_records(data, full=True) == walked
    assert walked.count == len(records)
    assert walked.min_timestamp == min(r[0] for r in records)
    assert walked.max_timestamp == max(r[0] for r in records)
    assert walked.has_null_key == any(r[1] is None for r in records)


@pytest.mark.parametrize("codec", LEGACY_CODECS)
@pytest.mark.parametrize("magic", [0, 1])
@FAST
@given(
    records=record_lists(v1_timestamps, headers=False),
    log_append=st.booleans(),
    log_append_time=st.one_of(st.none(), st.integers(0, 2**45)),
    base_offset=st.integers(0, 2**62),
)
def test_legacy_round_trip(
    codec: Compression,
    magic: int,
    records: list[RecordTuple],
    log_append: bool,
    log_append_time: int | None,
    base_offset: int,
) -> None:
    timestamp_type = TimestampType.CREATE_TIME
    if log_append and magic == 1:
        timestamp_type = TimestampType.LOG_APPEND_TIME
    builder = RecordBatchBuilder(
        magic=magic,
        compression=codec,
        timestamp_type=timestamp_type,
        base_offset=base_offset,
        log_append_time=log_append_time,
    )
    for ts, key, value, _ in records:
        builder.append(ts, key, value)
    data = builder.build()
    assert data == encode_legacy(
        records,
        magic,
        codec,
        base_offset,
        timestamp_type=timestamp_type,
        log_append_time=log_append_time,
    )
    batches = list(read_batches(data))
    assert all(isinstance(b, LegacyBatch) for b in batches)
    assert len(batches) == (len(records) if codec == Compression.NONE else 1)
    for batch in batches:
        batch.verify_crc()
        assert batch.magic == magic and batch.compression == codec
    decoded = [r for b in batches for r in b.records()]

    def expected_ts(ts: int) -> int:
        if magic == 0:
            return -1
        if timestamp_type == TimestampType.LOG_APPEND_TIME:
            if log_append_time is not None:
                return log_append_time
            if codec != Compression.NONE:  # the wrapper's timestamp: the largest
                return max(r[0] for r in records)
        return ts

    assert decoded == [
        Record(base_offset + i, expected_ts(ts), key, value)
        for i, (ts, key, value, _) in enumerate(records)
    ]
    assert batches[-1].last_offset == base_offset + len(records) - 1
    assert batches[0].base_offset == base_offset


def test_v2_builder_refuses_bad_combinations() -> None:
    with pytest.raises(ValueError):
        RecordBatchBuilder(is_transactional=True)
    with pytest.raises(ValueError):
        RecordBatchBuilder(timestamp_type=TimestampType.NO_TIMESTAMP_TYPE)
    with pytest.raises(ValueError):
        RecordBatchBuilder(magic=3)
    with pytest.raises(ValueError):
        RecordBatchBuilder(magic=1, producer_id=5)
    with pytest.raises(ValueError):
        RecordBatchBuilder(magic=1, compression=Compression.ZSTD)
    with pytest.raises(ValueError):
        RecordBatchBuilder(magic=0, timestamp_type=TimestampType.LOG_APPEND_TIME)
    with pytest.raises(ValueError):
        RecordBatchBuilder(magic=1).append(0, None, None, [("h", None)])


def test_large_offsets_deltas_and_timestamps_use_long_varints() -> None:
    records = [(-(2**40) + i * 10**9, None, bytes(20_000), ()) for i in range(9000)]
    data = encode_batch(records, base_offset=2**40)
    decoded = RecordBatch(data).records()
    assert [r.offset for r in decoded[-2:]] == [2**40 + 8998, 2**40 + 8999]
    assert decoded[-1].timestamp == records[-1][0]
    assert walk_records(data).max_timestamp == records[-1][0]


def test_record_batch_repr_and_raw_view() -> None:
    data = encode_batch([(1, None, b"v", ())], compression=Compression.SNAPPY)
    batch = RecordBatch(b"pad" + data, 3)
    assert "SNAPPY" in repr(batch)
    assert bytes(batch.raw) == data
    legacy = next(read_batches(encode_legacy([(1, b"k", b"v")], magic=1)))
    assert "magic=1" in repr(legacy) and legacy.key == b"k" and legacy.value == b"v"

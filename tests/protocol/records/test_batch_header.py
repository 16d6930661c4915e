"""The v2 header view, batch positions, CRC checks and in-place patches."""

from __future__ import annotations

import struct

import pytest

from rafka.errors._base import DecodeError
from rafka.protocol.records import (
    BatchHeader,
    Compression,
    CorruptRecordError,
    RecordBatchBuilder,
    TimestampType,
    encode_batch,
    encode_legacy,
    increment_sequence,
    iter_batch_positions,
    patch_base_offset,
    patch_partition_leader_epoch,
    read_batches,
    set_log_append_time,
    set_max_timestamp,
    verify_crc,
)
from tests.protocol.records.strategies import fix_crc


def _batch(**kwargs: object) -> bytes:
    records = [(1000 + i, b"k", b"v" * i, ()) for i in range(5)]
    return encode_batch(records, **kwargs)  # type: ignore[arg-type]


def test_parse_reads_every_field() -> None:
    data = _batch(
        compression=Compression.ZSTD,
        base_offset=42,
        producer_id=7,
        producer_epoch=3,
        base_sequence=11,
        is_transactional=True,
        partition_leader_epoch=9,
    )
    h = BatchHeader.parse(b"xx" + data, 2)
    assert (h.base_offset, h.partition_leader_epoch, h.magic) == (42, 9, 2)
    assert (h.producer_id, h.producer_epoch, h.base_sequence) == (7, 3, 11)
    assert (h.records_count, h.last_offset_delta) == (5, 4)
    assert (h.base_timestamp, h.max_timestamp) == (1000, 1004)
    assert h.compression is Compression.ZSTD
    assert h.timestamp_type is TimestampType.CREATE_TIME
    assert h.is_transactional and not h.is_control and not h.has_delete_horizon
    assert h.delete_horizon_ms is None and h.has_producer_id
    assert (h.last_offset, h.next_offset) == (46, 47)
    assert h.size_in_bytes == len(data) == h.batch_length + 12
    assert h.last_sequence == 15
    assert h.attributes == 0x14


def test_last_sequence_wraps_like_kafka() -> None:
    h = BatchHeader.parse(_batch(producer_id=1, producer_epoch=0, base_sequence=2**31 - 2))
    assert h.last_sequence == 2
    assert increment_sequence(2**31 - 1, 1) == 0
    assert increment_sequence(5, 3) == 8
    assert BatchHeader.parse(_batch()).last_sequence == -1


@pytest.mark.parametrize("codec_id", [5, 6, 7])
def test_unknown_codec_ids_are_corrupt(codec_id: int) -> None:
    data = bytearray(_batch())
    data[22] |= codec_id
    with pytest.raises(CorruptRecordError):
        _ = BatchHeader.parse(data).compression


def test_parse_refuses_short_legacy_and_impossible_headers() -> None:
    data = _batch()
    for cut in range(61):
        with pytest.raises(DecodeError):
            BatchHeader.parse(data[:cut])
    with pytest.raises(DecodeError, match="magic"):
        BatchHeader.parse(encode_legacy([(0, None, b"v" * 60)], magic=1))
    short = bytearray(data)
    struct.pack_into(">i", short, 8, 48)
    with pytest.raises(DecodeError):
        BatchHeader.parse(short)


def test_iter_batch_positions_walks_mixed_magics_and_skips_a_partial_tail() -> None:
    blobs = [
        _batch(),
        encode_legacy([(1, b"a", b"b")], magic=0),
        encode_legacy([(1, b"a", b"b"), (2, None, None)], magic=1, compression=Compression.GZIP),
        _batch(compression=Compression.LZ4),
    ]
    whole = b"".join(blobs)
    expected, pos = [], 0
    for blob in blobs:
        expected.append((pos, len(blob), blob[16]))
        pos += len(blob)
    assert list(iter_batch_positions(whole)) == expected
    for cut in range(len(blobs[0])):
        assert list(iter_batch_positions(whole + blobs[0][:cut])) == expected
    assert list(iter_batch_positions(memoryview(whole), expected[1][0])) == expected[1:]
    assert [b.magic for b in read_batches(whole)] == [2, 0, 1, 2]


@pytest.mark.parametrize("size", [-1, 0, 13, -(2**31)])
def test_iter_batch_positions_refuses_impossible_lengths(size: int) -> None:
    data = bytearray(_batch())
    struct.pack_into(">i", data, 8, size)
    with pytest.raises(CorruptRecordError):
        list(iter_batch_positions(data))


def test_iter_batch_positions_refuses_unknown_magic_and_short_v2() -> None:
    data = bytearray(_batch())
    data[16] = 3
    with pytest.raises(CorruptRecordError):
        list(iter_batch_positions(data))
    data = bytearray(_batch())
    struct.pack_into(">i", data, 8, 30)
    with pytest.raises(CorruptRecordError):
        list(iter_batch_positions(data))


def test_verify_crc_detects_corruption_in_v2_and_legacy() -> None:
    for data in (_batch(), encode_legacy([(5, b"k", b"v")], magic=1)):
        verify_crc(data)
        for index in range(21 if data[16] == 2 else 16, len(data)):
            broken = bytearray(data)
            broken[index] ^= 0x10
            with pytest.raises(CorruptRecordError):
                verify_crc(broken)
        with pytest.raises(DecodeError):
            verify_crc(data[:-1])


def test_patches_leave_the_crc_valid() -> None:
    data = bytearray(b"\x00" * 3 + _batch())
    patch_base_offset(data, 3, 1_000_000)
    patch_partition_leader_epoch(memoryview(data), 3, 77)
    verify_crc(data, 3)
    h = BatchHeader.parse(data, 3)
    assert (h.base_offset, h.partition_leader_epoch) == (1_000_000, 77)
    assert [r.offset for r in next(read_batches(data, 3)).records()] == list(
        range(1_000_000, 1_000_005)
    )
    with pytest.raises(DecodeError):
        patch_base_offset(bytearray(4), 0, 1)
    with pytest.raises(DecodeError):
        patch_partition_leader_epoch(bytearray(encode_legacy([(0, None, b"v")], magic=1)), 0, 1)


def test_set_log_append_time_v2() -> None:
    data = bytearray(_batch(compression=Compression.GZIP, is_transactional=True, producer_id=1))
    set_log_append_time(data, 0, 99_999)
    verify_crc(data)
    batch = next(read_batches(data))
    assert batch.timestamp_type is TimestampType.LOG_APPEND_TIME
    assert batch.is_transactional and batch.compression is Compression.GZIP
    assert batch.max_timestamp == 99_999
    assert {r.timestamp for r in batch.records()} == {99_999}


def test_set_log_append_time_legacy() -> None:
    for codec in (Compression.NONE, Compression.SNAPPY):
        data = bytearray(encode_legacy([(5, b"k", b"v"), (6, None, b"w")], 1, codec))
        positions = [pos for pos, _, _ in iter_batch_positions(data)]
        for pos in positions:
            set_log_append_time(data, pos, 123)
            verify_crc(data, pos)
        batches = list(read_batches(data))
        assert all(b.timestamp_type is TimestampType.LOG_APPEND_TIME for b in batches)
        assert [r.timestamp for b in batches for r in b.records()] == [123, 123]
    with pytest.raises(ValueError):
        set_log_append_time(bytearray(encode_legacy([(5, b"k", b"v")], 0)), 0, 1)


def test_fix_crc_helper_agrees() -> None:
    data = bytearray(_batch())
    data[30] ^= 1
    fix_crc(data)
    verify_crc(data)


def test_builder_counts_and_sizes() -> None:
    builder = RecordBatchBuilder()
    assert len(builder) == 0 and builder.build() == b""
    for i in range(3):
        assert builder.append(i, None, b"x" * 10) == i
    assert len(builder) == 3
    assert builder.estimated_size() == len(builder.build())


def test_set_max_timestamp_create_time_like_the_leader() -> None:
    data = bytearray(_batch(compression=Compression.LZ4))
    before = bytes(data)
    set_max_timestamp(data, 0, 1004, TimestampType.CREATE_TIME)  # already so: untouched
    assert bytes(data) == before
    set_max_timestamp(data, 0, 5000, TimestampType.CREATE_TIME)
    verify_crc(data)
    h = BatchHeader.parse(data)
    assert (h.max_timestamp, h.timestamp_type) == (5000, TimestampType.CREATE_TIME)
    set_max_timestamp(data, 0, 6000)  # LOG_APPEND_TIME by default
    set_max_timestamp(data, 0, 7000, TimestampType.CREATE_TIME)  # and back
    verify_crc(data)
    assert BatchHeader.parse(data).timestamp_type is TimestampType.CREATE_TIME
    assert [r.timestamp for r in next(read_batches(data)).records()] == list(range(1000, 1005))
    with pytest.raises(DecodeError):
        set_max_timestamp(data[:-1], 0, 1)

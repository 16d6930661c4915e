"""Control records and transaction markers."""

from __future__ import annotations

import struct

import pytest

from rafka.protocol.records import (
    ControlRecordType,
    EndTxnMarker,
    InvalidRecordError,
    Record,
    RecordBatch,
    build_control_batch,
    build_end_txn_marker_batch,
    encode_control_key,
    encode_end_txn_marker,
    parse_control_key,
    parse_control_record,
    parse_end_txn_marker,
    verify_crc,
    walk_records,
)


@pytest.mark.parametrize("commit", [True, False])
def test_end_txn_marker_batch(commit: bool) -> None:
    data = build_end_txn_marker_batch(
        producer_id=4000,
        producer_epoch=3,
        commit=commit,
        coordinator_epoch=17,
        timestamp=1_700_000_000_000,
        base_offset=55,
        partition_leader_epoch=6,
    )
    verify_crc(data)
    batch = RecordBatch(data)
    h = batch.header
    assert h.is_control and h.is_transactional
    assert (h.producer_id, h.producer_epoch, h.base_sequence) == (4000, 3, -1)
    assert (h.base_offset, h.partition_leader_epoch, h.records_count) == (55, 6, 1)
    assert h.base_timestamp == h.max_timestamp == 1_700_000_000_000
    [record] = batch.records()
    assert record.key == struct.pack(">hh", 0, 1 if commit else 0)
    assert record.value == struct.pack(">hi", 0, 17)
    parsed = parse_control_record(record)
    assert parsed.type == (ControlRecordType.COMMIT if commit else ControlRecordType.ABORT)
    assert parsed.end_txn == EndTxnMarker(parsed.type, 17)
    assert parsed.end_txn.commit is commit
    assert walk_records(data).count == 1
    # Kafka's layout: 61-byte header + one 17-byte record (length varint 16).
    assert len(data) == 61 + 17


def test_other_control_types_and_unknown() -> None:
    data = build_control_batch(ControlRecordType.LEADER_CHANGE, b"\x00\x01", 5)
    [record] = RecordBatch(data).records()
    parsed = parse_control_record(record)
    assert parsed.type == ControlRecordType.LEADER_CHANGE and parsed.end_txn is None
    assert parse_control_key(struct.pack(">hh", 0, 99)) == (0, ControlRecordType.UNKNOWN)
    assert parse_control_key(struct.pack(">hhh", 3, 1, 0)) == (3, ControlRecordType.COMMIT)
    with pytest.raises(ValueError):
        encode_control_key(ControlRecordType.UNKNOWN)


@pytest.mark.parametrize("key", [None, b"", b"\x00\x00\x00", struct.pack(">hh", -1, 0)])
def test_bad_control_keys(key: bytes | None) -> None:
    with pytest.raises(InvalidRecordError):
        parse_control_key(key)


@pytest.mark.parametrize("value", [None, b"", b"\x00", struct.pack(">h", -1), b"\x00\x00\x00"])
def test_bad_marker_values(value: bytes | None) -> None:
    with pytest.raises(InvalidRecordError):
        parse_end_txn_marker(ControlRecordType.ABORT, value)


def test_marker_value_versions() -> None:
    assert encode_end_txn_marker(9) == b"\x00\x00\x00\x00\x00\x09"
    newer = struct.pack(">hih", 2, 9, 0)
    assert parse_end_txn_marker(ControlRecordType.COMMIT, newer) == EndTxnMarker(
        ControlRecordType.COMMIT, 9, 2
    )
    with pytest.raises(ValueError):
        parse_end_txn_marker(ControlRecordType.LEADER_CHANGE, newer)
    record = Record(0, 0, encode_control_key(ControlRecordType.ABORT), b"\x00")
    with pytest.raises(InvalidRecordError):
        parse_control_record(record)

"""Apache Kafka as the judge: rafka's batches against kafka-clients' MemoryRecordsBuilder.

Byte for byte for every magic with no compression, gzip and lz4 (including magic 0's broken
lz4 header checksum) and zstd while the records section fits one 128 KiB block (past that,
libzstd versions may choose other matches at level 3). Snappy compressors differ (Kafka's is
C++ snappy, python-snappy's is Rust snap): there the xerial framing is compared, and the reading.
Each side reads the other's batches. Kafka's builder refuses negative timestamps other than -1,
so timestamps here are >= 0.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rafka.protocol.records import (
    Compression,
    Record,
    RecordBatchBuilder,
    TimestampType,
    build_end_txn_marker_batch,
    iter_batch_positions,
    read_batches,
)
from tests.peers.java import JavaCodec
from tests.protocol.records.strategies import FAST, LEGACY_CODECS, V2_CODECS, record_lists

pytestmark = pytest.mark.java

RecordTuple = tuple[int, bytes | None, bytes | None, tuple[tuple[str, bytes | None], ...]]
_JAVA_TS_TYPE = {
    TimestampType.CREATE_TIME: "create",
    TimestampType.LOG_APPEND_TIME: "log_append",
    TimestampType.NO_TIMESTAMP_TYPE: "none",
}


def _java_records(records: list[RecordTuple]) -> list[dict[str, Any]]:
    return [
        {"timestamp": ts, "key": key, "value": value, "headers": list(headers)}
        for ts, key, value, headers in records
    ]


def _from_java(batches: list[dict[str, Any]]) -> list[Record]:
    out = []
    for batch in batches:
        assert batch["crcValid"] is True
        assert not batch.get("recordsError")
        for r in batch["records"]:
            headers = tuple((h["key"], h["value"]) for h in r["headers"])
            out.append(Record(r["offset"], r["timestamp"], r["key"], r["value"], headers))
    return out


def _assert_same_bytes(codec: Compression, ours: bytes, theirs: bytes, plain_size: int) -> None:
    if codec == Compression.SNAPPY:
        header = (26, 34, 61)[ours[16]]  # where the compressed payload starts
        assert ours[header : header + 16] == theirs[header : header + 16]
    elif codec != Compression.ZSTD or plain_size < 100_000:
        assert ours.hex() == theirs.hex()


def _plain_size(records: list[RecordTuple]) -> int:
    return sum(len(v or b"") + len(k or b"") + 30 for _, k, v, _ in records)


def _build(magic: int, codec: Compression, records: list[RecordTuple], **kwargs: Any) -> bytes:
    builder = RecordBatchBuilder(magic=magic, compression=codec, **kwargs)
    for ts, key, value, headers in records:
        builder.append(ts, key, value, headers)
    return builder.build()


@pytest.mark.parametrize("codec", V2_CODECS)
@FAST
@given(
    records=record_lists(st.integers(0, 2**45)),
    timestamp_type=st.sampled_from([TimestampType.CREATE_TIME, TimestampType.LOG_APPEND_TIME]),
    transactional=st.booleans(),
    base_offset=st.integers(0, 2**50),
    leader_epoch=st.integers(-1, 2**31 - 1),
)
def test_v2_batches_match_kafka(
    java_codec: JavaCodec,
    codec: Compression,
    records: list[RecordTuple],
    timestamp_type: TimestampType,
    transactional: bool,
    base_offset: int,
    leader_epoch: int,
) -> None:
    producer = {"producer_id": 77, "producer_epoch": 4, "base_sequence": 2**31 - 3}
    if not transactional:
        producer = {"producer_id": -1, "producer_epoch": -1, "base_sequence": -1}
    common: dict[str, Any] = dict(
        base_offset=base_offset,
        partition_leader_epoch=leader_epoch,
        log_append_time=1234,
        **producer,
    )
    theirs = java_codec.build_batch(
        magic=2,
        compression=codec.name.lower(),
        timestamp_type=_JAVA_TS_TYPE[timestamp_type],
        transactional=transactional,
        records=_java_records(records),
        **common,
    )
    ours = _build(
        2, codec, records, timestamp_type=timestamp_type, is_transactional=transactional, **common
    )
    _assert_same_bytes(codec, ours, theirs, _plain_size(records))
    assert _from_java(java_codec.read_batches(ours)) == next(read_batches(theirs)).records()
    assert next(read_batches(ours)).records() == _from_java(java_codec.read_batches(theirs))


@pytest.mark.parametrize("codec", LEGACY_CODECS)
@pytest.mark.parametrize("magic", [0, 1])
@FAST
@given(records=record_lists(st.integers(0, 2**45), headers=False), log_append=st.booleans())
def test_legacy_message_sets_match_kafka(
    java_codec: JavaCodec,
    codec: Compression,
    magic: int,
    records: list[RecordTuple],
    log_append: bool,
) -> None:
    timestamp_type = TimestampType.CREATE_TIME if magic else TimestampType.NO_TIMESTAMP_TYPE
    if log_append and magic:
        timestamp_type = TimestampType.LOG_APPEND_TIME
    theirs = java_codec.build_batch(
        magic=magic,
        compression=codec.name.lower(),
        timestamp_type=_JAVA_TS_TYPE[timestamp_type],
        base_offset=300,
        log_append_time=99,
        records=_java_records(records),
    )
    ours = _build(
        magic,
        codec,
        records,
        base_offset=300,
        log_append_time=99,
        timestamp_type=TimestampType.CREATE_TIME if magic == 0 else timestamp_type,
    )
    _assert_same_bytes(codec, ours, theirs, _plain_size(records))
    java_view = _from_java(java_codec.read_batches(ours))
    assert java_view == [r for b in read_batches(theirs) for r in b.records()]


@pytest.mark.parametrize("commit", [True, False])
@FAST
@given(
    producer_id=st.integers(0, 2**63 - 1),
    producer_epoch=st.integers(0, 2**15 - 1),
    coordinator_epoch=st.integers(0, 2**31 - 1),
    timestamp=st.integers(0, 2**45),
    base_offset=st.integers(0, 2**50),
)
def test_end_txn_markers_match_kafka(
    java_codec: JavaCodec,
    commit: bool,
    producer_id: int,
    producer_epoch: int,
    coordinator_epoch: int,
    timestamp: int,
    base_offset: int,
) -> None:
    theirs = java_codec.build_end_txn_marker(
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        commit=commit,
        coordinator_epoch=coordinator_epoch,
        timestamp=timestamp,
        base_offset=base_offset,
        partition_leader_epoch=3,
    )
    ours = build_end_txn_marker_batch(
        producer_id, producer_epoch, commit, coordinator_epoch, timestamp, base_offset, 3
    )
    assert ours.hex() == theirs.hex()
    [batch] = java_codec.read_batches(ours)
    assert batch["control"] and batch["transactional"]
    assert batch["records"][0]["controlType"] == ("COMMIT" if commit else "ABORT")
    assert batch["records"][0]["coordinatorEpoch"] == coordinator_epoch


def test_partial_tail_is_skipped_like_kafka(java_codec: JavaCodec) -> None:
    records: list[RecordTuple] = [(5, b"k", b"v" * 50, ())]
    blob = b"".join(
        [
            _build(2, Compression.NONE, records),
            _build(1, Compression.GZIP, records),
            _build(0, Compression.NONE, records),
            _build(2, Compression.LZ4, records),
        ]
    )
    for cut in range(0, len(blob), 7):
        batches, trailing = java_codec.read_batches_with_trailing(blob[:cut])
        ours = list(iter_batch_positions(blob[:cut]))
        assert len(ours) == len(batches)
        assert cut - sum(size for _, size, _ in ours) == trailing

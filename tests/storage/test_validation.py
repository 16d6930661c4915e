"""Bad produce input gets Kafka's error and leaves the log untouched."""

from __future__ import annotations

import os
import struct

import pytest

from rafka import errors
from rafka.protocol.records import (
    BatchHeader,
    Compression,
    RecordBatch,
    RecordBatchBuilder,
    compress,
    compute_crc,
    encode_legacy,
)
from rafka.storage import AppendOrigin, LogConfig, ManualClock
from rafka.storage.byte_store import FileStore
from rafka.storage.errors import OffsetsOutOfOrderError
from rafka.storage.unified_log import UnifiedLog
from tests.protocol.records.strategies import assemble_batch, raw_record
from tests.storage.batches import batch, marker
from tests.storage.conftest import START_MS, MakeLog


def _fix_crc(raw: bytearray) -> bytearray:
    raw[17:21] = struct.pack(">I", compute_crc(raw))
    return raw


@pytest.fixture(params=["memory", "disk", "disk-write-ahead"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _state(log: UnifiedLog) -> tuple[object, ...]:
    data = bytes(log.read(log.log_start_offset, 1 << 20).records)
    files = [os.path.getsize(s.store.path) for s in log.segments if isinstance(s.store, FileStore)]
    return log.log_end_offset, log.size, data, log.leader_epoch_cache.entries(), files


def _reject(log: UnifiedLog, data: bytes | bytearray, error: type[Exception], **kw: object) -> None:
    before = _state(log)
    with pytest.raises(error):
        log.append(data, leader_epoch=4, **kw)  # type: ignore[arg-type]
    assert _state(log) == before


@pytest.fixture
def log(make_log: MakeLog) -> UnifiedLog:
    log = make_log()
    log.append(batch(2), leader_epoch=1)
    return log


def test_wrong_crc(log: UnifiedLog) -> None:
    raw = bytearray(batch(3))
    raw[-1] ^= 0xFF
    _reject(log, raw, errors.CorruptMessageError)


def test_wrong_magic(log: UnifiedLog) -> None:
    raw = bytearray(batch(3))
    raw[16] = 7
    _reject(log, raw, errors.CorruptMessageError)
    _reject(log, encode_legacy([(START_MS, b"k", b"v")], magic=1), errors.InvalidRecordError)


def test_size_field_below_minimum(log: UnifiedLog) -> None:
    raw = bytearray(batch(3))
    raw[8:12] = struct.pack(">i", 5)
    _reject(log, raw, errors.CorruptMessageError)


def test_length_smaller_than_header(log: UnifiedLog) -> None:
    raw = bytearray(batch(3))
    raw[8:12] = struct.pack(">i", 30)  # a v2 batch needs 49
    _reject(log, raw, errors.CorruptMessageError)


def test_truncated_batch_is_no_batch(log: UnifiedLog) -> None:
    _reject(log, batch(3)[:-5], errors.InvalidRecordError)
    _reject(log, b"", errors.InvalidRecordError)


def test_count_does_not_match_last_offset_delta(log: UnifiedLog) -> None:
    raw = bytearray(batch(3))
    raw[57:61] = struct.pack(">i", 4)
    _reject(log, _fix_crc(raw), errors.InvalidRecordError)
    raw = bytearray(batch(3))
    raw[23:27] = struct.pack(">i", 1)
    raw[57:61] = struct.pack(">i", 2)  # consistent header, but 3 records follow
    _reject(log, _fix_crc(raw), errors.InvalidRecordError)


def test_zero_records(log: UnifiedLog) -> None:
    raw = bytearray(batch(1))
    raw[57:61] = struct.pack(">i", 0)
    _reject(log, _fix_crc(raw), errors.InvalidRecordError)


def test_record_length_overruns(log: UnifiedLog) -> None:
    raw = bytearray(batch(2))
    raw[61] = 0x7E  # first record claims 63 bytes
    _reject(log, _fix_crc(raw), errors.InvalidRecordError)


def test_nonzero_base_offset(log: UnifiedLog) -> None:
    raw = bytearray(batch(2))
    raw[0:8] = struct.pack(">q", 7)
    _reject(log, raw, errors.InvalidRecordError)


def test_two_batches_in_one_produce(log: UnifiedLog) -> None:
    _reject(log, batch(1) + batch(1), errors.InvalidRecordError)


def test_control_batch_from_client(log: UnifiedLog) -> None:
    _reject(log, marker(5, 0, commit=True), errors.InvalidRecordError)


def test_idempotent_batch_without_sequence(log: UnifiedLog) -> None:
    _reject(
        log, batch(1, producer_id=3, producer_epoch=0, base_sequence=-1), errors.InvalidRecordError
    )


def test_too_large(make_log: MakeLog) -> None:
    log = make_log(LogConfig(max_message_bytes=200))
    _reject(log, batch(20), errors.MessageTooLargeError)


def test_larger_than_segment(make_log: MakeLog) -> None:
    log = make_log(LogConfig(internal_segment_bytes=150))
    _reject(log, batch(20), errors.RecordListTooLargeError)


def test_null_key_on_compacted_topic(make_log: MakeLog) -> None:
    log = make_log(LogConfig(cleanup_policy=("compact",)))
    _reject(log, batch([(None, b"v")]), errors.InvalidRecordError)
    log.append(batch([(b"k", None)]))  # a tombstone with a key is fine


def test_timestamp_bounds(make_log: MakeLog, clock: ManualClock) -> None:
    log = make_log(
        LogConfig(message_timestamp_before_max_ms=1000, message_timestamp_after_max_ms=500)
    )
    _reject(log, batch(2, timestamp=START_MS - 1001), errors.InvalidTimestampError)
    _reject(log, batch(2, timestamp=START_MS + 501), errors.InvalidTimestampError)
    log.append(batch(2, timestamps=[START_MS - 1000, START_MS + 500]))


def test_default_after_max_is_one_hour(make_log: MakeLog) -> None:
    log = make_log()
    _reject(log, batch(1, timestamp=START_MS + 3_600_001), errors.InvalidTimestampError)
    log.append(batch(1, timestamp=START_MS + 3_600_000))
    log.append(batch(1, timestamp=1))  # before.max.ms is unbounded by default


def test_producer_chosen_log_append_time(make_log: MakeLog) -> None:
    builder = RecordBatchBuilder(timestamp_type=1, log_append_time=START_MS)  # type: ignore[arg-type]
    builder.append(START_MS, b"k", b"v")
    log = make_log(LogConfig(message_timestamp_type="LogAppendTime"))
    _reject(log, builder.build(), errors.InvalidTimestampError)


def test_replicated_corruption(make_log: MakeLog) -> None:
    leader = make_log(name="leader-0")
    for _ in range(3):
        leader.append(batch(2))
    data = bytearray(leader.read(0, 10_000).records)
    follower = make_log(name="follower-0")
    bad = bytearray(data)
    bad[-3] ^= 1
    _reject(follower, bad, errors.CorruptMessageError, origin=AppendOrigin.REPLICATION)
    swapped = bytes(data[len(data) // 3 :]) + bytes(data[: len(data) // 3])
    _reject(follower, swapped, OffsetsOutOfOrderError, origin=AppendOrigin.REPLICATION)
    follower.append(bytes(data) + b"\x00\x00\x00", origin=AppendOrigin.REPLICATION)  # tail ignored
    assert follower.log_end_offset == 6


def _with_offset_deltas(deltas: list[int], codec: Compression) -> bytes:
    """A batch of ``len(deltas)`` records whose offset deltas are ``deltas`` (header consistent)."""
    section = b"".join(raw_record(d, i, b"k%d" % i, b"v%d" % i) for i, d in enumerate(deltas))
    if codec != Compression.NONE:
        section = compress(codec, section)
    return assemble_batch(
        section, count=len(deltas), attributes=int(codec), base_timestamp=START_MS
    )


@pytest.mark.parametrize("deltas", [[0, 0, 1], [0, 5, 2], [3, 4, 5]])
def test_records_offset_deltas_as_kafka_takes_them(log: UnifiedLog, deltas: list[int]) -> None:
    """An uncompressed batch whose records' offset deltas are not 0..n-1 is stored as sent
    (Kafka checks the header only); a compressed one is refused (see the validator)."""
    sent = _with_offset_deltas(deltas, Compression.NONE)
    info = log.append(sent, leader_epoch=4)
    end = log.log_end_offset
    assert (info.first_offset, info.last_offset) == (end - 3, end - 1)
    stored = bytes(log.read(info.first_offset, 1 << 20).records)
    assert BatchHeader.parse(stored, 0).size_in_bytes == len(stored)  # one batch
    assert stored[61:] == sent[61:]  # the records as sent
    records = RecordBatch(stored).records()
    assert [(r.offset - info.first_offset, r.key, r.timestamp) for r in records] == [
        (d, b"k%d" % i, START_MS + i) for i, d in enumerate(deltas)
    ]
    _reject(log, _with_offset_deltas(deltas, Compression.GZIP), errors.InvalidRecordError)

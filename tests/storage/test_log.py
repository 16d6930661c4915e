"""The partition log's basic behaviour, on both backends."""

from __future__ import annotations

import pytest

from rafka import errors
from rafka.protocol.records import BatchHeader, Compression, read_batches
from rafka.storage import (
    EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP,
    MAX_TIMESTAMP,
    AppendOrigin,
    LogConfig,
    ManualClock,
    PartitionLog,
)
from rafka.storage.errors import LogClosedError, UnexpectedAppendOffsetError
from tests.storage.batches import batch, offsets, records
from tests.storage.conftest import START_MS, MakeLog


def test_implements_the_interface(make_log: MakeLog) -> None:
    assert isinstance(make_log(), PartitionLog)


def test_append_assigns_offsets_and_read_returns_whole_batches(make_log: MakeLog) -> None:
    log = make_log()
    infos = [log.append(batch(3), leader_epoch=5) for _ in range(4)]
    assert [(i.first_offset, i.last_offset, i.records_count) for i in infos] == [
        (0, 2, 3),
        (3, 5, 3),
        (6, 8, 3),
        (9, 11, 3),
    ]
    assert log.log_end_offset == 12
    got = log.read(4, 10_000)
    assert offsets(got.records) == [(3, 5), (6, 8), (9, 11)]
    assert got.next_offset == 12
    header = BatchHeader.parse(got.records)
    assert header.partition_leader_epoch == 5


def test_read_limits(make_log: MakeLog) -> None:
    log = make_log()
    sizes = [log.append(batch(2)).size for _ in range(5)]
    one = sizes[0]
    assert offsets(log.read(0, one + 1).records) == [(0, 1)]
    assert offsets(log.read(0, 2 * one).records) == [(0, 1), (2, 3)]
    small = log.read(0, 10)
    assert offsets(small.records) == [(0, 1)]  # min_one_message
    strict = log.read(0, 10, min_one_message=False)
    assert strict.size == 0 and strict.first_entry_incomplete
    assert offsets(log.read(0, 10_000, max_offset=6).records) == [(0, 1), (2, 3), (4, 5)]
    assert offsets(log.read(0, 10_000, max_offset=5).records) == [(0, 1), (2, 3)]
    assert log.read(10, 100).size == 0
    assert log.read(4, 100, max_offset=4).size == 0


def test_read_out_of_range(make_log: MakeLog) -> None:
    log = make_log()
    log.append(batch(2))
    with pytest.raises(errors.OffsetOutOfRangeError):
        log.read(3, 100)
    with pytest.raises(errors.OffsetOutOfRangeError):
        log.read(-1, 100)


def test_memory_reads_are_zero_copy_views(clock: ManualClock) -> None:
    from rafka.storage import MemoryLog

    log = MemoryLog(clock=clock)
    log.append(batch(2))
    first = log.read(0, 1000)
    view = first.chunks[0]
    assert isinstance(view, memoryview) and view.readonly
    again = log.read(0, 1000).chunks[0]
    assert view.obj is again.obj  # the same stored buffer
    before = bytes(view)
    log.truncate_to(0)
    log.append(batch(3))
    assert bytes(view) == before  # views handed out stay valid and unchanged


def test_high_watermark_and_last_stable_offset(make_log: MakeLog) -> None:
    log = make_log()
    log.append(batch(3))
    log.high_watermark = 100
    assert log.high_watermark == 3
    log.high_watermark = -5
    assert log.high_watermark == 0
    log.high_watermark = 2
    assert log.last_stable_offset == 2
    log.append(batch(2, producer_id=7, producer_epoch=0, base_sequence=0, transactional=True))
    log.high_watermark = 5
    assert log.first_unstable_offset == 3
    assert log.last_stable_offset == 3


def test_truncate_to(make_log: MakeLog) -> None:
    log = make_log(LogConfig(internal_segment_bytes=300))
    for epoch in range(6):
        log.append(batch(3), leader_epoch=epoch)
    assert len(log.segments) > 1
    assert log.truncate_to(9)  # a batch boundary
    assert log.log_end_offset == 9
    assert offsets(log.read(6, 10_000).records)[-1][1] == 8
    assert log.leader_epoch_cache.entries()[-1][1] < 9
    assert log.truncate_to(7)  # inside [6, 8]: the whole batch goes, the end is 6
    assert log.log_end_offset == 6
    assert not log.truncate_to(50)
    info = log.append(batch(1))
    assert info.first_offset == 6


def test_truncate_fully_and_start_at(make_log: MakeLog) -> None:
    log = make_log()
    log.append(batch(3), leader_epoch=1)
    log.truncate_fully_and_start_at(100)
    assert (log.log_start_offset, log.log_end_offset, log.high_watermark) == (100, 100, 100)
    assert log.leader_epoch_cache.entries() == []
    assert log.append(batch(1)).first_offset == 100
    assert offsets(log.read(100, 1000).records) == [(100, 100)]


def test_delete_records_before(make_log: MakeLog) -> None:
    log = make_log(LogConfig(internal_segment_bytes=200))
    for _ in range(6):
        log.append(batch(2), leader_epoch=3)
    with pytest.raises(errors.OffsetOutOfRangeError):
        log.delete_records_before(5)  # beyond the high watermark
    log.high_watermark = log.log_end_offset
    assert log.delete_records_before(5) == 5
    assert log.log_start_offset == 5
    assert log.segments[0].base_offset <= 5
    with pytest.raises(errors.OffsetOutOfRangeError):
        log.read(4, 100)
    assert offsets(log.read(5, 100).records)[0] == (4, 5)  # the batch holding 5
    assert log.leader_epoch_cache.entries() == [(3, 5)]


def test_offset_for_timestamp(make_log: MakeLog) -> None:
    log = make_log(LogConfig(internal_segment_bytes=200, index_interval_bytes=1))
    for i in range(8):
        stamps = [START_MS + 10 * i + j for j in range(3)]
        log.append(batch(3, timestamps=stamps), leader_epoch=2)
    found = log.offset_for_timestamp(START_MS + 41)
    assert found is not None and (found.timestamp, found.offset, found.leader_epoch) == (
        START_MS + 41,
        13,
        2,
    )
    found = log.offset_for_timestamp(START_MS + 43)
    assert found is not None and found.offset == 15
    assert log.offset_for_timestamp(START_MS + 1000) is None
    assert log.offset_for_timestamp(0) is not None
    latest = log.offset_for_timestamp(LATEST_TIMESTAMP)
    assert latest is not None and latest.offset == 24 and latest.leader_epoch == 2
    earliest = log.offset_for_timestamp(EARLIEST_TIMESTAMP)
    assert earliest is not None and earliest.offset == 0
    top = log.offset_for_timestamp(MAX_TIMESTAMP)
    assert top is not None and (top.timestamp, top.offset) == (START_MS + 72, 23)


def test_leader_epochs(make_log: MakeLog) -> None:
    log = make_log()
    log.append(batch(2), leader_epoch=1)
    log.append(batch(2), leader_epoch=1)
    log.append(batch(2), leader_epoch=3)
    assert log.leader_epoch_cache.entries() == [(1, 0), (3, 4)]
    assert log.end_offset_for_epoch(1) == (1, 4)
    assert log.end_offset_for_epoch(2) == (1, 4)
    assert log.end_offset_for_epoch(3) == (3, 6)
    assert log.end_offset_for_epoch(0) == (0, 0)
    assert log.end_offset_for_epoch(9) == (-1, -1)


def test_replication_keeps_offsets(make_log: MakeLog) -> None:
    leader = make_log(name="leader-0")
    for epoch in (1, 1, 2):
        leader.append(batch(2), leader_epoch=epoch)
    data = bytes(leader.read(0, 10_000).records)
    follower = make_log(name="follower-0")
    info = follower.append(data, origin=AppendOrigin.REPLICATION)
    assert (info.first_offset, info.last_offset) == (0, 5)
    assert follower.leader_epoch_cache.entries() == [(1, 0), (2, 4)]
    assert bytes(follower.read(0, 10_000).records) == data
    with pytest.raises(UnexpectedAppendOffsetError):
        follower.append(data, origin=AppendOrigin.REPLICATION)


def test_log_append_time(make_log: MakeLog, clock: ManualClock) -> None:
    log = make_log(LogConfig(message_timestamp_type="LogAppendTime"))
    clock.advance(5000)
    info = log.append(batch(3, timestamp=START_MS - 10_000_000))
    assert info.log_append_time == START_MS + 5000
    read = log.read(0, 1000).records
    (stored,) = list(read_batches(read))
    stored.verify_crc()
    assert stored.timestamp_type.name == "LOG_APPEND_TIME"
    assert [r.timestamp for r in stored.records()] == [START_MS + 5000] * 3


def test_max_timestamp_is_recomputed(make_log: MakeLog) -> None:
    raw = bytearray(batch(3, timestamps=[START_MS, START_MS + 7, START_MS + 3]))
    from rafka.protocol.records import compute_crc

    raw[35:43] = (START_MS + 1).to_bytes(8, "big")  # a lying max timestamp, CRC fixed up
    raw[17:21] = compute_crc(raw).to_bytes(4, "big")
    log = make_log()
    info = log.append(raw)
    assert info.max_timestamp == START_MS + 7
    (stored,) = list(read_batches(log.read(0, 1000).records))
    stored.verify_crc()
    assert stored.max_timestamp == START_MS + 7


def test_recompression_to_topic_codec(make_log: MakeLog) -> None:
    log = make_log(LogConfig(compression_type="gzip"))
    log.append(batch([(b"a", b"1"), (b"b", b"2")]))
    (stored,) = list(read_batches(log.read(0, 1000).records))
    assert stored.compression == Compression.GZIP
    assert records(log.read(0, 1000).records) == [(0, b"a", b"1"), (1, b"b", b"2")]


def test_compressed_batches_are_stored_as_sent(make_log: MakeLog) -> None:
    log = make_log()
    sent = batch(50, compression=Compression.LZ4)
    log.append(sent)
    stored = bytes(log.read(0, 100_000).records)
    assert stored[61:] == sent[61:]
    assert len(records(stored)) == 50


def test_closed_log_refuses_calls(make_log: MakeLog) -> None:
    log = make_log()
    log.close()
    with pytest.raises(LogClosedError):
        log.append(batch(1))
    with pytest.raises(LogClosedError):
        log.read(0, 10)


def test_aborted_transactions_are_reported(make_log: MakeLog) -> None:
    from tests.storage.batches import marker

    log = make_log()
    log.append(batch(2))
    log.append(batch(2, producer_id=9, producer_epoch=0, base_sequence=0, transactional=True))
    log.append(marker(9, 0, commit=False), origin=AppendOrigin.COORDINATOR)
    log.append(batch(1))
    log.high_watermark = log.log_end_offset
    got = log.read(0, 10_000, include_aborted_txns=True)
    assert got.aborted_transactions is not None
    assert [(t.producer_id, t.first_offset, t.last_offset) for t in got.aborted_transactions] == [
        (9, 2, 4)
    ]
    assert log.read(5, 10_000, include_aborted_txns=True).aborted_transactions == ()

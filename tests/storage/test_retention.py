"""Segment rolls and retention, on a virtual clock."""

from __future__ import annotations

from rafka.storage import LogConfig, ManualClock
from rafka.storage.decisions import (
    RollParams,
    SegmentStats,
    deletable_segments,
    is_flush_due,
    retention_size_breached,
    should_roll,
)
from tests.storage.batches import batch
from tests.storage.conftest import START_MS, MakeLog

HOUR = 3_600_000


def _roll(**overrides: int | bool) -> bool:
    base = RollParams(
        segment_size=100,
        segment_bytes=1000,
        messages_size=10,
        time_waited_ms=0,
        segment_ms=HOUR,
        roll_jitter_ms=0,
        offset_index_full=False,
        time_index_full=False,
        offset_fits=True,
    )
    return should_roll(base._replace(**overrides))  # type: ignore[arg-type]


def test_should_roll_rules() -> None:
    assert not _roll()
    assert _roll(segment_size=991)
    assert not _roll(segment_size=990)
    assert _roll(time_waited_ms=HOUR + 1)
    assert not _roll(time_waited_ms=HOUR + 1, segment_size=0)  # never roll an empty segment
    assert _roll(time_waited_ms=HOUR - 99, roll_jitter_ms=100)
    assert _roll(offset_index_full=True)
    assert _roll(time_index_full=True)
    assert _roll(offset_fits=False)


def test_deletable_segments_rules() -> None:
    segs = [SegmentStats(0, 10, 1), SegmentStats(5, 10, 2), SegmentStats(9, 0, 3)]
    always = lambda _s, _n: True  # noqa: E731
    assert deletable_segments(segs, high_watermark=9, log_end_offset=9, predicate=always) == 2
    assert deletable_segments(segs, high_watermark=6, log_end_offset=9, predicate=always) == 1
    by_size = retention_size_breached(20, 5)
    assert deletable_segments(segs, high_watermark=9, log_end_offset=9, predicate=by_size) == 1


def test_is_flush_due() -> None:
    kw = {"flush_messages": 10, "now_ms": 100, "last_flush_ms": 50, "flush_ms": 1000}
    assert not is_flush_due(unflushed_messages=0, **kw)
    assert not is_flush_due(unflushed_messages=9, **kw)
    assert is_flush_due(unflushed_messages=10, **kw)
    assert is_flush_due(unflushed_messages=1, **{**kw, "now_ms": 1050})


def test_roll_on_segment_bytes(make_log: MakeLog) -> None:
    log = make_log(LogConfig(internal_segment_bytes=250))
    for _ in range(6):
        log.append(batch(2))
    sizes = [s.size for s in log.segments]
    assert len(sizes) == 3 and all(s <= 250 for s in sizes)
    assert [s.base_offset for s in log.segments] == [0, 4, 8]


def test_roll_on_segment_ms_uses_record_time(make_log: MakeLog, clock: ManualClock) -> None:
    log = make_log(LogConfig(segment_ms=HOUR))
    log.append(batch(1, timestamp=START_MS))
    clock.advance(HOUR + 10)
    log.append(batch(1, timestamp=START_MS + HOUR))  # record time: not yet
    assert len(log.segments) == 1
    info = log.append(batch(1, timestamp=START_MS + HOUR + 1))
    assert len(log.segments) == 2 and log.segments[1].base_offset == 2
    assert info.flush_needed


def test_roll_on_full_index(make_log: MakeLog) -> None:
    log = make_log(LogConfig(segment_index_bytes=24, index_interval_bytes=1))
    for _ in range(8):
        log.append(batch(1))
    # 3 offset-index entries or 1 time-index entry (+1 reserved) fill an index
    assert len(log.segments) > 2
    assert all(len(s.offset_index) <= 3 for s in log.segments)


def test_retention_ms(make_log: MakeLog, clock: ManualClock) -> None:
    log = make_log(LogConfig(internal_segment_bytes=200, retention_ms=10_000))
    for i in range(6):
        log.append(batch(2, timestamp=START_MS + 1000 * i))
    segments = len(log.segments)
    assert segments >= 3
    log.high_watermark = log.log_end_offset
    clock.set(START_MS + 11_500)  # segments whose newest record is before START_MS + 1500
    deleted = log.delete_old_segments()
    assert deleted >= 1
    assert log.log_start_offset == log.segments[0].base_offset > 0
    clock.set(START_MS + 100_000)
    log.delete_old_segments()
    assert len(log.segments) == 1 and log.segments[0].size == 0  # rolled, then all deleted
    assert log.log_start_offset == log.log_end_offset == 12


def test_retention_waits_for_the_high_watermark(make_log: MakeLog, clock: ManualClock) -> None:
    log = make_log(LogConfig(internal_segment_bytes=200, retention_ms=1))
    for _ in range(4):
        log.append(batch(2))
    clock.advance(10_000)
    assert log.delete_old_segments() == 0
    log.high_watermark = 4
    assert log.delete_old_segments() >= 1
    assert log.segments[0].base_offset <= 4


def test_retention_bytes(make_log: MakeLog) -> None:
    log = make_log(LogConfig(internal_segment_bytes=200, retention_bytes=300))
    for _ in range(8):
        log.append(batch(2))
    log.high_watermark = log.log_end_offset
    log.delete_old_segments()
    assert log.size >= 300 - 200
    assert sum(s.size for s in log.segments[1:]) < 300


def test_compact_only_topics_keep_old_segments(make_log: MakeLog, clock: ManualClock) -> None:
    log = make_log(
        LogConfig(internal_segment_bytes=200, retention_ms=1, cleanup_policy=("compact",))
    )
    for _ in range(4):
        log.append(batch(2))
    log.high_watermark = log.log_end_offset
    clock.advance(10_000)
    assert log.delete_old_segments() == 0


def test_roll_jitter_is_deterministic(make_log: MakeLog) -> None:
    import random

    cfg = LogConfig(segment_jitter_ms=1000, segment_ms=HOUR)
    a = make_log(cfg, name="a-0", rng=random.Random(5))
    b = make_log(cfg, name="b-0", rng=random.Random(5))
    assert a.segments[0].roll_jitter_ms == b.segments[0].roll_jitter_ms < 1000

"""Roll, retention, flush and cleaning decisions: pure functions over plain values.

Nothing here reads a clock or touches a segment; the logs gather the values and act on the
answers, so each rule can be tested on its own (and compared with Kafka's line by line).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

__all__ = [
    "Predicate",
    "RollParams",
    "SegmentStats",
    "cleanable_dirty_ratio",
    "deletable_segments",
    "is_flush_due",
    "log_start_offset_breached",
    "retention_ms_breached",
    "retention_size_breached",
    "should_roll",
]


class RollParams(NamedTuple):
    """What decides whether the active segment rolls before an append."""

    segment_size: int
    segment_bytes: int
    messages_size: int
    #: ``time_waited_for_roll`` of the segment: by record timestamps when known, else wall time.
    time_waited_ms: int
    segment_ms: int
    roll_jitter_ms: int
    offset_index_full: bool
    time_index_full: bool
    #: Whether the append's last offset fits the segment's int32 relative offsets.
    offset_fits: bool


def should_roll(p: RollParams) -> bool:
    """Kafka's ``LogSegment.shouldRoll``: a full segment, an old non-empty one, a full index,
    or an offset the segment cannot represent."""
    reached_roll_ms = p.time_waited_ms > p.segment_ms - p.roll_jitter_ms
    return (
        p.segment_size > p.segment_bytes - p.messages_size
        or (p.segment_size > 0 and reached_roll_ms)
        or p.offset_index_full
        or p.time_index_full
        or not p.offset_fits
    )


class SegmentStats(NamedTuple):
    """The values retention looks at for one segment."""

    base_offset: int
    size: int
    #: Largest record timestamp (or, without one, when the segment was created).
    largest_timestamp: int


#: ``predicate(segment, next segment or None) -> deletable``; may keep state across calls.
Predicate = Callable[[SegmentStats, SegmentStats | None], bool]


def deletable_segments(
    segments: Sequence[SegmentStats],
    *,
    high_watermark: int,
    log_end_offset: int,
    predicate: Predicate,
) -> int:
    """How many leading segments may be deleted: they satisfy ``predicate``, lie wholly below
    the high watermark, and are not the last segment when it is empty."""
    count = 0
    for i, segment in enumerate(segments):
        nxt = segments[i + 1] if i + 1 < len(segments) else None
        upper = nxt.base_offset if nxt is not None else log_end_offset
        if not (high_watermark >= upper and predicate(segment, nxt)):
            break
        if nxt is None and segment.size == 0:
            break
        count += 1
    return count


def retention_ms_breached(now_ms: int, retention_ms: int) -> Predicate:
    """Segments whose newest record is older than ``retention.ms`` (-1: keep forever)."""

    def predicate(segment: SegmentStats, _next: SegmentStats | None) -> bool:
        return retention_ms >= 0 and now_ms - segment.largest_timestamp > retention_ms

    return predicate


def retention_size_breached(log_size: int, retention_bytes: int) -> Predicate:
    """Oldest segments whose removal keeps the log at least ``retention.bytes`` large."""
    excess = [log_size - retention_bytes if retention_bytes >= 0 else -1]

    def predicate(segment: SegmentStats, _next: SegmentStats | None) -> bool:
        if retention_bytes < 0 or excess[0] - segment.size < 0:
            return False
        excess[0] -= segment.size
        return True

    return predicate


def log_start_offset_breached(log_start_offset: int) -> Predicate:
    """Segments wholly below the log start offset (after DeleteRecords)."""

    def predicate(_segment: SegmentStats, nxt: SegmentStats | None) -> bool:
        return nxt is not None and nxt.base_offset <= log_start_offset

    return predicate


def is_flush_due(
    *,
    unflushed_messages: int,
    flush_messages: int,
    now_ms: int,
    last_flush_ms: int,
    flush_ms: int,
) -> bool:
    """``flush.messages`` appended since the last flush, or ``flush.ms`` elapsed with data."""
    if unflushed_messages <= 0:
        return False
    return unflushed_messages >= flush_messages or now_ms - last_flush_ms >= flush_ms


def cleanable_dirty_ratio(clean_bytes: int, dirty_bytes: int) -> float:
    """Share of the cleanable part of a log not compacted yet (0 when there is nothing)."""
    total = clean_bytes + dirty_bytes
    return dirty_bytes / total if total else 0.0

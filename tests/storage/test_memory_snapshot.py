"""MemoryLog.snapshot / restore: a capture shares the immutable pieces and restores exactly."""

from __future__ import annotations

from rafka.storage import LogConfig, ManualClock, MemoryLog
from rafka.storage.append import AppendOrigin
from tests.storage.batches import batch, marker, records
from tests.storage.conftest import START_MS


def _observe(log: MemoryLog) -> tuple[object, ...]:
    """Everything a broker can ask the log."""
    data = log.read(log.log_start_offset, 1 << 20) if log.log_end_offset else None
    return (
        log.log_start_offset,
        log.log_end_offset,
        log.high_watermark,
        log.last_stable_offset,
        log.leader_epoch_cache.entries(),
        log.producer_state.snapshot_entries(),
        [(s.base_offset, s.size) for s in log.segments],
        records(data.records) if data else [],
        log.offset_for_timestamp(START_MS + 1),
    )


def _log() -> MemoryLog:
    # Small segments so the log rolls and keeps producer snapshots.
    return MemoryLog(
        config=LogConfig(internal_segment_bytes=300, index_interval_bytes=1),
        clock=ManualClock(START_MS),
    )


def test_restore_undoes_appends_truncation_and_retention() -> None:
    log = _log()
    for i in range(5):
        log.append(batch(2, producer_id=7, producer_epoch=0, base_sequence=2 * i), leader_epoch=1)
    log.high_watermark = 8
    assert len(log.segments) > 1
    before = _observe(log)
    snapshot = log.snapshot()
    assert log.unchanged_since(snapshot)

    log.append(batch(3), leader_epoch=2)
    log.high_watermark = log.log_end_offset
    log.delete_records_before(6)
    log.truncate_to(7)
    assert _observe(log) != before
    assert not log.unchanged_since(snapshot)

    assert log.restore(snapshot) is True
    assert _observe(log) == before
    assert log.unchanged_since(snapshot)
    assert log.restore(snapshot) is False  # nothing to do

    # The restored log works on, and the snapshot can be restored again.
    log.append(batch(2, producer_id=8, producer_epoch=0, base_sequence=0), leader_epoch=1)
    assert log.log_end_offset == 12
    log.restore(snapshot)
    assert _observe(log) == before


def test_restore_keeps_views_read_before() -> None:
    log = _log()
    log.append(batch([(b"k", b"one")]))
    snapshot = log.snapshot()
    view = log.read(0, 1 << 20).records
    log.truncate_to(0)
    log.append(batch([(b"k", b"two")]))
    log.restore(snapshot)
    assert records(view) == [(0, b"k", b"one")]
    assert records(log.read(0, 1 << 20).records) == [(0, b"k", b"one")]


def test_open_transactions_come_back() -> None:
    log = _log()
    log.append(batch(2, producer_id=3, producer_epoch=0, base_sequence=0, transactional=True))
    log.high_watermark = 2
    snapshot = log.snapshot()
    assert log.last_stable_offset == 0
    log.append(marker(3, 0, commit=True), origin=AppendOrigin.COORDINATOR)
    log.high_watermark = 3
    assert log.last_stable_offset == 3
    log.restore(snapshot)
    assert (log.last_stable_offset, log.high_watermark) == (0, 2)
    assert log.producer_state.ongoing_transactions() == [(0, 3)]


def test_a_new_epoch_without_records_is_not_a_change() -> None:
    log = _log()
    log.append(batch(1), leader_epoch=0)
    snapshot = log.snapshot()
    log.leader_epoch_cache.assign(1, log.log_end_offset)  # leadership moved, no new record
    assert log.unchanged_since(snapshot)


def test_a_producer_writing_across_a_restore_carries_on_in_sequence() -> None:
    log = _log()
    log.append(batch(2, producer_id=5, producer_epoch=0, base_sequence=0))
    snapshot = log.snapshot()
    log.append(batch(2, producer_id=5, producer_epoch=0, base_sequence=2))
    log.append(batch(1, producer_id=6, producer_epoch=0, base_sequence=0))
    log.restore(snapshot)
    assert log.log_end_offset == 2
    assert [e.producer_id for e in log.producer_state.snapshot_entries()] == [5]
    # Producer 5 goes on with sequence 4; producer 6 (unknown to the snapshot) with 1.
    assert log.append(batch(1, producer_id=5, producer_epoch=0, base_sequence=4)).first_offset == 2
    assert log.append(batch(1, producer_id=6, producer_epoch=0, base_sequence=1)).first_offset == 3

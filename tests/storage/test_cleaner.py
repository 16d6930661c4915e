"""Log compaction: latest value per key, tombstones, transactions."""

from __future__ import annotations

import os
from pathlib import Path

from rafka.protocol.records import read_batches
from rafka.storage import AppendOrigin, DiskLog, LogConfig, ManualClock, clean_log
from rafka.storage.unified_log import UnifiedLog
from tests.storage.batches import batch, marker, records
from tests.storage.conftest import START_MS, MakeLog

DAY = 86_400_000
COMPACT = LogConfig(
    internal_segment_bytes=300, cleanup_policy=("compact",), min_cleanable_dirty_ratio=0.01
)


def everything(log: UnifiedLog) -> list[tuple[int, bytes | None, bytes | None]]:
    out = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        got = log.read(offset, 1 << 20)
        if not got.size:
            break
        out += records(got.records)
        offset = got.next_offset
    return out


def fill(log: UnifiedLog, pairs: list[tuple[bytes, bytes | None]]) -> None:
    for i, (key, value) in enumerate(pairs):
        log.append(batch([(key, value)], timestamp=START_MS + i))
    log.high_watermark = log.log_end_offset


def test_keeps_the_latest_value_per_key(make_log: MakeLog) -> None:
    log = make_log(COMPACT)
    fill(log, [(b"k%d" % (i % 3), b"v%d" % i) for i in range(20)])
    active_start = log.active_segment.base_offset
    result = clean_log(log)
    assert result is not None and result.end_offset == active_start
    got = everything(log)
    kept = [(o, k, v) for o, k, v in got if o < active_start]
    assert len({k for _, k, _ in kept}) == len(kept)  # one record per key below the active
    latest: dict[bytes | None, bytes | None] = {}
    for _, k, v in got:
        latest[k] = v
    assert latest == {b"k0": b"v18", b"k1": b"v19", b"k2": b"v17"}
    assert [o for o, _, _ in got] == sorted(o for o, _, _ in got)
    # cleaning again from the checkpoint finds nothing dirty
    assert clean_log(log, first_dirty_offset=result.end_offset) is None


def test_offsets_keep_gaps_and_batches_stay_valid(make_log: MakeLog) -> None:
    log = make_log(COMPACT)
    for i in range(8):
        log.append(batch([(b"a", b"%d" % i), (b"b%d" % i, b"x"), (b"a", b"y%d" % i)]))
    log.high_watermark = log.log_end_offset
    clean_log(log)
    for segment in log.segments:
        data = b"".join(segment.store.read(0, segment.size))
        for stored in read_batches(data):
            stored.verify_crc()
            assert stored.last_offset - stored.base_offset == 2  # lastOffsetDelta kept
    got = everything(log)
    assert (23, b"a", b"y7") in got and (2, b"a", b"y0") not in got
    assert (1, b"b0", b"x") in got


def test_tombstones_removed_after_delete_retention(make_log: MakeLog, clock: ManualClock) -> None:
    log = make_log(COMPACT.with_overrides({"delete.retention.ms": str(DAY)}))
    fill(log, [(b"k%d" % i, b"v") for i in range(6)] + [(b"k1", None), (b"k2", None)])
    fill(log, [(b"pad%d" % i, b"v") for i in range(8)])
    first = clean_log(log)
    assert first is not None
    tombstones = [(o, k) for o, k, v in everything(log) if v is None]
    assert [k for _, k in tombstones] == [b"k1", b"k2"]  # kept, with a delete horizon
    clock.advance(DAY + 1)
    fill(log, [(b"more%d" % i, b"v") for i in range(8)])  # new dirty data: another round
    assert clean_log(log, first_dirty_offset=first.end_offset, force=True) is not None
    assert [k for _, k, v in everything(log) if v is None] == []
    assert b"k1" not in {k for _, k, _ in everything(log)}


def test_aborted_data_is_removed_and_markers_follow(make_log: MakeLog, clock: ManualClock) -> None:
    log = make_log(COMPACT.with_overrides({"delete.retention.ms": "1000"}))
    pid = 77
    log.append(
        batch(
            [(b"x", b"committed")],
            producer_id=pid,
            producer_epoch=0,
            base_sequence=0,
            transactional=True,
        )
    )
    log.append(marker(pid, 0, commit=True), origin=AppendOrigin.COORDINATOR)
    log.append(
        batch(
            [(b"x", b"aborted")],
            producer_id=pid,
            producer_epoch=0,
            base_sequence=1,
            transactional=True,
        )
    )
    log.append(marker(pid, 0, commit=False), origin=AppendOrigin.COORDINATOR)
    fill(log, [(b"pad%d" % i, b"v") for i in range(10)])
    assert log.last_stable_offset == log.log_end_offset
    first = clean_log(log)
    assert first is not None
    values = [(k, v) for _, k, v in everything(log)]
    assert (b"x", b"aborted") not in values
    assert (b"x", b"committed") in values
    clock.advance(5000)
    clean_log(log, first_dirty_offset=0, force=True)
    clock.advance(5000)
    clean_log(log, first_dirty_offset=0, force=True)
    # the producer's last batch (the abort marker) stays to keep its epoch; data stays latest
    assert (b"x", b"committed") in [(k, v) for _, k, v in everything(log)]
    entry = log.producer_state.last_entry(pid)
    assert entry is not None and entry.producer_epoch == 0


def test_compact_and_delete(make_log: MakeLog, clock: ManualClock) -> None:
    cfg = COMPACT.with_overrides({"cleanup.policy": "compact,delete", "retention.ms": "5000"})
    log = make_log(cfg)
    fill(log, [(b"k%d" % (i % 2), b"v%d" % i) for i in range(12)])
    clean_log(log)
    clock.advance(10_000)
    assert log.delete_old_segments() > 0
    assert log.log_start_offset > 0


def test_interrupted_swap_is_completed_on_open(tmp_path: Path, clock: ManualClock) -> None:
    path = os.path.join(tmp_path, "t-0")
    log = DiskLog.open(path, config=COMPACT, clock=clock)
    fill(log, [(b"k%d" % (i % 3), b"v%d" % i) for i in range(20)])
    clean_log(log)
    expected = everything(log)
    log.close()
    # pretend a crash left a swap file of the first segment plus the old file next to it
    first = sorted(n for n in os.listdir(path) if n.endswith(".log"))[0]
    os.rename(os.path.join(path, first), os.path.join(path, first + ".swap"))
    with open(os.path.join(path, first), "wb") as f:
        f.write(b"stale")
    with open(os.path.join(path, "00000000000000000003.log.cleaned"), "wb") as f:
        f.write(b"half written")
    again = DiskLog.open(path, config=COMPACT, clock=clock)
    assert not any(n.endswith((".swap", ".cleaned")) for n in os.listdir(path))
    again.high_watermark = again.log_end_offset
    assert everything(again) == expected
    again.close()

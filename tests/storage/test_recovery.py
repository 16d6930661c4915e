"""Opening a disk log after a crash: torn tails, corrupt data and indexes, lost state."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rafka.protocol.records import read_batches
from rafka.storage import DiskLog, LogConfig, ManualClock
from tests.storage.batches import batch, offsets

CFG = LogConfig(internal_segment_bytes=1000, index_interval_bytes=100)


def _write(path: str, clock: ManualClock, count: int = 30, flush_at: int | None = None) -> bytes:
    log = DiskLog.open(path, config=CFG, clock=clock)
    for i in range(count):
        log.append(batch(2, value_size=20), leader_epoch=i // 10)
        if flush_at is not None and i == flush_at:
            log.flush()
    data = _all(log)
    # a crash: no close, no flush of indexes
    for segment in log.segments:
        segment.store.close()
    return data


def _all(log: DiskLog) -> bytes:
    out = b""
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        got = log.read(offset, 1 << 20)
        if not got.size:
            break
        out += bytes(got.records)
        offset = got.next_offset
    return out


def _segment_files(path: str, suffix: str) -> list[str]:
    return sorted(os.path.join(path, n) for n in os.listdir(path) if n.endswith(suffix))


def test_unclean_shutdown_keeps_everything_written(tmp_path: Path, clock: ManualClock) -> None:
    path = str(tmp_path / "t-0")
    data = _write(path, clock)
    log = DiskLog.open(path, config=CFG, clock=clock, recovery_point=0)
    assert _all(log) == data
    assert log.log_end_offset == 60
    assert log.leader_epoch_cache.entries() == [(0, 0), (1, 20), (2, 40)]
    log.close()


def test_torn_tail_is_cut_at_the_last_whole_batch(tmp_path: Path, clock: ManualClock) -> None:
    path = str(tmp_path / "t-0")
    data = _write(path, clock)
    last = _segment_files(path, ".log")[-1]
    size = os.path.getsize(last)
    os.truncate(last, size - 7)
    log = DiskLog.open(path, config=CFG, clock=clock)
    got = _all(log)
    assert data.startswith(got) and len(got) < len(data)
    assert log.log_end_offset == offsets(got)[-1][1] + 1
    log.append(batch(1))  # and it continues from there
    log.close()


def test_corruption_removes_the_rest(tmp_path: Path, clock: ManualClock) -> None:
    path = str(tmp_path / "t-0")
    data = _write(path, clock)
    files = _segment_files(path, ".log")
    assert len(files) >= 3
    with open(files[1], "r+b") as f:
        f.seek(200)
        byte = f.read(1)
        f.seek(200)
        f.write(bytes([byte[0] ^ 0x55]))
    log = DiskLog.open(path, config=CFG, clock=clock)
    got = _all(log)
    assert data.startswith(got)
    assert len(log.segments) == 2  # later segments removed with the damaged tail
    for stored in read_batches(got):
        stored.verify_crc()
    log.close()


def test_flushed_data_below_the_recovery_point_is_trusted(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = str(tmp_path / "t-0")
    log = DiskLog.open(path, config=CFG, clock=clock)
    for _ in range(20):
        log.append(batch(2, value_size=20))
    log.flush()
    assert log.recovery_point == 40
    log.close()
    again = DiskLog.open(path, config=CFG, clock=clock, recovery_point=40)
    assert again.log_end_offset == 40 and again.recovery_point == 40
    again.close()


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage"])
def test_indexes_are_rebuilt(tmp_path: Path, clock: ManualClock, damage: str) -> None:
    path = str(tmp_path / "t-0")
    log = DiskLog.open(path, config=CFG, clock=clock)
    for i in range(30):
        log.append(batch(2, value_size=20, timestamp=1_000_000 + i))
    log.close()
    before = {name: Path(name).read_bytes() for name in _segment_files(path, "index")}
    for name in before:
        if damage == "delete":
            os.unlink(name)
        elif damage == "truncate":
            os.truncate(name, max(os.path.getsize(name) - 3, 0))
        else:
            with open(name, "wb") as f:
                f.write(b"\x7f" * 24)
    again = DiskLog.open(path, config=CFG, clock=clock, had_clean_shutdown=True)
    again.close()
    after = {name: Path(name).read_bytes() for name in _segment_files(path, "index")}
    assert after == before  # rebuilt exactly as written


def test_producer_state_is_rebuilt(tmp_path: Path, clock: ManualClock) -> None:
    path = str(tmp_path / "t-0")
    log = DiskLog.open(path, config=CFG, clock=clock)
    for i in range(12):
        log.append(batch(2, producer_id=5, producer_epoch=1, base_sequence=2 * i, value_size=20))
    for segment in log.segments:
        segment.store.close()
    for name in _segment_files(path, ".snapshot"):
        os.unlink(name)
    again = DiskLog.open(path, config=CFG, clock=clock)
    entry = again.producer_state.last_entry(5)
    assert entry is not None and entry.last_seq == 23 and entry.producer_epoch == 1
    retry = again.append(batch(2, producer_id=5, producer_epoch=1, base_sequence=22, value_size=20))
    assert retry.duplicate and retry.first_offset == 22
    again.close()


def test_log_start_offset_checkpoint_ahead_of_data(tmp_path: Path, clock: ManualClock) -> None:
    path = str(tmp_path / "t-0")
    _write(path, clock, count=5)
    log = DiskLog.open(path, config=CFG, clock=clock, log_start_offset=500)
    assert (log.log_start_offset, log.log_end_offset) == (500, 500)
    assert log.append(batch(1)).first_offset == 500
    log.close()


def test_stray_and_temporary_files_are_removed(tmp_path: Path, clock: ManualClock) -> None:
    path = str(tmp_path / "t-0")
    _write(path, clock, count=5)
    for name in ("00000000000000000999.index", "00000000000000000000.log.deleted", "x.tmp"):
        with open(os.path.join(path, name), "wb") as f:
            f.write(b"junk")
    log = DiskLog.open(path, config=CFG, clock=clock)
    names = os.listdir(path)
    assert "00000000000000000999.index" not in names and "x.tmp" not in names
    assert not any(n.endswith(".deleted") for n in names)
    log.close()

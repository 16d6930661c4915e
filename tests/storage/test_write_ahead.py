"""Large disk appends: the records are written while a side thread checks the batch, and
committed (header, then size) only if the checks pass. Rejected, duplicate, rolled and
interrupted appends leave the files as a plain append would."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from rafka import errors
from rafka.protocol.records import BATCH_HEADER_SIZE
from rafka.storage import DiskLog, LogConfig, ManualClock
from rafka.storage.byte_store import FileStore
from rafka.storage.side_thread import SideThread
from tests.storage.batches import batch, records

BIG = 600 * 1024  # above DiskLog.write_ahead_min_bytes


def _big(count: int = 3, **kw: object) -> bytes:
    data = batch(count, value_size=BIG // count, **kw)  # type: ignore[arg-type]
    assert len(data) >= DiskLog.write_ahead_min_bytes
    return data


def _file_sizes(log: DiskLog) -> list[int]:
    sizes = []
    for segment in log.segments:
        assert isinstance(segment.store, FileStore)
        sizes.append(os.path.getsize(segment.store.path))
    return sizes


# -- the side thread ---------------------------------------------------------------------------


def test_side_thread_runs_work_beside_io() -> None:
    side = SideThread()
    seen: list[str] = []
    try:
        result = side.run_beside(lambda: threading.current_thread().name, lambda: seen.append("io"))
        assert result == "rafka-side-thread" and seen == ["io"]
        assert side.run_beside(lambda: 7, lambda: None) == 7  # the thread serves again
    finally:
        side.close()


def test_side_thread_raises_the_work_error_after_io_finished() -> None:
    side = SideThread()
    done: list[bool] = []

    def work() -> None:
        raise errors.CorruptMessageError("bad crc")

    with pytest.raises(errors.CorruptMessageError, match="bad crc"):
        side.run_beside(work, lambda: done.append(True))
    assert done == [True]
    side.close()


def test_side_thread_io_error_wins_and_work_still_finishes() -> None:
    side = SideThread()
    finished = threading.Event()

    def io() -> None:
        raise OSError(28, "No space left on device")

    def work() -> None:
        finished.set()
        raise errors.CorruptMessageError("bad crc")

    with pytest.raises(OSError, match="No space"):
        side.run_beside(work, io)
    assert finished.is_set()
    side.close()


def test_side_thread_busy_runs_both_parts_inline() -> None:
    side = SideThread()
    inner: list[str] = []

    def io() -> None:  # a second caller while the thread is taken: no deadlock
        inner.append(side.run_beside(lambda: threading.current_thread().name, lambda: None))

    side.run_beside(lambda: None, io)
    assert inner == [threading.current_thread().name]
    side.close()


def test_side_thread_restarts_after_close() -> None:
    side = SideThread()
    assert side.run_beside(lambda: 1, lambda: None) == 1
    side.close()
    side.close()
    assert side.run_beside(lambda: 2, lambda: None) == 2
    side.close()


def test_side_thread_serves_a_forked_child() -> None:
    side = SideThread()
    assert side.run_beside(lambda: 1, lambda: None) == 1  # the parent's thread is running
    pid = os.fork()
    if pid == 0:  # the child has no such thread: it must start its own, not wait forever
        code = 1
        try:
            code = 0 if side.run_beside(lambda: 2, lambda: None) == 2 else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError("the forked child hung in run_beside")
    assert os.waitstatus_to_exitcode(done[1]) == 0
    side.close()


# -- the file store ----------------------------------------------------------------------------


def test_written_ahead_bytes_are_invisible_until_committed(tmp_path: Path) -> None:
    store = FileStore(str(tmp_path / "s.log"), create=True)
    store.append([b"first"])
    body = memoryview(b"BODY")
    store.write_ahead(3, body)
    assert store.size == 5 and store.read(0, 100) == [memoryview(b"first")]
    assert os.path.getsize(store.path) == 12  # a 3-byte hole, then the body
    store.append([b"hd>", body])  # the same body object: only the header is written
    assert store.size == 12 and bytes(store.read(0, 100)[0]) == b"firsthd>BODY"
    store.close()


@pytest.mark.parametrize("drop", ["other append", "truncate", "discard", "close"])
def test_written_ahead_bytes_are_dropped_otherwise(tmp_path: Path, drop: str) -> None:
    path = str(tmp_path / "s.log")
    store = FileStore(path, create=True)
    store.append([b"first"])
    store.write_ahead(3, memoryview(b"BODY"))
    if drop == "other append":
        store.append([b"hd>", memoryview(b"BODY")])  # equal bytes, another object
        assert bytes(store.read(0, 100)[0]) == b"firsthd>BODY"
        store.close()
        return
    if drop == "truncate":
        store.truncate(2)
    elif drop == "discard":
        store.discard_ahead()
    else:
        store.close()
    assert os.path.getsize(path) == (2 if drop == "truncate" else 5)
    if drop != "close":
        store.close()


# -- the log -----------------------------------------------------------------------------------


def test_large_appends_store_the_same_bytes(tmp_path: Path, clock: ManualClock) -> None:
    config = LogConfig(message_timestamp_type="LogAppendTime")  # the header is patched too
    ahead = DiskLog.open(str(tmp_path / "a-0"), config=config, clock=clock)
    plain = DiskLog.open(str(tmp_path / "p-0"), config=config, clock=clock)
    plain.write_ahead_min_bytes = 1 << 40
    for i in range(3):
        data = _big(i + 1)
        assert ahead.append(data, leader_epoch=1) == plain.append(data, leader_epoch=1)
    assert _file_sizes(ahead) == _file_sizes(plain)
    for a, p in zip(ahead.segments, plain.segments, strict=True):
        assert isinstance(a.store, FileStore) and isinstance(p.store, FileStore)
        assert Path(a.store.path).read_bytes() == Path(p.store.path).read_bytes()
    ahead.close()
    plain.close()


def test_rejected_large_batch_leaves_the_file_as_it_was(tmp_path: Path, clock: ManualClock) -> None:
    log = DiskLog.open(str(tmp_path / "t-0"), config=LogConfig(), clock=clock)
    log.append(_big(), leader_epoch=1)
    before = _file_sizes(log)
    bad = bytearray(_big())
    bad[-1] ^= 0xFF
    with pytest.raises(errors.CorruptMessageError):
        log.append(bad, leader_epoch=1)
    assert _file_sizes(log) == before and log.log_end_offset == 3
    log.close()


def test_duplicate_large_batch_writes_nothing(tmp_path: Path, clock: ManualClock) -> None:
    log = DiskLog.open(str(tmp_path / "t-0"), config=LogConfig(), clock=clock)
    data = _big(producer_id=5, producer_epoch=0, base_sequence=0)
    first = log.append(data, leader_epoch=1)
    before = _file_sizes(log)
    again = log.append(data, leader_epoch=1)
    assert again.duplicate and again.first_offset == first.first_offset
    assert _file_sizes(log) == before
    log.close()


def test_large_batch_that_rolls_goes_to_the_new_segment(tmp_path: Path, clock: ManualClock) -> None:
    config = LogConfig(internal_segment_bytes=int(BIG * 1.5))
    log = DiskLog.open(str(tmp_path / "t-0"), config=config, clock=clock)
    log.append(_big(), leader_epoch=1)
    first = _file_sizes(log)
    log.append(_big(), leader_epoch=1)  # written ahead into the first segment, then rolled
    assert [s.base_offset for s in log.segments] == [0, 3]
    assert _file_sizes(log)[0] == first[0] == log.segments[0].size
    assert [r[0] for r in records(bytes(log.read(3, 4 * BIG).records))] == [3, 4, 5]
    log.close()


def test_crash_while_written_ahead_recovers_without_it(tmp_path: Path, clock: ManualClock) -> None:
    path = str(tmp_path / "t-0")
    log = DiskLog.open(path, config=LogConfig(), clock=clock)
    log.append(_big(), leader_epoch=1)
    log.flush()
    committed = _file_sizes(log)
    store = log.segments[-1].store
    assert isinstance(store, FileStore)
    store.write_ahead(BATCH_HEADER_SIZE, memoryview(_big(4))[BATCH_HEADER_SIZE:])
    crashed = str(tmp_path / "crashed" / "t-0")
    shutil.copytree(path, crashed)  # the files as a SIGKILL here would leave them
    log.close()
    recovered = DiskLog.open(crashed, config=LogConfig(), clock=clock, recovery_point=0)
    assert recovered.log_end_offset == 3 and _file_sizes(recovered) == committed
    assert recovered.append(_big(2), leader_epoch=1).first_offset == 3
    recovered.close()


def test_failed_header_write_cuts_the_records_off(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = DiskLog.open(str(tmp_path / "t-0"), config=LogConfig(), clock=clock)
    log.append(_big(), leader_epoch=1)
    before = _file_sizes(log)
    real = os.pwritev

    def full_disk(fd: int, parts: list[bytes], position: int) -> int:
        if sum(len(p) for p in parts) == BATCH_HEADER_SIZE:  # the header that commits
            raise OSError(28, "No space left on device")
        return real(fd, parts, position)

    monkeypatch.setattr(os, "pwritev", full_disk)
    with pytest.raises(OSError, match="No space"):
        log.append(_big(), leader_epoch=1)
    assert _file_sizes(log) == before and log.log_end_offset == 3
    monkeypatch.setattr(os, "pwritev", real)
    assert log.append(_big(), leader_epoch=1).first_offset == 3
    log.close()

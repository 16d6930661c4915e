"""File formats: checkpoints, indexes (against bisect), the clean-shutdown marker, the log dir."""

from __future__ import annotations

import os
import struct
from bisect import bisect_right
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rafka.storage import LogConfig, LogManager, ManualClock
from rafka.storage.checkpoint import (
    CheckpointError,
    read_clean_shutdown,
    read_leader_epoch_checkpoint,
    read_offset_checkpoint,
    write_clean_shutdown,
    write_leader_epoch_checkpoint,
    write_offset_checkpoint,
)
from rafka.storage.errors import CorruptIndexError
from rafka.storage.leader_epoch_cache import LeaderEpochCache
from rafka.storage.offset_index import OffsetIndex
from rafka.storage.time_index import TimeIndex
from tests.storage.batches import batch


def test_offset_checkpoint_format(tmp_path: Path) -> None:
    path = str(tmp_path / "recovery-point-offset-checkpoint")
    write_offset_checkpoint(path, {("orders", 0): 17, ("my-topic.v2", 12): 0})
    assert Path(path).read_text() == "0\n2\norders 0 17\nmy-topic.v2 12 0\n"
    assert read_offset_checkpoint(path) == {("orders", 0): 17, ("my-topic.v2", 12): 0}
    assert read_offset_checkpoint(str(tmp_path / "missing")) == {}
    Path(path).write_text("0\n3\na 0 1\n")
    with pytest.raises(CheckpointError):
        read_offset_checkpoint(path)
    Path(path).write_text("1\n0\n")
    with pytest.raises(CheckpointError):
        read_offset_checkpoint(path)


def test_leader_epoch_checkpoint_format(tmp_path: Path) -> None:
    path = str(tmp_path / "leader-epoch-checkpoint")
    write_leader_epoch_checkpoint(path, [(0, 0), (3, 120)])
    assert Path(path).read_text() == "0\n2\n0 0\n3 120\n"
    assert read_leader_epoch_checkpoint(path) == [(0, 0), (3, 120)]


def test_clean_shutdown_marker(tmp_path: Path) -> None:
    assert read_clean_shutdown(str(tmp_path)) is None
    write_clean_shutdown(str(tmp_path), 42)
    assert (tmp_path / ".kafka_cleanshutdown").read_text() == '{"version":0,"brokerEpoch":42}'
    assert read_clean_shutdown(str(tmp_path)) == 42


def test_log_manager_lifecycle(tmp_path: Path) -> None:
    clock = ManualClock(1_000_000)
    config = LogConfig(internal_segment_bytes=200)
    manager = LogManager(str(tmp_path), clock=clock, default_config=config)
    assert not manager.had_clean_shutdown
    log = manager.get_or_create_log("orders", 3)
    for _ in range(5):
        log.append(batch(2), leader_epoch=1)
    log.high_watermark = 8
    manager.close()
    names = set(os.listdir(tmp_path))
    assert {
        ".kafka_cleanshutdown",
        "recovery-point-offset-checkpoint",
        "log-start-offset-checkpoint",
        "replication-offset-checkpoint",
        "orders-3",
    } <= names
    assert read_offset_checkpoint(str(tmp_path / "recovery-point-offset-checkpoint")) == {
        ("orders", 3): 10
    }
    assert read_offset_checkpoint(str(tmp_path / "replication-offset-checkpoint")) == {
        ("orders", 3): 8
    }
    assert (tmp_path / "orders-3" / "leader-epoch-checkpoint").read_text() == "0\n1\n1 0\n"

    again = LogManager(str(tmp_path), clock=clock, default_config=config)
    assert again.had_clean_shutdown
    assert ".kafka_cleanshutdown" not in os.listdir(tmp_path)
    reopened = again.get_log("orders", 3)
    assert reopened is not None
    assert (reopened.log_end_offset, reopened.high_watermark) == (10, 8)
    with pytest.raises(RuntimeError):
        LogManager(str(tmp_path))  # the directory is locked
    assert again.delete_log("orders", 3)
    assert "orders-3" not in os.listdir(tmp_path)
    again.abandon()


def test_log_manager_flush_policy(tmp_path: Path) -> None:
    clock = ManualClock(1_000_000)
    config = LogConfig(flush_messages=4, flush_ms=10_000)
    with LogManager(str(tmp_path), clock=clock, default_config=config) as manager:
        log = manager.get_or_create_log("t", 0)
        log.append(batch(3))
        assert manager.flush_dirty_logs() == 0
        info = log.append(batch(1))
        assert info.flush_needed
        assert manager.flush_dirty_logs() == 1 and log.recovery_point == 4
        log.append(batch(1))
        clock.advance(10_000)
        assert manager.flush_dirty_logs() == 1 and log.recovery_point == 5


def test_memory_log_manager_writes_nothing(tmp_path: Path) -> None:
    manager = LogManager(None)
    log = manager.get_or_create_log("t", 0)
    log.append(batch(1))
    manager.close()
    assert list(tmp_path.iterdir()) == []


# -- indexes against bisect ------------------------------------------------------------------

entries = st.lists(st.tuples(st.integers(1, 1000), st.integers(1, 5000)), max_size=60).map(
    lambda steps: [
        (sum(s[0] for s in steps[: i + 1]), sum(s[1] for s in steps[: i + 1]))
        for i in range(len(steps))
    ]
)


@given(entries, st.lists(st.integers(-10, 70_000), max_size=30), st.integers(0, 80_000))
def test_offset_index_matches_bisect(
    pairs: list[tuple[int, int]], targets: list[int], cut: int
) -> None:
    base = 100
    index = OffsetIndex(base, 8 * 1000)
    for offset, position in pairs:
        index.append(base + offset, position)
    keys = [base + o for o, _ in pairs]
    for target in targets:
        slot = bisect_right(keys, target) - 1
        expected = (keys[slot], pairs[slot][1]) if slot >= 0 else (base, 0)
        assert index.lookup(target) == expected
    index.truncate_to(base + cut)
    assert [index.entry(i)[0] for i in range(len(index))] == [k for k in keys if k < base + cut]


@given(entries, st.lists(st.integers(-10, 70_000), max_size=30))
def test_time_index_matches_bisect(pairs: list[tuple[int, int]], targets: list[int]) -> None:
    base = 7
    index = TimeIndex(base, 12 * 1000)
    for timestamp, offset in ((p, o) for o, p in pairs):
        index.maybe_append(timestamp, base + offset)
    stamps = [p for _, p in pairs]
    for target in targets:
        slot = bisect_right(stamps, target) - 1
        expected = (stamps[slot], base + pairs[slot][0]) if slot >= 0 else (-1, base)
        assert index.lookup(target) == expected


def test_index_files_round_trip(tmp_path: Path) -> None:
    path = str(tmp_path / "00000000000000000010.index")
    index = OffsetIndex(10, 800, path)
    index.append(15, 0)
    index.append(20, 4100)
    index.flush()
    assert Path(path).read_bytes() == struct.pack(">iiii", 5, 0, 10, 4100)
    loaded = OffsetIndex(10, 800, path)
    loaded.load(log_size=9000)
    assert loaded.lookup(19) == (15, 0)
    with pytest.raises(CorruptIndexError):
        OffsetIndex(10, 800, path).load(log_size=4000)  # a position past the data
    tpath = str(tmp_path / "00000000000000000010.timeindex")
    times = TimeIndex(10, 1200, tpath)
    times.maybe_append(1000, 15)
    times.maybe_append(999, 16)  # not larger: ignored
    times.maybe_append(2000, 20)
    times.flush()
    assert Path(tpath).read_bytes() == struct.pack(">qiqi", 1000, 5, 2000, 10)


def test_leader_epoch_cache_transitions() -> None:
    changes: list[list[tuple[int, int]]] = []
    cache = LeaderEpochCache(on_change=changes.append)
    cache.assign(1, 0)
    cache.assign(1, 5)  # same epoch, later offset: ignored
    cache.assign(3, 10)
    cache.assign(2, 8)  # an older epoch: later entries give way
    assert cache.entries() == [(1, 0), (2, 8)]
    cache.assign(4, 20)
    cache.truncate_from_end(20)
    assert cache.entries() == [(1, 0), (2, 8)]
    cache.truncate_from_start(9)
    assert cache.entries() == [(2, 9)]
    assert cache.epoch_for_offset(100) == 2 and cache.epoch_for_offset(3) is None
    assert len(changes) == 6

"""Both backends give the same answers for any sequence of operations, and match a list model.

A hypothesis state machine drives a MemoryLog and a DiskLog with the same clock and the same
operations: client and idempotent appends, reads, truncations, DeleteRecords, rolls, timestamp
and epoch lookups, retention, compaction, and for the disk log clean or crashed reopens and
appends that write each batch while it is checked (``write_ahead_min_bytes``).
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from rafka.storage import DiskLog, LogConfig, ManualClock, MemoryLog, clean_log
from rafka.storage.unified_log import UnifiedLog
from tests.storage.batches import batch, records

START = 1_000_000
CONFIG = LogConfig(
    internal_segment_bytes=500,
    index_interval_bytes=90,
    segment_index_bytes=120,
    segment_ms=60_000,
    retention_ms=200_000,
    retention_bytes=3000,
    cleanup_policy=("compact", "delete"),
    min_cleanable_dirty_ratio=0.3,
    delete_retention_ms=20_000,
    message_timestamp_after_max_ms=10**9,
)
KEYS = [b"a", b"b", b"c", b"d", b"e"]


def _call(log: UnifiedLog, name: str, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    try:
        return "ok", getattr(log, name)(*args, **kwargs)
    except Exception as exc:  # the two backends must fail alike
        return "error", type(exc).__name__


def _all_records(log: UnifiedLog) -> list[tuple[int, bytes | None, bytes | None]]:
    out = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        got = log.read(offset, 1 << 20)
        if not got.size:
            break
        out += records(got.records)
        offset = got.next_offset
    return out


class LogMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="rafka-sm-")
        self.path = os.path.join(self.dir, "t-0")
        self.clock = ManualClock(START)
        self.mem = MemoryLog("t", 0, config=CONFIG, clock=self.clock, rng=random.Random(1))
        self.disk = DiskLog.open(self.path, config=CONFIG, clock=self.clock, rng=random.Random(1))
        # first offset -> the batch's records; offsets of one batch are first, first + 1, ...
        self.model: dict[int, list[tuple[bytes | None, bytes | None]]] = {}
        self.epoch = 0
        self.last_batch: dict[int, tuple[int, int]] = {}
        self.compacted = False
        self.cleaner_offset = 0
        self.write_ahead_min_bytes = DiskLog.write_ahead_min_bytes

    def teardown(self) -> None:
        self.mem.close()
        self.disk.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def both(self, name: str, *args: Any, **kwargs: Any) -> Any:
        a = _call(self.mem, name, *args, **kwargs)
        b = _call(self.disk, name, *args, **kwargs)
        assert a == b, (name, args, a, b)
        return a[1] if a[0] == "ok" else None

    @rule(
        batches=st.lists(
            st.tuples(
                st.lists(st.sampled_from(KEYS), min_size=1, max_size=5),
                st.integers(0, 50),
                st.booleans(),
                st.integers(-5000, 5000),
            ),
            min_size=1,
            max_size=4,
        )
    )
    def append(self, batches: list[tuple[list[bytes], int, bool, int]]) -> None:
        now = self.clock.time_ms()
        for keys, size, tombstone, skew in batches:
            pairs: list[tuple[bytes | None, bytes | None]] = [
                (k, None if tombstone and i == 0 else bytes([65 + i]) * size)
                for i, k in enumerate(keys)
            ]
            data = batch(pairs, timestamp=now + skew)
            info = self.both("append", data, leader_epoch=self.epoch)
            if info is not None:
                self.model[info.first_offset] = pairs

    @rule()
    def new_leader_epoch(self) -> None:
        self.epoch += 1

    @rule(pid=st.integers(1, 2), count=st.integers(1, 3), retry=st.booleans())
    def idempotent_append(self, pid: int, count: int, retry: bool) -> None:
        entry = self.mem.producer_state.last_entry(pid)  # a producer continues its sequence
        seq = entry.last_seq + 1 if entry is not None and entry.batches else 0
        if retry and pid in self.last_batch:
            # resend the producer's last batch: answered with the original offsets
            last_count, last_seq = self.last_batch[pid]
            data = batch(
                [(b"a", b"r")] * last_count,
                producer_id=pid,
                producer_epoch=0,
                base_sequence=last_seq,
            )
            self.both("append", data, leader_epoch=self.epoch)
            return
        data = batch([(b"b", b"i")] * count, producer_id=pid, producer_epoch=0, base_sequence=seq)
        info = self.both("append", data, leader_epoch=self.epoch)
        if info is not None and not info.duplicate:
            self.model[info.first_offset] = [(b"b", b"i")] * count
            self.last_batch[pid] = (count, seq)

    @rule(data=st.data(), max_bytes=st.integers(0, 3000), min_one=st.booleans())
    def read(self, data: st.DataObject, max_bytes: int, min_one: bool) -> None:
        low, high = self.mem.log_start_offset, self.mem.log_end_offset
        offset = data.draw(st.integers(low - 1, high + 1))
        max_offset = data.draw(st.none() | st.integers(low, high + 1))
        a = _call(
            self.mem, "read", offset, max_bytes, max_offset=max_offset, min_one_message=min_one
        )
        b = _call(
            self.disk, "read", offset, max_bytes, max_offset=max_offset, min_one_message=min_one
        )
        assert a[0] == b[0], (a, b)
        if a[0] == "ok":
            x, y = a[1], b[1]
            assert bytes(x.records) == bytes(y.records)
            assert (x.next_offset, x.first_entry_incomplete) == (
                y.next_offset,
                y.first_entry_incomplete,
            )
        else:
            assert a == b

    @rule(data=st.data())
    def truncate_to(self, data: st.DataObject) -> None:
        target = data.draw(st.integers(0, self.mem.log_end_offset + 2))
        self.both("truncate_to", target)
        end = self.mem.log_end_offset
        self.model = {o: r for o, r in self.model.items() if o + len(r) <= end}
        self.last_batch.clear()

    @precondition(lambda self: self.mem.log_end_offset > 0)
    @rule(data=st.data())
    def delete_records(self, data: st.DataObject) -> None:
        self.both("delete_records_before", data.draw(st.integers(0, self.mem.log_end_offset)))

    @rule(data=st.data())
    def set_high_watermark(self, data: st.DataObject) -> None:
        hw = data.draw(st.integers(0, self.mem.log_end_offset))
        self.mem.high_watermark = hw
        self.disk.high_watermark = hw

    @rule(offset=st.integers(0, 40))
    def truncate_fully(self, offset: int) -> None:
        offset += self.mem.log_end_offset
        self.both("truncate_fully_and_start_at", offset)
        self.model.clear()
        self.last_batch.clear()

    @rule()
    def roll(self) -> None:
        self.both("roll")

    @rule(every_batch=st.booleans())
    def write_ahead(self, every_batch: bool) -> None:
        self.write_ahead_min_bytes = 0 if every_batch else DiskLog.write_ahead_min_bytes
        self.disk.write_ahead_min_bytes = self.write_ahead_min_bytes

    @rule(ms=st.integers(0, 100_000))
    def advance_clock(self, ms: int) -> None:
        self.clock.advance(ms)

    @rule(catch_up=st.booleans())
    def retention(self, catch_up: bool) -> None:
        if catch_up:
            self.mem.high_watermark = self.disk.high_watermark = self.mem.log_end_offset
        self.both("delete_old_segments")

    @rule(catch_up=st.booleans())
    def compact(self, catch_up: bool) -> None:
        if catch_up:  # as a broker does once followers caught up
            self.mem.high_watermark = self.disk.high_watermark = self.mem.log_end_offset
        a = clean_log(self.mem, first_dirty_offset=self.cleaner_offset)
        b = clean_log(self.disk, first_dirty_offset=self.cleaner_offset)
        assert a == b
        event(f"compaction ran: {a is not None}")
        if a is not None:
            self.cleaner_offset = a.end_offset
            self.compacted = True

    @rule(ts=st.integers(-3, 60) | st.integers(START - 10_000, START + 10**6))
    def offset_for_timestamp(self, ts: int) -> None:
        self.both("offset_for_timestamp", ts)

    @rule(epoch=st.integers(-1, 4))
    def end_offset_for_epoch(self, epoch: int) -> None:
        self.both("end_offset_for_epoch", epoch)

    @rule(crash=st.booleans(), flush=st.booleans())
    def reopen_disk(self, crash: bool, flush: bool) -> None:
        disk = self.disk
        if flush:
            disk.flush()
        state = (disk.recovery_point, disk.log_start_offset, disk.high_watermark)
        if crash:
            for segment in disk.segments:
                segment.store.close()
        else:
            disk.close()
        self.disk = DiskLog.open(
            self.path,
            config=CONFIG,
            clock=self.clock,
            recovery_point=state[0],
            log_start_offset=state[1],
            high_watermark=state[2],
            had_clean_shutdown=not crash,
            rng=random.Random(1),
        )
        self.disk.write_ahead_min_bytes = self.write_ahead_min_bytes

    @invariant()
    def same_offsets(self) -> None:
        m, d = self.mem, self.disk
        event(f"segments: {min(len(m.segments), 4)}+")
        assert (m.log_start_offset, m.log_end_offset, m.high_watermark, m.last_stable_offset) == (
            d.log_start_offset,
            d.log_end_offset,
            d.high_watermark,
            d.last_stable_offset,
        )
        assert [(s.base_offset, s.size) for s in m.segments] == [
            (s.base_offset, s.size) for s in d.segments
        ]
        assert m.leader_epoch_cache.entries() == d.leader_epoch_cache.entries()

    @invariant()
    def content_matches_model(self) -> None:
        got = _all_records(self.mem)
        assert got == _all_records(self.disk)
        start = self.mem.log_start_offset
        flat = {o + i: r for o, rs in self.model.items() for i, r in enumerate(rs)}
        if not self.compacted:
            # whole batches are returned, so records below the start may appear too
            expected = [(o, *flat[o]) for o in sorted(flat) if o >= start]
            assert [x for x in got if x[0] >= start] == expected
        else:
            for offset, key, value in got:
                assert flat.get(offset) == (key, value)


LogMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("RAFKA_STORAGE_SM_EXAMPLES", "200")),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestLogMachine = LogMachine.TestCase

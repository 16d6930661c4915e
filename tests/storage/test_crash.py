"""Crash test: a writer process is SIGKILLed at random moments; nothing flushed is ever lost.

Each cycle forks a writer that opens the log directory with a :class:`LogManager` (recovering
what the previous cycle left), appends batches and, every few appends, flushes and reports the
flushed log end offset on a pipe. The test kills it with SIGKILL after a random delay, then
opens the directory itself and checks:

- every offset below the last reported flush is present (no flushed batch lost);
- the log is a valid prefix: every batch passes its CRC, offsets run without gaps from the log
  start, and every record's key and value are the ones written for its offset.

Every other cycle also damages the directory after the kill, beyond the flushed data: the last
segment's tail is cut at a random byte, or random bytes after the flushed position are
flipped, and/or index, time-index and snapshot files are deleted or overwritten. (Flips skip
each batch's baseOffset and partitionLeaderEpoch: Kafka's format leaves those 12 bytes outside
the CRC, so no reader can detect a flip there.)

``RAFKA_CRASH_CYCLES`` sets the number of cycles (default 200).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import struct
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from rafka.protocol.records import RecordBatchBuilder, read_batches
from rafka.storage import DiskLog, LogConfig, LogManager, SystemClock
from rafka.storage.checkpoint import read_offset_checkpoint

CYCLES = int(os.environ.get("RAFKA_CRASH_CYCLES", "200"))
CYCLES_PER_DIR = 25
CONFIG = LogConfig(
    internal_segment_bytes=24 * 1024, index_interval_bytes=700, segment_index_bytes=64 * 8
)
TOPIC = "crash"

#: Writers are forked from a clean single-threaded server process, never from the test process
#: (which may run threads, e.g. a JVM peer's reader), so they cannot inherit a held lock.
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["rafka.storage", "rafka.protocol.records"])


def _value(offset: int) -> bytes:
    return (b"%d|" % offset) * (1 + offset % 13)


def _batch(first_offset: int, count: int) -> bytes:
    builder = RecordBatchBuilder()
    for i in range(count):
        offset = first_offset + i
        builder.append(int(time.time() * 1000), b"%d" % offset, _value(offset))
    return builder.build()


def _writer(path: str, conn: Connection, seed: int) -> None:
    """The child: append forever, flushing every few batches and reporting what is durable."""
    rng = random.Random(seed)
    manager = LogManager(path, clock=SystemClock(), default_config=CONFIG)
    log = manager.get_or_create_log(TOPIC, 0)
    if seed % 2:  # write each batch while it is checked (committed by its header, after)
        assert isinstance(log, DiskLog)
        log.write_ahead_min_bytes = 0
    conn.send_bytes(b"ready")  # recovery of the previous cycle's crash is done
    flush_every = rng.randint(1, 12)
    appended = 0
    while True:
        log.append(_batch(log.log_end_offset, rng.randint(1, 6)), leader_epoch=0)
        appended += 1
        if appended % flush_every == 0:
            log.flush()
            manager.checkpoint_recovery_points()
            conn.send_bytes(b"%d" % log.log_end_offset)  # tiny: one atomic pipe write


def _run_cycle(path: str, seed: int, rng: random.Random) -> int:
    """Start a writer, kill it after a random delay; the last flushed offset it reported."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    writer = _CONTEXT.Process(target=_writer, args=(path, sender, seed), daemon=True)
    writer.start()
    sender.close()
    flushed = 0
    # mostly kill while appending; sometimes while the writer is still opening (recovering)
    during_open = rng.random() < 0.2
    deadline = time.monotonic() + rng.uniform(0.0, 0.3 if during_open else 0.06)
    if not during_open:
        if not receiver.poll(30):
            raise AssertionError("the writer did not start")
        assert receiver.recv_bytes() == b"ready"
        deadline = time.monotonic() + rng.uniform(0.0, 0.06)
    try:
        while (left := deadline - time.monotonic()) > 0:
            if receiver.poll(left):
                message = receiver.recv_bytes()
                if message != b"ready":
                    flushed = max(flushed, int(message))
        os.kill(writer.pid or 0, signal.SIGKILL)
        writer.join()
        while receiver.poll(0):  # reports written before the kill count too
            message = receiver.recv_bytes()
            if message != b"ready":
                flushed = max(flushed, int(message))
    except EOFError:
        writer.join()
    receiver.close()
    assert writer.exitcode == -signal.SIGKILL, f"the writer died on its own: {writer.exitcode}"
    return flushed


def _segments(part: str) -> list[str]:
    return sorted(os.path.join(part, n) for n in os.listdir(part) if n.endswith(".log"))


def _damage(path: str, flushed: int, rng: random.Random) -> str:
    """Damage what was not flushed (and derived files anywhere); what was done.

    The writer may have flushed (and checkpointed) more than it reported before the kill: the
    recovery-point checkpoint bounds what a power loss could still damage.
    """
    part = os.path.join(path, f"{TOPIC}-0")
    if not os.path.isdir(part):
        return "none"  # killed before the log existed
    checkpoint = read_offset_checkpoint(os.path.join(path, "recovery-point-offset-checkpoint"))
    flushed = max(flushed, checkpoint.get((TOPIC, 0), 0))
    logs = _segments(part)
    # find where the unflushed data starts: (segment index, position)
    start: tuple[int, int] | None = None
    for i, name in enumerate(logs):
        data = Path(name).read_bytes()
        position = 0
        while position + 61 <= len(data):
            base, length = struct.unpack_from(">qi", data, position)
            if base >= flushed:
                start = (i, position)
                break
            position += length + 12
        if start is None and position < len(data) and i == len(logs) - 1:
            start = (i, position)  # a partial batch at the very end
        if start is not None:
            break
    actions = []
    if start is not None:
        index, position = start
        victim = logs[rng.randrange(index, len(logs))]
        low = position if victim == logs[index] else 0
        size = os.path.getsize(victim)
        if size > low:
            if rng.random() < 0.5:
                os.truncate(victim, rng.randrange(low, size))
                actions.append("truncate")
            else:
                _flip(victim, low, rng)
                actions.append("flip")
    for name in os.listdir(part):
        if name.endswith((".index", ".timeindex", ".snapshot")) and rng.random() < 0.15:
            target = os.path.join(part, name)
            if rng.random() < 0.5:
                os.unlink(target)
            else:
                with open(target, "r+b") as f:
                    f.write(os.urandom(rng.randint(1, 30)))
            actions.append("derived")
    return "+".join(actions) or "none"


def _flip(name: str, low: int, rng: random.Random) -> None:
    data = bytearray(Path(name).read_bytes())
    headers: set[int] = set()  # baseOffset and partitionLeaderEpoch bytes of every batch
    position = 0
    while position + 12 <= len(data):
        headers.update(range(position, position + 8))
        headers.update(range(position + 12, position + 16))
        (length,) = struct.unpack_from(">i", data, position + 8)
        if length <= 0:
            break
        position += length + 12
    candidates = [i for i in range(low, len(data)) if i not in headers]
    for i in rng.sample(candidates, min(len(candidates), rng.randint(1, 3))):
        data[i] ^= 1 << rng.randrange(8)
    Path(name).write_bytes(bytes(data))


def _verify(path: str, flushed: int) -> int:
    manager = LogManager(path, default_config=CONFIG)
    try:
        log = manager.get_or_create_log(TOPIC, 0)
        assert log.log_end_offset >= flushed, f"lost flushed data: {log.log_end_offset} < {flushed}"
        expected = log.log_start_offset
        offset = log.log_start_offset
        while offset < log.log_end_offset:
            got = log.read(offset, 1 << 20)
            assert got.size, f"no batch at {offset} below the end {log.log_end_offset}"
            for stored in read_batches(got.records):
                stored.verify_crc()
                for record in stored.records():
                    assert record.offset == expected, (record.offset, expected)
                    assert record.key == b"%d" % record.offset
                    assert record.value == _value(record.offset)
                    expected += 1
            offset = got.next_offset
        assert expected == log.log_end_offset
        return log.log_end_offset
    finally:
        manager.abandon()  # leave the directory as found: no flush, no clean-shutdown marker


@pytest.mark.slow
def test_sigkill_and_damaged_tails_lose_nothing_flushed(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("RAFKA_CRASH_SEED", "1234")))
    stats: dict[str, int] = {"cycles": 0, "flushed_checks": 0, "max_end": 0}
    path = ""
    for cycle in range(CYCLES):
        if cycle % CYCLES_PER_DIR == 0:
            path = str(tmp_path / f"dir{cycle // CYCLES_PER_DIR}")
        flushed = _run_cycle(path, rng.randrange(1 << 30), rng)
        if cycle % 2:
            for action in _damage(path, flushed, rng).split("+"):
                stats[action] = stats.get(action, 0) + 1
        end = _verify(path, flushed)
        stats["cycles"] += 1
        stats["flushed_checks"] += flushed > 0
        stats["max_end"] = max(stats["max_end"], end)
    print(f"crash test: {stats} (losses: 0)")
    assert stats["cycles"] == CYCLES
    assert stats["flushed_checks"] > CYCLES // 2  # most kills came after some flushes

"""Storage engine throughput: append and sequential read, memory and disk, against plain files.

Batches of 16 KiB and 1 MiB (records with 1 KiB values and 8-byte keys, uncompressed) are
appended to a ``MemoryLog`` and to a ``DiskLog`` as a producer's batches are (origin CLIENT:
header, CRC-32C and structural record walk, offset assignment) and then read back in order with
fetch-sized reads (1 MiB, whole batches). Equal-size records are walked column-wise (see
``rafka.protocol.records.walk``); the "0.2-2 KiB records" rows, whose sizes vary, measure the
record-by-record walk. The peer, measured in the same run on the same machine, is plain Python
file I/O of the same bytes: ``f.write`` of each batch (the very objects the log appends) to a
new file for appends (the ceiling of a disk append, which does not fsync either) and ``f.read``
of that file in 1 MiB reads for reads. Targets (issue 3): disk append >= 0.70x the ``f.write``
ceiling for 1 MiB batches; memory append >= 1,000 MB/s for 1 MiB batches.

Run: ``python -m benchmarks storage`` or ``python -m benchmarks.bench_storage``.
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._util import print_table, row
from rafka.protocol.records import RecordBatchBuilder
from rafka.storage import AppendOrigin, DiskLog, LogConfig, ManualClock, MemoryLog
from rafka.storage.unified_log import UnifiedLog

MB = 1_000_000
VALUE = bytes(range(256)) * 4  # 1 KiB
NOW = 1_700_000_000_000
#: Bytes appended per measurement round, per batch size.
VOLUME = {16 * 1024: 64 * 1024 * 1024, 1024 * 1024: 256 * 1024 * 1024}
ROUNDS = 5
READ_SIZE = 1024 * 1024


def _batch(target_size: int, value: bytes = VALUE) -> bytes:
    builder = RecordBatchBuilder()
    i = 0
    while builder.estimated_size() + len(value) + 40 <= target_size:
        builder.append(NOW + i, b"key%05d" % i, value)
        i += 1
    return builder.build()


def _varied_batch(target_size: int) -> bytes:
    """A batch of records whose values vary in size (100 B - 2 KiB), as JSON documents do."""
    sizes = random.Random(7)
    builder = RecordBatchBuilder()
    i = 0
    while True:
        value = VALUE[: sizes.randrange(100, 1024)] * 2
        if builder.estimated_size() + len(value) + 40 > target_size:
            return builder.build()
        builder.append(NOW + i, b"key%05d" % i, value)
        i += 1


def _timed(fn: Callable[[], object]) -> float:
    os.sync()  # start every measurement with no dirty pages left by the previous one
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _fwrite(path: str, batches: list[bytes]) -> None:
    with open(path, "wb") as f:
        for data in batches:
            f.write(data)


def _fread(path: str) -> None:
    with open(path, "rb") as f:
        while f.read(READ_SIZE):
            pass


def _new_log(kind: str, root: str) -> UnifiedLog:
    config = LogConfig(message_timestamp_after_max_ms=1 << 62)
    clock = ManualClock(NOW)
    if kind == "memory":
        return MemoryLog(config=config, clock=clock)
    path = tempfile.mkdtemp(dir=root)
    return DiskLog.open(os.path.join(path, "bench-0"), config=config, clock=clock)


def _append(log: UnifiedLog, batches: list[bytes], origin: AppendOrigin) -> None:
    append = log.append
    for data in batches:
        append(data, leader_epoch=0, origin=origin)


def _read(log: UnifiedLog) -> None:
    read, end = log.read, log.log_end_offset
    offset = 0
    while offset < end:
        offset = read(offset, READ_SIZE).next_offset


def _replicated(data: bytes, count: int) -> list[bytes]:
    """``count`` copies of ``data`` with the offsets a leader would have given them."""
    records = _records(data)
    out = []
    for i in range(count):
        copy = bytearray(data)
        copy[0:8] = (i * records).to_bytes(8, "big")
        copy[12:16] = (0).to_bytes(4, "big")
        out.append(bytes(copy))
    return out


def _measure(
    root: str, label: str, data: bytes, count: int, kinds: tuple[str, ...], origin: AppendOrigin
) -> list[dict[str, Any]]:
    """Interleaved rounds (f.write, then each backend) so that each sees the same machine."""
    total = count * len(data) / MB
    batches = _replicated(data, count) if origin == AppendOrigin.REPLICATION else [data] * count
    plain = os.path.join(root, "plain.bin")
    best: dict[str, float] = {}

    def keep(key: str, seconds: float) -> None:
        best[key] = min(best.get(key, float("inf")), seconds)

    for _ in range(ROUNDS):
        if os.path.exists(plain):
            os.unlink(plain)  # a fresh file, as each log gets (truncating one is slower)
        keep("f.write", _timed(lambda: _fwrite(plain, batches)))
        keep("f.read", _timed(lambda: _fread(plain)))
        for kind in kinds:
            log = _new_log(kind, root)
            keep(f"{kind} append", _timed(partial(_append, log, batches, origin)))
            keep(f"{kind} read", _timed(partial(_read, log)))
            log.close()
            if isinstance(log, DiskLog):
                log.delete()
    os.unlink(plain)
    rows = []
    extra = {"batch_bytes": len(data), "records_per_batch": _records(data), "origin": origin.value}
    for kind in kinds:
        for op, peer in (("append", "f.write"), ("read", "f.read")):
            rate, ceiling = total / best[f"{kind} {op}"], total / best[peer]
            rows.append(row(f"{kind} {op}, {label}", "MB/s", rate, ceiling, peer) | extra)
    return rows


def run() -> list[dict[str, Any]]:
    """Measure every row (about half a minute in all)."""
    rows: list[dict[str, Any]] = []
    root = tempfile.mkdtemp(prefix="rafka-bench-")
    try:
        for size, volume in VOLUME.items():
            data = _batch(size)
            name = f"{size // 1024} KiB batches" if size < 1 << 20 else "1 MiB batches"
            label = f"{name} of 1 KiB records"
            count = volume // len(data)
            rows += _measure(root, label, data, count, ("memory", "disk"), AppendOrigin.CLIENT)
        big = _batch(1 << 20, VALUE * 16)
        count = VOLUME[1 << 20] // len(big)
        label = "1 MiB batches of 16 KiB records"
        rows += _measure(root, label, big, count, ("memory", "disk"), AppendOrigin.CLIENT)
        varied = _varied_batch(1 << 20)
        label = "1 MiB batches of 0.2-2 KiB records"
        rows += _measure(root, label, varied, count, ("memory", "disk"), AppendOrigin.CLIENT)
        data = _batch(1 << 20)
        label = "1 MiB batches, replicated (no record walk)"
        rows += _measure(root, label, data, count, ("disk",), AppendOrigin.REPLICATION)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return rows


def _records(data: bytes) -> int:
    return int.from_bytes(data[57:61], "big")


def main() -> None:
    """Print the table, with the issue's two targets checked."""
    rows = run()
    print_table("Storage engine throughput (rafka vs plain file I/O)", rows)
    print()
    for r in rows:
        if r["name"].startswith("disk append, 1 MiB"):
            print(f"{r['name']}: {r['ratio']:.2f}x f.write (target >= 0.70x)")
        if r["name"].startswith("memory append, 1 MiB"):
            print(f"{r['name']}: {r['rafka']:,.0f} MB/s (target >= 1,000 MB/s)")


if __name__ == "__main__":
    main()

"""Apache Kafka's kafka-dump-log (kafka.tools.DumpLogSegments) reads what rafka wrote.

rafka writes partitions with several segments, every codec, idempotent and transactional
batches, an aborted transaction, LogAppendTime, and a compacted partition; the tool must print
exactly the batches, records, index entries, time-index entries, aborted transactions and
producer snapshot entries rafka holds, report no mismatch, and pass its index sanity check.

The classpath comes from ``tools/peers.py``'s ``broker_classpath`` when it can provide one, else
from ``tests/storage/dumplog/pom.xml`` copied by Maven into ``.peers/storage-dumplog``. Without
Java or Maven the test is skipped, except with ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rafka.protocol.records import Compression, read_batches
from rafka.storage import AppendOrigin, DiskLog, LogConfig, ManualClock, clean_log
from rafka.storage.producer_snapshot import read_snapshot
from tests.storage.batches import batch, marker

pytestmark = pytest.mark.java

ROOT = Path(__file__).resolve().parents[2]
POM = Path(__file__).with_name("dumplog") / "pom.xml"
PEERS = Path(os.environ.get("RAFKA_PEERS_DIR") or ROOT / ".peers").resolve()
LIB = PEERS / "storage-dumplog"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
NOW = 1_700_000_000_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _own_classpath() -> str:
    """Copy kafka_2.13 4.1.1 and its dependencies with Maven (once; then a hash check)."""
    if shutil.which("java") is None or shutil.which("mvn") is None:
        raise RuntimeError("java or mvn is not installed")
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    stamp = LIB / ".stamp"
    if not (stamp.exists() and stamp.read_text() == digest):
        tmp = LIB.with_name(LIB.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        cmd = [
            "mvn",
            "-q",
            "-B",
            f"-Dmaven.repo.local={PEERS / 'm2'}",
            "-f",
            str(POM),
            f"{DEPENDENCY_PLUGIN}:copy-dependencies",
            f"-DoutputDirectory={tmp}",
            "-DincludeScope=runtime",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not list(tmp.glob("kafka_2.13-*.jar")):
            raise RuntimeError(f"mvn could not fetch kafka_2.13:\n{proc.stdout}{proc.stderr}")
        shutil.rmtree(LIB, ignore_errors=True)
        tmp.rename(LIB)
        stamp.write_text(digest)
    return os.pathsep.join(str(jar) for jar in sorted(LIB.glob("*.jar")))


def _classpath() -> str:
    reasons = []
    try:
        from tools.peers import broker_classpath
    except ImportError as exc:  # the shared harness does not offer it (yet)
        reasons.append(f"tools.peers.broker_classpath: {exc}")
    else:
        try:
            return str(broker_classpath())
        except Exception as exc:  # PeerUnavailable: no java/mvn/network
            reasons.append(f"tools.peers.broker_classpath: {exc}")
    try:
        return _own_classpath()
    except RuntimeError as exc:
        reasons.append(str(exc))
    message = "; ".join(reasons)
    if _in_ci():
        pytest.fail(f"CI=true and kafka-dump-log is unavailable: {message}", pytrace=False)
    pytest.skip(f"kafka-dump-log unavailable: {message}")


@pytest.fixture(scope="module")
def classpath() -> str:
    return _classpath()


def _dump(classpath: str, files: list[str], *extra: str) -> tuple[str, str]:
    cmd = ["java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", classpath]
    cmd += ["kafka.tools.DumpLogSegments", *extra, "--files", ",".join(files)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, proc.stderr


def _write_logs(root: Path) -> dict[str, DiskLog]:
    clock = ManualClock(NOW)
    codecs = list(Compression)
    plain = DiskLog.open(
        str(root / "plain-0"),
        config=LogConfig(internal_segment_bytes=1500, index_interval_bytes=150),
        clock=clock,
    )
    for i in range(24):
        data = batch(1 + i % 4, timestamp=NOW + 10 * i, compression=codecs[i % len(codecs)])
        plain.append(data, leader_epoch=1 + i // 8)
    for seq in range(0, 6, 2):
        plain.append(batch(2, producer_id=42, producer_epoch=3, base_sequence=seq, timestamp=NOW))
    plain.append(batch(2, producer_id=9, producer_epoch=0, base_sequence=0, transactional=True))
    plain.append(marker(9, 0, commit=False, ts=NOW), origin=AppendOrigin.COORDINATOR)
    plain.append(batch(2, producer_id=9, producer_epoch=0, base_sequence=2, transactional=True))
    plain.append(marker(9, 0, commit=True, ts=NOW), origin=AppendOrigin.COORDINATOR)

    stamped = DiskLog.open(
        str(root / "stamped-0"),
        config=LogConfig(message_timestamp_type="LogAppendTime"),
        clock=clock,
    )
    for _ in range(3):
        clock.advance(1000)
        stamped.append(batch(2), leader_epoch=0)

    compacted = DiskLog.open(
        str(root / "compacted-0"),
        config=LogConfig(
            internal_segment_bytes=400, cleanup_policy=("compact",), min_cleanable_dirty_ratio=0.01
        ),
        clock=clock,
    )
    for i in range(30):
        compacted.append(batch([(b"k%d" % (i % 4), b"v%d" % i)], timestamp=NOW + i))
    compacted.high_watermark = compacted.log_end_offset
    assert clean_log(compacted) is not None
    return {"plain": plain, "stamped": stamped, "compacted": compacted}


def _expected_batches(log: DiskLog) -> dict[str, list[tuple[int, int, int]]]:
    """Per segment file: (base offset, last offset, count) of every batch."""
    out = {}
    for segment in log.segments:
        data = b"".join(segment.store.read(0, segment.size))
        name = f"{segment.base_offset:020d}.log"
        out[name] = [(b.base_offset, b.last_offset, b.records_count) for b in read_batches(data)]
    return out


BATCH_LINE = re.compile(r"^baseOffset: (\d+) lastOffset: (\d+) count: (\d+) .* isvalid: (\w+)")
RECORD_LINE = re.compile(r"^\| offset: (\d+) ")
INDEX_LINE = re.compile(r"^offset: (\d+) position: (\d+)$")
TIME_LINE = re.compile(r"^timestamp: (\d+) offset: (\d+)$")
DUMPING = re.compile(r"^Dumping (.+)$")


def _sections(stdout: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in stdout.splitlines():
        match = DUMPING.match(line)
        if match:
            current = os.path.basename(match.group(1))
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return sections


def test_kafka_dump_log_reads_rafka_segments(classpath: str, tmp_path: Path) -> None:
    logs = _write_logs(tmp_path)
    expected = {name: (_expected_batches(log), log) for name, log in logs.items()}
    for log in logs.values():
        log.close()  # indexes are written and the final time-index entries added

    for name, (batches, log) in expected.items():
        directory = tmp_path / f"{name}-0"
        files = sorted(str(p) for p in directory.iterdir() if p.suffix != ".tmp")
        files = [f for f in files if not f.endswith("checkpoint")]
        stdout, stderr = _dump(classpath, files, "--deep-iteration")
        assert "Mismatches" not in stderr and "mismatch" not in stderr.lower(), stderr
        if name != "compacted":
            assert "Non-consecutive" not in stderr, stderr
        sections = _sections(stdout)

        for segment_name, segment_batches in batches.items():
            lines = sections[segment_name]
            got = [m.groups() for line in lines if (m := BATCH_LINE.match(line))]
            assert [(int(b), int(e), int(c)) for b, e, c, _ in got] == segment_batches
            assert all(valid == "true" for *_, valid in got)
            record_offsets = [int(m.group(1)) for line in lines if (m := RECORD_LINE.match(line))]
            assert len(record_offsets) == sum(count for _, _, count in segment_batches)

        for segment in log.segments:
            base = f"{segment.base_offset:020d}"
            index_lines = sections[base + ".index"]
            entries = [segment.offset_index.entry(i) for i in range(len(segment.offset_index))]
            got_index = [
                (int(m.group(1)), int(m.group(2)))
                for line in index_lines
                if (m := INDEX_LINE.match(line))
            ]
            assert got_index == entries
            times = [segment.time_index.entry(i) for i in range(len(segment.time_index))]
            got_times = [
                (int(m.group(1)), int(m.group(2)))
                for line in sections[base + ".timeindex"]
                if (m := TIME_LINE.match(line))
            ]
            assert got_times == times
            if segment.txn_index.entries:
                txn_lines = "\n".join(sections[base + ".txnindex"])
                for txn in segment.txn_index.entries:
                    assert (
                        f"producerId: {txn.producer_id} firstOffset: {txn.first_offset} "
                        f"lastOffset: {txn.last_offset} lastStableOffset: {txn.last_stable_offset}"
                    ) in txn_lines

        for snapshot in directory.glob("*.snapshot"):
            text = "\n".join(sections[snapshot.name])
            for entry in read_snapshot(str(snapshot)):
                assert (
                    f"producerId: {entry.producer_id} producerEpoch: {entry.producer_epoch} "
                ) in text
                if entry.batches:
                    assert f"lastSequence: {entry.last_seq} lastOffset: " in text

        sanity_files = [f for f in files if f.endswith((".index", ".timeindex"))]
        sanity, errors = _dump(classpath, sanity_files, "--index-sanity-check")
        checked = sanity.count("passed sanity check") + sanity.count(" is empty.")
        assert checked == len(sanity_files), sanity + errors

    # the aborted transaction and both markers are where rafka put them
    plain_text = _dump(classpath, [str(tmp_path / "plain-0" / "00000000000000000000.log")])[0]
    assert "compresscodec: zstd" in plain_text and "compresscodec: snappy" in plain_text
    stamped_text = _dump(
        classpath, [str(tmp_path / "stamped-0" / "00000000000000000000.log")], "--deep-iteration"
    )[0]
    assert stamped_text.count("LogAppendTime: ") >= 6

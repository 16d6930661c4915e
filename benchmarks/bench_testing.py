"""Testing toolkit: per-test cost of the pytest plugin's fixtures, and snapshot/restore time.

- Three generated 100-test files run by pytest in a subprocess (rafka's plugin loaded as
  installed): empty tests (pytest's own cost per test), tests each taking a fresh topic on the
  session cluster (``rafka_topic``: created and deleted per test), and tests each getting a
  3-broker in-memory cluster of their own (``@pytest.mark.rafka(brokers=3)``: started,
  listening on three loopback ports, and stopped per test). A conftest times each run from
  the start of test 11 to the end of the last (the first ten warm up imports and the session
  cluster); the per-test overhead is that time per test minus the empty file's. Best of
  ``RAFKA_BENCH_TESTING_ROUNDS`` runs (default 3).
- ``Cluster.snapshot()`` and ``Cluster.restore()`` of a 3-broker cluster holding 10 topics
  (3 replicas each, 100 records each) and a group with offsets committed for each, called
  from the test's thread as a test would: restoring after one record was written to every
  topic and the group committed new offsets (its coordinator reloads), and restoring an
  unchanged cluster.

Targets (the testing toolkit issue): under 5 ms per test with a fresh topic, under 50 ms with
a fresh 3-broker cluster, snapshot/restore of 10 topics under 10 ms.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._util import print_table, row

TESTS = 100
WARMUP = 10
ROUNDS = int(os.environ.get("RAFKA_BENCH_TESTING_ROUNDS", "3"))

CONFTEST = """
import json, os, time

_starts = []
_ends = []

def pytest_runtest_logstart(nodeid, location):
    _starts.append(time.perf_counter())

def pytest_runtest_logfinish(nodeid, location):
    _ends.append(time.perf_counter())

def pytest_sessionfinish(session, exitstatus):
    with open(os.environ["RAFKA_BENCH_TIMES"], "w") as f:
        json.dump({"starts": _starts, "ends": _ends, "status": int(exitstatus)}, f)
"""

BODIES = {
    "empty": "def test_{i}():\n    pass\n",
    "topic": "def test_{i}(rafka_topic, kafka_bootstrap):\n    assert rafka_topic\n",
    "cluster": (
        "@pytest.mark.rafka(brokers=3)\n"
        "def test_{i}(rafka_cluster):\n    assert len(rafka_cluster.brokers) == 3\n"
    ),
}


def _per_test_ms(root: Path, kind: str) -> float:
    """Milliseconds per test (tests WARMUP+1..TESTS) of one pytest run of ``kind``."""
    source = "import pytest\n\n" + "\n".join(BODIES[kind].format(i=i) for i in range(TESTS))
    path = root / f"test_{kind}.py"
    path.write_text(source)
    times = root / f"{kind}.json"
    env = dict(os.environ, RAFKA_BENCH_TIMES=str(times))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", path.name],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result = json.loads(times.read_text())
    if result["status"] != 0 or len(result["ends"]) != TESTS:
        raise RuntimeError(f"the {kind} run failed:\n{done.stdout}\n{done.stderr}")
    elapsed = result["ends"][-1] - result["starts"][WARMUP]
    return float(elapsed * 1000 / (TESTS - WARMUP))


def _pytest_rows() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="rafka-bench-testing-") as tmp:
        root = Path(tmp)
        (root / "conftest.py").write_text(CONFTEST)
        (root / "pytest.ini").write_text("[pytest]\n")
        best = {kind: min(_per_test_ms(root, kind) for _ in range(ROUNDS)) for kind in BODIES}
    empty = best["empty"]
    return [
        row("pytest's own cost per empty test (subtracted below)", "ms", empty, None, "-"),
        row(
            "per-test overhead: fresh topic on the session cluster (target < 5)",
            "ms",
            best["topic"] - empty,
            None,
            "-",
        ),
        row(
            "per-test overhead: own 3-broker cluster (target < 50)",
            "ms",
            best["cluster"] - empty,
            None,
            "-",
        ),
    ]


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _snapshot_rows() -> list[dict[str, Any]]:
    import rafka
    from rafka.testing import _topics

    snapshots: list[float] = []
    restores: list[float] = []
    unchanged: list[float] = []
    with rafka.Cluster(brokers=3) as cluster:
        topics = [f"topic-{i}" for i in range(10)]
        for name in topics:
            _topics.create_topic(cluster, name, replication_factor=3)
        with (
            cluster.producer(acks="all", linger_ms=5) as producer,
            cluster.consumer(group_id="readers") as consumer,
        ):
            for name in topics:
                for i in range(100):
                    producer.send(name, b"value-%d" % i, key=b"key-%d" % i)
            producer.flush()
            consumer.commit({(name, 0): 50 for name in topics})
            for _ in range(30):
                start = time.perf_counter()
                snapshot = cluster.snapshot()
                snapshots.append(time.perf_counter() - start)
                futures = [producer.send(name, b"more") for name in topics]
                for future in futures:
                    future.result(10)
                consumer.commit({(name, 0): 60 for name in topics})
                start = time.perf_counter()
                cluster.restore(snapshot)
                restores.append(time.perf_counter() - start)
                start = time.perf_counter()
                cluster.restore(snapshot)
                unchanged.append(time.perf_counter() - start)
                assert cluster.describe_partition(topics[0]).log_end_offset == 100
                group = cluster.describe_group("readers")
                assert group is not None and group.offsets[(topics[0], 0)].offset == 50
    return [
        row(
            "snapshot of 10 topics x 3 replicas (target < 10)",
            "ms",
            _median_ms(snapshots),
            None,
            "-",
        ),
        row(
            "restore after writes to all 10 topics (target < 10)",
            "ms",
            _median_ms(restores),
            None,
            "-",
        ),
        row("restore, nothing changed since", "ms", _median_ms(unchanged), None, "-"),
    ]


def run() -> list[dict[str, Any]]:
    """Measure every row (about a minute in all)."""
    return _snapshot_rows() + _pytest_rows()


def main() -> None:
    print_table("Testing toolkit: pytest fixtures and snapshots", run())


if __name__ == "__main__":
    main()

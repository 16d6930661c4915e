"""Fixtures of the fault tests: ``target``, each single-broker scenario on rafka and on Apache
Kafka behind rafka's fault proxy (see targets.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.targets import FaultTarget, KafkaTarget, RafkaTarget


@pytest.fixture(params=["rafka", "kafka"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FaultTarget]:
    """The cluster a side-by-side scenario runs on: a one-broker rafka cluster, or the
    session's Kafka broker behind the fault proxy (same plans, same journal queries)."""
    made: FaultTarget
    if request.param == "rafka":
        made = RafkaTarget(str(tmp_path / "rafka"))
    else:
        made = KafkaTarget(request.getfixturevalue("kafka_fault_proxy"))
    try:
        yield made
    finally:
        made.close()

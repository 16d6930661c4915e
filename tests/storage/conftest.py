"""Fixtures doubling storage tests over both backends."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rafka.storage import DiskLog, LogConfig, ManualClock, MemoryLog
from rafka.storage.unified_log import UnifiedLog

START_MS = 1_000_000

MakeLog = Callable[..., UnifiedLog]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_MS)


@pytest.fixture(params=["memory", "disk"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_log(backend: str, tmp_path: Path, clock: ManualClock) -> Iterator[MakeLog]:
    """``make_log(config=None, **kwargs)``: a fresh log of the parametrised backend (``memory``,
    ``disk``, or ``disk-write-ahead``: a disk log that writes every batch ahead)."""
    made: list[UnifiedLog] = []

    def make(
        config: LogConfig | None = None, name: str = "topic-0", **kwargs: object
    ) -> UnifiedLog:
        config = config or LogConfig()
        log: UnifiedLog
        if backend == "memory":
            log = MemoryLog(config=config, clock=clock, **kwargs)  # type: ignore[arg-type]
        else:
            log = DiskLog.open(os.path.join(tmp_path, name), config=config, clock=clock, **kwargs)  # type: ignore[arg-type]
            if backend == "disk-write-ahead":  # every batch written while it is checked
                log.write_ahead_min_bytes = 0
        made.append(log)
        return log

    yield make
    for log in made:
        log.close()

"""Shared pieces of the client scenarios: running many client calls at once, and normalising
what clients observed so rafka's and Apache Kafka's answers compare directly."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from tests.peers.clients import ClientError, ConsumedRecord

_K = TypeVar("_K")
_T = TypeVar("_T")

#: How many client calls run at once: the Java and Go drivers are processes, so a few overlap
#: (JVM start-up is the cost) even on two cores.
PARALLEL = 4


@dataclass(frozen=True)
class Outcome:
    """What one client call returned, or the exception it raised, and when it ran."""

    value: Any
    exception: BaseException | None
    started_ms: int
    ended_ms: int

    def get(self) -> Any:
        if self.exception is not None:
            raise AssertionError(f"the client call raised {self.exception!r}") from self.exception
        return self.value


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _timed(fn: Callable[[], _T]) -> Outcome:
    started = now_ms()
    try:
        value = fn()
    except Exception as exc:
        return Outcome(None, exc, started, now_ms())
    return Outcome(value, None, started, now_ms())


def run_all(jobs: Mapping[_K, Callable[[], Any]], parallel: int = PARALLEL) -> dict[_K, Outcome]:
    """Run every job (a client call) on a small thread pool; each one's :class:`Outcome`."""
    with concurrent.futures.ThreadPoolExecutor(parallel, thread_name_prefix="interop") as pool:
        futures = {key: pool.submit(_timed, fn) for key, fn in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


def error_names(errors: Iterable[ClientError | None]) -> list[str]:
    return sorted({e.error for e in errors if e is not None})


def consumed_view(records: Iterable[ConsumedRecord]) -> list[tuple[Any, ...]]:
    """What a consumer saw, without the wall-clock timestamps (they differ between runs), by
    partition and offset (consumers interleave partitions as they like)."""
    return sorted(
        (r.partition, r.offset, r.key, r.value, r.headers, r.timestamp_type, r.leader_epoch)
        for r in records
    )


class Memo:
    """Results computed once per key -- failures too: a scenario that failed is not run again
    (and trips over the topics its first run created) by the next test asking for it."""

    def __init__(self) -> None:
        self._results: dict[Any, tuple[bool, Any]] = {}

    def get(self, key: Any, compute: Callable[[], _T]) -> _T:
        if key not in self._results:
            try:
                self._results[key] = (True, compute())
            except Exception as exc:
                self._results[key] = (False, exc)
        ok, value = self._results[key]
        if not ok:
            raise AssertionError(f"the scenario {key!r} failed earlier: {value!r}") from value
        result: _T = value
        return result

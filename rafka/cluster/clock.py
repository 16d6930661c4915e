"""The cluster's clock: wall and monotonic time, plus the waits that depend on them.

Every timeout in rafka/cluster (long-poll fetches, acks=all waits, session expiry, retention
checks, rebalance delays) goes through one :class:`ClusterClock`, so a test can swap in a
virtual clock and make time-dependent behaviour instant and repeatable. The storage engine
reads the same object through its narrower :class:`rafka.storage.clock.Clock` protocol.
"""

from __future__ import annotations

import math
import time
from typing import Protocol, runtime_checkable

import anyio

__all__ = ["ClusterClock", "SystemClock"]


@runtime_checkable
class ClusterClock(Protocol):
    """Time for the cluster: readings (ms) and waits (seconds, as anyio takes them)."""

    def time_ms(self) -> int:
        """Milliseconds since the Unix epoch."""
        ...

    def monotonic_ms(self) -> int:
        """Milliseconds from an arbitrary origin; never goes backwards."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...

    async def wait(self, event: anyio.Event, timeout: float) -> bool:
        """Wait until ``event`` is set or ``timeout`` seconds pass; True if it was set."""
        ...


class SystemClock:
    """The machine's clocks and anyio's timers."""

    __slots__ = ()

    def time_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic_ms(self) -> int:
        return time.monotonic_ns() // 1_000_000

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)

    async def wait(self, event: anyio.Event, timeout: float) -> bool:
        if event.is_set():
            return True
        if timeout <= 0:
            return False
        with anyio.move_on_after(timeout if math.isfinite(timeout) else None):
            await event.wait()
        return event.is_set()

"""The clock storage reads time from, injectable so retention and roll tests run on virtual time.

Everything in :mod:`rafka.storage` that depends on time (``segment.ms``, ``retention.ms``,
``flush.ms``, LogAppendTime, producer expiry, delete horizons) asks a :class:`Clock` passed in by
the owner of the log; nothing reads the system clock directly.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """A source of wall-clock and monotonic time in milliseconds."""

    def time_ms(self) -> int:
        """Milliseconds since the Unix epoch (what Kafka calls ``time.milliseconds()``)."""
        ...

    def monotonic_ms(self) -> int:
        """Milliseconds from an arbitrary origin that never goes backwards (for intervals)."""
        ...


class SystemClock:
    """The machine's clocks."""

    __slots__ = ()

    def time_ms(self) -> int:
        """Wall-clock time in milliseconds."""
        return time.time_ns() // 1_000_000

    def monotonic_ms(self) -> int:
        """``time.monotonic`` in milliseconds."""
        return time.monotonic_ns() // 1_000_000


class ManualClock:
    """A clock that moves only when told to: ``advance(ms)`` or ``set(ms)``.

    Both wall and monotonic time start at ``start_ms`` and move together.
    """

    __slots__ = ("_monotonic_ms", "_now_ms")

    def __init__(self, start_ms: int = 0) -> None:
        self._now_ms = start_ms
        self._monotonic_ms = 0

    def time_ms(self) -> int:
        """The current virtual wall-clock time."""
        return self._now_ms

    def monotonic_ms(self) -> int:
        """The current virtual monotonic time."""
        return self._monotonic_ms

    def advance(self, ms: int) -> None:
        """Move both clocks forward by ``ms`` milliseconds (``ms >= 0``)."""
        if ms < 0:
            raise ValueError(f"cannot move a clock backwards ({ms} ms)")
        self._now_ms += ms
        self._monotonic_ms += ms

    def set(self, now_ms: int) -> None:
        """Set wall-clock time (may go backwards, as a real wall clock can); monotonic follows
        only forward jumps."""
        if now_ms > self._now_ms:
            self._monotonic_ms += now_ms - self._now_ms
        self._now_ms = now_ms

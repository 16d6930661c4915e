"""The cluster's clock: wall and monotonic time, plus the waits that depend on them.

Every timeout in rafka/cluster (long-poll fetches, acks=all waits, session expiry, retention
checks, rebalance delays) goes through one :class:`ClusterClock`, so a test can swap in a
virtual clock and make time-dependent behaviour instant and repeatable. The storage engine
reads the same object through its narrower :class:`rafka.storage.clock.Clock` protocol.

:class:`SystemClock` is the machine's time. :class:`VirtualClock` moves only when
:meth:`VirtualClock.advance` is awaited: it fires every timer that falls due, earliest first,
and lets the tasks they wake run until every task is blocked again before it moves on. Its wall
time starts at the machine's time when the clock is created (so timestamps real clients write
stay plausible, and Kafka's ``message.timestamp.after.max.ms`` check passes), or at
``start_ms`` when given (for byte-identical timestamps between runs); its monotonic time starts
at 0.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import anyio
import anyio.lowlevel
import attrs

__all__ = ["ClusterClock", "SystemClock", "VirtualClock", "make_clock", "wait_all_tasks_blocked"]


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


@attrs.define(eq=False)
class _Timer:
    deadline_ms: int
    callback: Callable[[], None]
    cancelled: bool = False


class VirtualClock:
    """Time that passes only when :meth:`advance` is awaited (see the module doc).

    ``sleep`` and ``wait`` register a timer at ``now + timeout`` (rounded up to the next
    millisecond); timers due at the same instant fire in the order they were registered, each
    once the previous one's effects have settled, so a run on asyncio is repeatable for a given
    seed (trio shuffles the order of tasks woken together on purpose, outside our control).
    """

    def __init__(self, start_ms: int | None = None) -> None:
        self._wall_origin_ms = time.time_ns() // 1_000_000 if start_ms is None else start_ms
        self._elapsed_ms = 0
        self._timers: list[tuple[int, int, _Timer]] = []
        self._sequence = itertools.count()
        self._advancing = False

    def __repr__(self) -> str:
        return f"<VirtualClock at +{self._elapsed_ms} ms, {self.pending_timers} timer(s)>"

    def time_ms(self) -> int:
        return self._wall_origin_ms + self._elapsed_ms

    def monotonic_ms(self) -> int:
        return self._elapsed_ms

    @property
    def pending_timers(self) -> int:
        """Timers registered and not yet fired or abandoned."""
        return sum(1 for _, _, t in self._timers if not t.cancelled)

    def next_deadline_ms(self) -> int | None:
        """The monotonic time of the earliest pending timer (None: none)."""
        self._drop_cancelled()
        return self._timers[0][0] if self._timers else None

    def _schedule(self, seconds: float, callback: Callable[[], None]) -> _Timer:
        delay = max(math.ceil(round(seconds * 1000, 6)), 1)
        timer = _Timer(self._elapsed_ms + delay, callback)
        heapq.heappush(self._timers, (timer.deadline_ms, next(self._sequence), timer))
        return timer

    def _drop_cancelled(self) -> None:
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        if not math.isfinite(seconds):
            await anyio.sleep_forever()
        event = anyio.Event()
        timer = self._schedule(seconds, event.set)
        try:
            await event.wait()
        finally:
            timer.cancelled = True

    async def wait(self, event: anyio.Event, timeout: float) -> bool:
        if event.is_set():
            return True
        if timeout <= 0:
            return False
        if not math.isfinite(timeout):
            await event.wait()
            return True
        with anyio.CancelScope() as scope:
            timer = self._schedule(timeout, scope.cancel)
            try:
                await event.wait()
            finally:
                timer.cancelled = True
        return event.is_set()

    async def advance(self, ms: int) -> None:
        """Move time forward ``ms`` milliseconds, firing every timer due on the way.

        Timers fire one at a time, earliest first (in the order they were set when due at the
        same instant); after each, the tasks it woke run until every task is blocked again, so
        what they do (expire a session, answer a long poll, set the next timer) has happened
        before the next timer fires and before this returns.
        """
        if ms < 0:
            raise ValueError(f"cannot move a clock backwards ({ms} ms)")
        if self._advancing:
            raise RuntimeError("VirtualClock.advance is already running")
        self._advancing = True
        try:
            target = self._elapsed_ms + int(ms)
            await wait_all_tasks_blocked()
            while (deadline := self.next_deadline_ms()) is not None and deadline <= target:
                self._elapsed_ms = max(self._elapsed_ms, deadline)
                timer = heapq.heappop(self._timers)[2]
                timer.cancelled = True
                timer.callback()
                await wait_all_tasks_blocked()
            self._elapsed_ms = target
            await wait_all_tasks_blocked()
        finally:
            self._advancing = False


#: How many scheduling rounds :func:`wait_all_tasks_blocked` gives tasks on asyncio before it
#: gives up (a task that never blocks, such as a chatty TCP client, must not hang it).
SETTLE_ROUNDS = 10_000


async def wait_all_tasks_blocked() -> None:
    """Return once every other task of this event loop is waiting on something.

    anyio's own version polls every 0.1 s of real time on asyncio; this one yields to the loop
    until no task is runnable, which costs microseconds when the cluster is idle.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not asyncio: trio, whose scheduler knows
        import trio.testing

        with anyio.move_on_after(5):  # a task that never blocks must not hang us
            await trio.testing.wait_all_tasks_blocked()
        return
    this = asyncio.current_task()
    for _ in range(SETTLE_ROUNDS):
        await asyncio.sleep(0)
        if getattr(loop, "_ready", None):
            continue  # callbacks are queued: they may wake tasks
        for task in asyncio.all_tasks(loop):
            waiter = getattr(task, "_fut_waiter", None)
            if task is not this and (waiter is None or waiter.done()):
                break  # runnable
        else:
            return


def make_clock(clock: ClusterClock | str | None) -> ClusterClock:
    """The clock a cluster runs on: ``None``/``"system"``, ``"virtual"``, or a clock object."""
    if clock is None or clock == "system":
        return SystemClock()
    if clock == "virtual":
        return VirtualClock()
    if isinstance(clock, str):
        raise ValueError(f"unknown clock {clock!r}: use 'system', 'virtual' or a clock object")
    if not isinstance(clock, ClusterClock):
        raise TypeError(f"{clock!r} is not a ClusterClock")
    return clock

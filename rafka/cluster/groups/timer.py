"""Keyed deadlines for decision code: session expiry, rebalance and sync timeouts, the initial
rebalance delay, the offsets retention check.

Sans-I/O, like Kafka's coordinator timer: ``schedule(key, deadline_ms, operation)`` replaces any
deadline under the same key; ``cancel(key)`` drops it; the owner asks for
:meth:`Timer.next_deadline`, waits on its clock until then, and runs the due operations one by
one with :meth:`Timer.pop_expired`. Deadlines are monotonic
milliseconds of the cluster clock, so a virtual clock drives every timeout.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Timer"]

T = TypeVar("T")


class Timer(Generic[T]):
    """Operations returning ``T``, each due at a monotonic deadline, one per key."""

    __slots__ = ("_entries", "_heap", "_seq")

    def __init__(self) -> None:
        # key -> (deadline, sequence, operation); the heap may hold stale entries, skipped lazily
        self._entries: dict[str, tuple[int, int, Callable[[], T]]] = {}
        self._heap: list[tuple[int, int, str]] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def schedule(self, key: str, deadline_ms: int, operation: Callable[[], T]) -> None:
        seq = next(self._seq)
        self._entries[key] = (deadline_ms, seq, operation)
        heapq.heappush(self._heap, (deadline_ms, seq, key))

    def cancel(self, key: str) -> None:
        self._entries.pop(key, None)

    def deadline(self, key: str) -> int | None:
        entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def next_deadline(self) -> int | None:
        heap = self._heap
        while heap:
            deadline, seq, key = heap[0]
            entry = self._entries.get(key)
            if entry is not None and entry[1] == seq:
                return deadline
            heapq.heappop(heap)
        return None

    def pop_expired(self, now_ms: int) -> Callable[[], T] | None:
        """Remove and return the earliest operation due at ``now_ms``, or None.

        One at a time: an operation may cancel or replace others, and a cancelled deadline
        must not run even if it was already due.
        """
        heap = self._heap
        while heap and heap[0][0] <= now_ms:
            _, seq, key = heapq.heappop(heap)
            entry = self._entries.get(key)
            if entry is not None and entry[1] == seq:
                del self._entries[key]
                return entry[2]
        return None

    def clear(self) -> None:
        self._entries.clear()
        self._heap.clear()

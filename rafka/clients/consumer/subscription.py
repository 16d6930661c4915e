"""What a consumer reads: its assigned partitions and, for each, the position.

Per partition::

    position      the next offset to return (None until known)
    reset         "earliest" | "latest" while the position must be looked up (ListOffsets),
                  or None
    paused        excluded from fetching (its buffered records are held back too)
    revoking      the same while the group takes it away (the application's pause stays apart)
    awaiting_callback  the same for a partition the group just added, until ``on_assign`` has
                  run (so the application hears of a partition before it sees its records)
    watermarks    high watermark, last stable offset and log start from the last fetch (lag)

Plain state, no I/O: the fetcher and the group coordinator change it, ``poll`` reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import attrs

from rafka import errors
from rafka.clients.types import TopicPartition

__all__ = ["PartitionState", "SubscriptionState"]


@attrs.define
class PartitionState:
    position: int | None = None
    leader_epoch: int | None = None
    reset: str | None = None
    paused: bool = False
    revoking: bool = False
    awaiting_callback: bool = False
    high_watermark: int = -1
    last_stable_offset: int = -1
    log_start_offset: int = -1
    #: Bumped on every seek: fetches sent before it are stale.
    generation: int = 0

    @property
    def held(self) -> bool:
        """Neither fetched nor returned by ``poll`` (paused, being revoked, or added and
        awaiting ``on_assign``)."""
        return self.paused or self.revoking or self.awaiting_callback


class SubscriptionState:
    def __init__(self, default_reset: str) -> None:
        self.default_reset = default_reset
        self.assignment: dict[TopicPartition, PartitionState] = {}
        self.topics: set[str] = set()
        self.pattern: str | None = None
        self.version = 0  # bumped whenever the assignment changes

    def assign(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Replace the assignment; kept partitions keep their positions."""
        wanted = [TopicPartition(*tp) for tp in partitions]
        old = self.assignment
        self.assignment = {tp: old.get(tp) or PartitionState() for tp in wanted}
        self.version += 1

    def state(self, tp: tuple[str, int]) -> PartitionState:
        state = self.assignment.get(TopicPartition(*tp))
        if state is None:
            raise errors.IllegalStateError(f"{tp[0]}-{tp[1]} is not assigned to this consumer")
        return state

    def seek(self, tp: tuple[str, int], offset: int, leader_epoch: int | None = None) -> None:
        if offset < 0:
            raise ValueError(f"cannot seek to a negative offset ({offset})")
        state = self.state(tp)
        state.position = offset
        state.leader_epoch = leader_epoch
        state.reset = None
        state.generation += 1

    def request_reset(self, tp: tuple[str, int], strategy: str | None = None) -> None:
        state = self.state(tp)
        state.reset = strategy or self.default_reset
        state.position = None
        state.generation += 1

    def needing_reset(self) -> list[tuple[TopicPartition, str]]:
        return [(tp, s.reset) for tp, s in self.assignment.items() if s.reset is not None]

    def needing_position(self) -> list[TopicPartition]:
        """Partitions with neither a position nor a pending reset (committed offsets to load)."""
        return [tp for tp, s in self.assignment.items() if s.position is None and s.reset is None]

    def fetchable(self) -> list[TopicPartition]:
        return [tp for tp, s in self.assignment.items() if s.position is not None and not s.held]

    @contextmanager
    def awaiting_callback(self, partitions: Iterable[TopicPartition]) -> Iterator[None]:
        """Hold newly assigned ``partitions`` (neither fetched nor returned) while the block
        runs ``on_assign`` for them, as Java does; they are released however it ends (a
        callback that raised leaves them assigned, so fetchable)."""
        added = list(partitions)
        for tp in added:
            self.state(tp).awaiting_callback = True
        try:
            yield
        finally:
            for tp in added:
                if (state := self.assignment.get(tp)) is not None:
                    state.awaiting_callback = False

    def pause(self, partitions: Iterable[tuple[str, int]]) -> None:
        for tp in partitions:
            self.state(tp).paused = True

    def resume(self, partitions: Iterable[tuple[str, int]]) -> None:
        for tp in partitions:
            self.state(tp).paused = False

    def paused(self) -> set[TopicPartition]:
        return {tp for tp, s in self.assignment.items() if s.paused}

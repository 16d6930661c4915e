"""Small value types shared by rafka's clients."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["OffsetAndTimestamp", "TopicPartition"]


class TopicPartition(NamedTuple):
    """A partition of a topic (a plain tuple, so ``("t", 0)`` works wherever one is taken)."""

    topic: str
    partition: int


class OffsetAndTimestamp(NamedTuple):
    offset: int
    timestamp: int
    leader_epoch: int | None = None

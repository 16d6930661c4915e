"""The leader-epoch cache of a partition: which leader epoch started at which offset.

Entries ``(epoch, start_offset)`` have strictly increasing epochs and strictly increasing start
offsets. State changes:

    assign(e, o)            ignored if e is the latest epoch and o is not below its start;
                            otherwise every entry with epoch >= e or start >= o is removed and
                            (e, o) appended
    truncate_from_end(o)    remove entries starting at or after o (log truncated to o)
    truncate_from_start(o)  remove entries starting at or before o, then re-add the last removed
                            one's epoch starting at o (log start moved to o)

``end_offset_for(epoch, log_end_offset)`` answers OffsetForLeaderEpoch: the start offset of the
first epoch after the requested one, together with the largest known epoch <= the requested one.

The disk log persists the entries as ``leader-epoch-checkpoint`` (see :mod:`checkpoint`) through
the ``on_change`` callback; the memory log passes none.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable

__all__ = ["UNDEFINED_EPOCH", "UNDEFINED_EPOCH_OFFSET", "LeaderEpochCache"]

UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1


class LeaderEpochCache:
    """Epoch -> start offset entries for one partition (see the module docstring)."""

    __slots__ = ("_epochs", "_offsets", "on_change")

    def __init__(
        self,
        entries: Iterable[tuple[int, int]] = (),
        on_change: Callable[[list[tuple[int, int]]], None] | None = None,
    ) -> None:
        self._epochs: list[int] = []
        self._offsets: list[int] = []
        self.on_change = on_change
        for epoch, offset in entries:
            self._assign(epoch, offset)

    def entries(self) -> list[tuple[int, int]]:
        """Every ``(epoch, start_offset)`` in epoch order."""
        return list(zip(self._epochs, self._offsets, strict=True))

    def __len__(self) -> int:
        return len(self._epochs)

    @property
    def latest_epoch(self) -> int | None:
        """The largest epoch, or None when empty."""
        return self._epochs[-1] if self._epochs else None

    @property
    def earliest_entry(self) -> tuple[int, int] | None:
        """The first ``(epoch, start_offset)``, or None."""
        return (self._epochs[0], self._offsets[0]) if self._epochs else None

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.entries())

    def _assign(self, epoch: int, start_offset: int) -> bool:
        if epoch < 0 or start_offset < 0:
            raise ValueError(f"invalid leader epoch entry ({epoch}, {start_offset})")
        if self._epochs and self._epochs[-1] == epoch and start_offset >= self._offsets[-1]:
            return False
        keep = len(self._epochs)
        while keep and (self._epochs[keep - 1] >= epoch or self._offsets[keep - 1] >= start_offset):
            keep -= 1
        del self._epochs[keep:]
        del self._offsets[keep:]
        self._epochs.append(epoch)
        self._offsets.append(start_offset)
        return True

    def assign(self, epoch: int, start_offset: int) -> None:
        """Record that ``epoch`` began at ``start_offset`` (see the transition table)."""
        if self._assign(epoch, start_offset):
            self._changed()

    def end_offset_for(self, epoch: int, log_end_offset: int) -> tuple[int, int]:
        """``(epoch, end_offset)`` for OffsetForLeaderEpoch; ``(-1, -1)`` when unknown."""
        if epoch == UNDEFINED_EPOCH or not self._epochs:
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        if epoch == self._epochs[-1]:
            return epoch, log_end_offset
        higher = bisect_right(self._epochs, epoch)
        if higher == len(self._epochs):
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        if higher == 0:
            return epoch, self._offsets[0]
        return self._epochs[higher - 1], self._offsets[higher]

    def epoch_for_offset(self, offset: int) -> int | None:
        """The epoch the record at ``offset`` was written in, or None before the first entry."""
        slot = bisect_right(self._offsets, offset) - 1
        return self._epochs[slot] if slot >= 0 else None

    def truncate_from_end(self, end_offset: int) -> None:
        """Remove entries starting at or after ``end_offset``."""
        keep = bisect_left(self._offsets, end_offset)
        if end_offset >= 0 and keep < len(self._offsets):
            del self._epochs[keep:]
            del self._offsets[keep:]
            self._changed()

    def truncate_from_start(self, start_offset: int) -> None:
        """Drop entries before ``start_offset``; the epoch covering it now starts there."""
        removed = bisect_right(self._offsets, start_offset)
        if removed:
            epoch = self._epochs[removed - 1]
            del self._epochs[:removed]
            del self._offsets[:removed]
            self._epochs.insert(0, epoch)
            self._offsets.insert(0, start_offset)
            self._changed()

    def clear(self) -> None:
        """Remove every entry."""
        if self._epochs:
            self._epochs.clear()
            self._offsets.clear()
            self._changed()

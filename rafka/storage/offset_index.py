"""The sparse offset index of a segment: ``<base offset>.index``.

File layout: a sequence of 8-byte entries, big-endian, nothing else (no header)::

    offset size field
    0      4    relativeOffset  int32   offset - segment base offset (the LAST offset of a batch)
    4      4    position        int32   byte position of that batch in the ``.log`` file

Invariants: relative offsets and positions both strictly increase; each entry names a batch that
starts at ``position`` and whose last offset is ``base + relativeOffset`` (what Kafka's
``kafka-dump-log`` checks). An entry is added for a batch when more than
``index.interval.bytes`` were appended since the previous entry. At most
``segment.index.bytes // 8`` entries fit; a full index makes the log roll.

Unlike Kafka (which memory-maps a preallocated file) the entries live in two ``array``s and the
file is written by :meth:`OffsetIndex.flush`; the file is always exactly ``8 * entries`` bytes, so
Kafka's tools read it as a trimmed index. Lookups are bisections over the arrays. With ``path``
None the index has no file (the in-memory log).
"""

from __future__ import annotations

import contextlib
import os
import struct
from array import array
from bisect import bisect_right

from rafka.storage.errors import CorruptIndexError

__all__ = ["ENTRY_SIZE", "OffsetIndex"]

ENTRY_SIZE = 8
_ENTRY = struct.Struct(">ii")
_INT32_MAX = (1 << 31) - 1


class OffsetIndex:
    """Offset -> position lookups for one segment (see the module docstring)."""

    __slots__ = ("_offsets", "_path", "_persisted", "_positions", "base_offset", "max_entries")

    def __init__(self, base_offset: int, max_index_size: int, path: str | None = None) -> None:
        self.base_offset = base_offset
        self.max_entries = max_index_size // ENTRY_SIZE
        self._path = path
        self._offsets = array("q")  # relative offsets
        self._positions = array("q")
        self._persisted = 0  # entries already in the file

    # -- loading ------------------------------------------------------------------------------

    def load(self, log_size: int) -> None:
        """Read the file, checking it against the segment's ``.log`` size.

        Raises :class:`CorruptIndexError` (then the caller rebuilds it from the log) when the
        size is not a multiple of 8, entries do not increase, or a position lies past the log.
        A missing file raises :class:`FileNotFoundError`.
        """
        assert self._path is not None
        with open(self._path, "rb") as f:
            data = f.read()
        if len(data) % ENTRY_SIZE:
            raise CorruptIndexError(f"index file {self._path} has {len(data)} bytes")
        count = len(data) // ENTRY_SIZE
        values = struct.unpack(f">{2 * count}i", data)
        offsets = array("q", values[0::2])
        positions = array("q", values[1::2])
        for i in range(count):
            if offsets[i] < 0 or positions[i] < 0 or positions[i] >= max(log_size, 1):
                raise CorruptIndexError(f"index file {self._path} entry {i} is out of range")
            if i and (offsets[i] <= offsets[i - 1] or positions[i] <= positions[i - 1]):
                raise CorruptIndexError(f"index file {self._path} entry {i} does not increase")
        self._offsets, self._positions = offsets, positions
        self._persisted = count

    # -- queries ------------------------------------------------------------------------------

    def copy(self) -> OffsetIndex:
        """An independent, file-less copy of the entries (for in-memory snapshots)."""
        if self._path is not None:
            raise ValueError("only a file-less index can be copied")
        other = OffsetIndex(self.base_offset, self.max_entries * ENTRY_SIZE)
        other._offsets, other._positions = self._offsets[:], self._positions[:]
        return other

    def __len__(self) -> int:
        return len(self._offsets)

    @property
    def is_full(self) -> bool:
        """Whether another entry would exceed ``segment.index.bytes``."""
        return len(self._offsets) >= self.max_entries

    @property
    def last_offset(self) -> int:
        """The offset of the last entry, or the base offset when empty."""
        return self.base_offset + self._offsets[-1] if self._offsets else self.base_offset

    def entry(self, n: int) -> tuple[int, int]:
        """The ``n``-th entry as ``(absolute offset, position)``."""
        return self.base_offset + self._offsets[n], self._positions[n]

    def can_append_offset(self, offset: int) -> bool:
        """Whether ``offset`` fits an int32 relative to the base offset."""
        return 0 <= offset - self.base_offset <= _INT32_MAX

    def lookup(self, target_offset: int) -> tuple[int, int]:
        """The entry with the largest offset <= ``target_offset``; ``(base, 0)`` if none."""
        slot = bisect_right(self._offsets, target_offset - self.base_offset) - 1
        if slot < 0:
            return self.base_offset, 0
        return self.base_offset + self._offsets[slot], self._positions[slot]

    def lookup_position(self, max_position: int) -> int:
        """The largest indexed position <= ``max_position`` (0 if none)."""
        slot = bisect_right(self._positions, max_position) - 1
        return self._positions[slot] if slot >= 0 else 0

    # -- changes ------------------------------------------------------------------------------

    def append(self, offset: int, position: int) -> None:
        """Add an entry; offsets and positions must increase and the index must not be full."""
        if self.is_full:
            raise ValueError(f"offset index is full ({len(self._offsets)} entries)")
        relative = offset - self.base_offset
        if self._offsets and (relative <= self._offsets[-1] or position <= self._positions[-1]):
            raise ValueError(f"index entry ({offset}, {position}) does not follow the last one")
        if not 0 <= relative <= _INT32_MAX:
            raise ValueError(f"offset {offset} does not fit the index of {self.base_offset}")
        self._offsets.append(relative)
        self._positions.append(position)

    def truncate_to(self, offset: int) -> None:
        """Remove every entry whose offset is >= ``offset``."""
        keep = bisect_right(self._offsets, offset - self.base_offset - 1)
        self._truncate_entries(keep)

    def reset(self) -> None:
        """Remove every entry."""
        self._truncate_entries(0)

    def _truncate_entries(self, count: int) -> None:
        if count >= len(self._offsets):
            return
        del self._offsets[count:]
        del self._positions[count:]
        if self._persisted > count:
            self._persisted = count
            if self._path is not None and os.path.exists(self._path):
                os.truncate(self._path, count * ENTRY_SIZE)

    # -- files --------------------------------------------------------------------------------

    def flush(self, *, sync: bool = True) -> None:
        """Write entries not yet in the file (creating it) and fsync it when ``sync``."""
        if self._path is None:
            return
        count = len(self._offsets)
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            if count > self._persisted:
                pairs = [0] * (2 * (count - self._persisted))
                pairs[0::2] = self._offsets[self._persisted :]
                pairs[1::2] = self._positions[self._persisted :]
                os.pwrite(fd, struct.pack(f">{len(pairs)}i", *pairs), self._persisted * ENTRY_SIZE)
            if os.fstat(fd).st_size != count * ENTRY_SIZE:
                os.ftruncate(fd, count * ENTRY_SIZE)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        self._persisted = count

    @property
    def path(self) -> str | None:
        """The index file (None for an in-memory index)."""
        return self._path

    def rename(self, path: str) -> None:
        """Move the file (if written) to ``path``."""
        if self._path is not None and os.path.exists(self._path):
            os.replace(self._path, path)
        self._path = path

    def delete(self) -> None:
        """Remove the file, if any."""
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)

"""The sparse time index of a segment: ``<base offset>.timeindex``.

File layout: a sequence of 12-byte entries, big-endian, nothing else::

    offset size field
    0      8    timestamp       int64   the largest batch max timestamp seen up to this entry
    8      4    relativeOffset  int32   the last offset of the batch that first reached it

Invariants: timestamps strictly increase (an entry is added only when the running maximum grew)
and offsets never decrease. Entries are added together with offset-index entries, plus a final
entry holding the segment's maximum when the segment stops being active (roll, close, recovery).
``segment.index.bytes // 12`` entries fit; the last slot is kept for that final entry, so the
index counts as full one entry early. As with :mod:`offset_index`, entries live in memory and the
file is written on :meth:`TimeIndex.flush`.
"""

from __future__ import annotations

import contextlib
import os
import struct
from array import array
from bisect import bisect_right

from rafka.storage.errors import CorruptIndexError

__all__ = ["ENTRY_SIZE", "TimeIndex"]

ENTRY_SIZE = 12
_NO_TIMESTAMP = -1


class TimeIndex:
    """Timestamp -> offset lookups for one segment (see the module docstring)."""

    __slots__ = ("_offsets", "_path", "_persisted", "_timestamps", "base_offset", "max_entries")

    def __init__(self, base_offset: int, max_index_size: int, path: str | None = None) -> None:
        self.base_offset = base_offset
        self.max_entries = max_index_size // ENTRY_SIZE
        self._path = path
        self._timestamps = array("q")
        self._offsets = array("q")  # relative offsets
        self._persisted = 0

    def load(self, base_offset_limit: int) -> None:
        """Read the file; :class:`CorruptIndexError` when it is malformed or an entry's offset
        lies at or past ``base_offset_limit`` (the segment's next offset)."""
        assert self._path is not None
        with open(self._path, "rb") as f:
            data = f.read()
        if len(data) % ENTRY_SIZE:
            raise CorruptIndexError(f"time index file {self._path} has {len(data)} bytes")
        count = len(data) // ENTRY_SIZE
        timestamps = array("q")
        offsets = array("q")
        for ts, rel in struct.iter_unpack(">qi", data):
            timestamps.append(ts)
            offsets.append(rel)
        for i in range(count):
            if offsets[i] < 0 or self.base_offset + offsets[i] >= max(
                base_offset_limit, self.base_offset + 1
            ):
                raise CorruptIndexError(f"time index {self._path} entry {i} is out of range")
            if i and (timestamps[i] <= timestamps[i - 1] or offsets[i] < offsets[i - 1]):
                raise CorruptIndexError(f"time index {self._path} entry {i} does not increase")
        self._timestamps, self._offsets = timestamps, offsets
        self._persisted = count

    def copy(self) -> TimeIndex:
        """An independent, file-less copy of the entries (for in-memory snapshots)."""
        if self._path is not None:
            raise ValueError("only a file-less index can be copied")
        other = TimeIndex(self.base_offset, self.max_entries * ENTRY_SIZE)
        other._timestamps, other._offsets = self._timestamps[:], self._offsets[:]
        return other

    def __len__(self) -> int:
        return len(self._timestamps)

    @property
    def is_full(self) -> bool:
        """Full one entry early: the last slot is reserved for the entry written on roll."""
        return len(self._timestamps) >= self.max_entries - 1

    @property
    def last_entry(self) -> tuple[int, int]:
        """``(timestamp, offset)`` of the last entry, or ``(-1, base offset)`` when empty."""
        if not self._timestamps:
            return _NO_TIMESTAMP, self.base_offset
        return self._timestamps[-1], self.base_offset + self._offsets[-1]

    def entry(self, n: int) -> tuple[int, int]:
        """The ``n``-th entry as ``(timestamp, absolute offset)``."""
        return self._timestamps[n], self.base_offset + self._offsets[n]

    def lookup(self, target_timestamp: int) -> tuple[int, int]:
        """The entry with the largest timestamp <= target; ``(-1, base offset)`` if none."""
        slot = bisect_right(self._timestamps, target_timestamp) - 1
        if slot < 0:
            return _NO_TIMESTAMP, self.base_offset
        return self._timestamps[slot], self.base_offset + self._offsets[slot]

    def maybe_append(self, timestamp: int, offset: int, *, skip_full_check: bool = False) -> None:
        """Add ``(timestamp, offset)`` if ``timestamp`` exceeds the last entry's timestamp."""
        if not skip_full_check and self.is_full:
            raise ValueError(f"time index is full ({len(self._timestamps)} entries)")
        last_ts, last_offset = self.last_entry
        if self._timestamps and offset < last_offset:
            raise ValueError(f"time index offset {offset} is below the last one {last_offset}")
        if timestamp > last_ts:
            self._timestamps.append(timestamp)
            self._offsets.append(offset - self.base_offset)

    def truncate_to(self, offset: int) -> None:
        """Remove every entry whose offset is >= ``offset``."""
        keep = bisect_right(self._offsets, offset - self.base_offset - 1)
        self._truncate_entries(keep)

    def reset(self) -> None:
        """Remove every entry."""
        self._truncate_entries(0)

    def _truncate_entries(self, count: int) -> None:
        if count >= len(self._timestamps):
            return
        del self._timestamps[count:]
        del self._offsets[count:]
        if self._persisted > count:
            self._persisted = count
            if self._path is not None and os.path.exists(self._path):
                os.truncate(self._path, count * ENTRY_SIZE)

    def flush(self, *, sync: bool = True) -> None:
        """Write entries not yet in the file (creating it) and fsync it when ``sync``."""
        if self._path is None:
            return
        count = len(self._timestamps)
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            if count > self._persisted:
                data = b"".join(
                    struct.pack(">qi", self._timestamps[i], self._offsets[i])
                    for i in range(self._persisted, count)
                )
                os.pwrite(fd, data, self._persisted * ENTRY_SIZE)
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

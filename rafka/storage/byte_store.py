"""Where a segment's bytes live: memory (immutable chunks) or a ``.log`` file.

A segment is an append-only byte sequence of whole record batches, addressed by position. Both
stores offer the same operations, so :class:`~rafka.storage.segment.LogSegment` (indexes, offset
translation, recovery) is one implementation over either.

- :class:`MemoryStore` keeps immutable pieces: the patched batch header and the records section
  of the caller's ``bytes`` (no copy), or a copy of mutable input. Reads return read-only
  ``memoryview``s of those pieces (zero copy); a truncation shortens a view, never the data, so
  views handed out earlier stay valid and unchanged.
- :class:`FileStore` writes with ``os.pwritev`` and reads with ``os.pread`` (one copy). It never
  memory-maps data: a mapped page of a file truncated later would crash the process (SIGBUS).
  It can also write a batch's records ahead of its header (:meth:`FileStore.write_ahead`), so
  that the write overlaps the batch's checks.
"""

from __future__ import annotations

import contextlib
import os
from bisect import bisect_right
from collections.abc import Sequence
from typing import Protocol

__all__ = ["ByteStore", "FileStore", "MemoryStore"]

Buffer = bytes | bytearray | memoryview


class ByteStore(Protocol):
    """Append-only bytes addressed by position (the part of a segment that is not an index)."""

    @property
    def size(self) -> int:
        """Bytes stored."""
        ...

    def append(self, parts: Sequence[Buffer]) -> None:
        """Append the concatenation of ``parts`` (whole batches)."""
        ...

    def read(self, position: int, size: int) -> list[memoryview]:
        """Bytes ``[position, position + size)`` (clipped to the end) as one or more views."""
        ...

    def read_some(self, position: int, size: int) -> Buffer:
        """At least one byte and at most ``size`` bytes from ``position`` (for header scans);
        empty at the end."""
        ...

    def truncate(self, size: int) -> None:
        """Drop everything from ``size`` on."""
        ...

    def discard_ahead(self) -> None:
        """Drop bytes written ahead and not committed (see ``FileStore.write_ahead``)."""
        ...

    def flush(self) -> None:
        """Make the bytes durable (fsync for files)."""
        ...

    def close(self) -> None:
        """Release the file handle, if any."""
        ...

    def delete(self) -> None:
        """Close and remove the backing file, if any."""
        ...


class MemoryStore:
    """Segment bytes held in memory as immutable pieces.

    A part given to :meth:`append` that is already immutable (``bytes``, or a read-only view of
    ``bytes``, such as the records section of a produce request) is kept as it is, without a
    copy; a mutable one is copied. The store keeps the objects it references alive.
    """

    __slots__ = ("_pieces", "_size", "_starts")

    def __init__(self) -> None:
        self._pieces: list[memoryview] = []
        self._starts: list[int] = []
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def append(self, parts: Sequence[Buffer]) -> None:
        for part in parts:
            view = memoryview(part)
            if not view.nbytes:
                continue
            if not (view.readonly and isinstance(view.obj, bytes)):
                view = memoryview(view.tobytes())
            self._starts.append(self._size)
            self._pieces.append(view)
            self._size += view.nbytes

    def copy(self) -> MemoryStore:
        """An independent store over the same immutable pieces (no byte is copied)."""
        other = MemoryStore()
        other._pieces, other._starts, other._size = (
            self._pieces.copy(),
            self._starts.copy(),
            self._size,
        )
        return other

    def same_content(self, other: MemoryStore) -> bool:
        """Whether both stores hold the same pieces. Pieces only ever leave from the end and
        every append or truncation makes a new last piece, so comparing sizes, counts and the
        last piece's identity is enough."""
        if self._size != other._size or len(self._pieces) != len(other._pieces):
            return False
        return not self._pieces or self._pieces[-1] is other._pieces[-1]

    def read(self, position: int, size: int) -> list[memoryview]:
        end = min(position + size, self._size)
        views: list[memoryview] = []
        if position >= end:
            return views
        index = bisect_right(self._starts, position) - 1
        while position < end:
            start = self._starts[index]
            piece = self._pieces[index]
            stop = min(end - start, piece.nbytes)
            views.append(piece[position - start : stop])
            position = start + stop
            index += 1
        return views

    def read_some(self, position: int, size: int) -> Buffer:
        if position >= self._size:
            return b""
        index = bisect_right(self._starts, position) - 1
        start = self._starts[index]
        return self._pieces[index][position - start : position - start + size]

    def truncate(self, size: int) -> None:
        if size >= self._size:
            return
        index = bisect_right(self._starts, size) - 1
        if index < 0:
            self._pieces.clear()
            self._starts.clear()
        else:
            start = self._starts[index]
            del self._pieces[index + 1 :]
            del self._starts[index + 1 :]
            if size == start:
                self._pieces.pop()
                self._starts.pop()
            else:
                self._pieces[index] = self._pieces[index][: size - start]
        self._size = size

    def discard_ahead(self) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def delete(self) -> None:
        self._pieces.clear()
        self._starts.clear()
        self._size = 0


class FileStore:
    """Segment bytes in a ``.log`` file, written at the tracked end and read with pread."""

    __slots__ = ("_ahead", "_fd", "_size", "path")

    def __init__(self, path: str, *, create: bool) -> None:
        self.path = path
        flags = os.O_RDWR | (os.O_CREAT | os.O_EXCL if create else 0)
        self._fd: int | None = os.open(path, flags, 0o644)
        self._size = os.fstat(self._fd).st_size
        #: ``(gap, data)`` written at ``size + gap`` and not yet committed.
        self._ahead: tuple[int, Buffer] | None = None

    def _handle(self) -> int:
        if self._fd is None:
            raise ValueError(f"segment file {self.path} is closed")
        return self._fd

    @property
    def size(self) -> int:
        return self._size

    def append(self, parts: Sequence[Buffer]) -> None:
        fd = self._handle()
        position = self._size
        ahead = self._ahead
        if ahead is not None:
            gap, data = ahead
            if len(parts) == 2 and parts[1] is data and len(parts[0]) == gap:
                # the records are already there; a failed header write leaves them to
                # discard_ahead
                self._write(fd, parts[:1], position)
                self._ahead = None
                self._size = position + gap + len(data)
                return
            self.discard_ahead()
        self._size = position + self._write(fd, parts, position)

    @staticmethod
    def _write(fd: int, parts: Sequence[Buffer], position: int) -> int:
        total = sum(len(p) for p in parts)
        written = os.pwritev(fd, parts, position)
        while written < total:  # a short write: finish it from the first unwritten byte
            rest = b"".join(parts)[written:]
            written += os.pwrite(fd, rest, position + written)
        return total

    def write_ahead(self, gap: int, data: Buffer) -> None:
        """Write ``data`` at ``size + gap``, past the end, without committing it.

        The next :meth:`append` of exactly two parts, ``gap`` bytes and then this very
        ``data`` object, commits it by writing only the first part; any other append, a
        truncation or :meth:`discard_ahead` drops it. Until then readers do not see it, and
        after a crash the ``gap`` bytes read as zeros (a hole), which recovery treats as a
        corrupt tail and truncates: an uncommitted batch never survives.
        """
        fd = self._handle()
        self.discard_ahead()
        self._ahead = (gap, data)
        self._write(fd, (data,), self._size + gap)

    def discard_ahead(self) -> None:
        if self._ahead is not None:
            self._ahead = None
            os.ftruncate(self._handle(), self._size)

    def read(self, position: int, size: int) -> list[memoryview]:
        size = min(size, self._size - position)
        if size <= 0:
            return []
        data = os.pread(self._handle(), size, position)
        return [memoryview(data)]

    def read_some(self, position: int, size: int) -> Buffer:
        size = min(size, self._size - position)
        if size <= 0:
            return b""
        return os.pread(self._handle(), size, position)

    def truncate(self, size: int) -> None:
        self.discard_ahead()
        if size < self._size:
            os.ftruncate(self._handle(), size)
            self._size = size

    def flush(self) -> None:
        if self._fd is not None:
            os.fdatasync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            self.discard_ahead()
            os.close(self._fd)
            self._fd = None

    def dup_fd(self) -> int:
        """A duplicate of the file descriptor (for an fsync that may outlive this store)."""
        return os.dup(self._handle())

    def rename(self, path: str) -> None:
        """Move the file to ``path`` (the handle stays valid)."""
        os.replace(self.path, path)
        self.path = path

    def delete(self) -> None:
        self.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

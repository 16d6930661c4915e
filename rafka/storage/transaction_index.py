"""The aborted-transaction index of a segment: ``<base offset>.txnindex``.

File layout: a sequence of 34-byte entries, big-endian, one per aborted transaction whose ABORT
marker is in this segment, in marker order::

    offset size field
    0      2    version           int16   0
    2      8    producerId        int64
    10     8    firstOffset       int64   first offset of the transaction's data
    18     8    lastOffset        int64   offset of the ABORT marker
    26     8    lastStableOffset  int64   the partition's last stable offset once it completed

A read_committed fetch of ``[fetch_offset, upper)`` reports every aborted transaction with
``lastOffset >= fetch_offset`` and ``firstOffset < upper`` (see :meth:`collect`); the search can
stop at the first entry whose ``lastStableOffset >= upper``. Entries are kept in memory and the
file written on :meth:`TransactionIndex.flush`; the file is absent while there are none.
"""

from __future__ import annotations

import contextlib
import os
import struct
from typing import NamedTuple

from rafka.storage.errors import CorruptIndexError

__all__ = ["ENTRY_SIZE", "AbortedTxn", "TransactionIndex"]

ENTRY_SIZE = 34
_ENTRY = struct.Struct(">hqqqq")


class AbortedTxn(NamedTuple):
    """One aborted transaction (what Fetch responses list for read_committed consumers)."""

    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int


class TransactionIndex:
    """Aborted transactions of one segment (see the module docstring)."""

    __slots__ = ("_path", "_persisted", "base_offset", "entries")

    def __init__(self, base_offset: int, path: str | None = None) -> None:
        self.base_offset = base_offset
        self._path = path
        self.entries: list[AbortedTxn] = []
        self._persisted = 0

    def load(self) -> None:
        """Read the file if it exists; :class:`CorruptIndexError` if malformed."""
        assert self._path is not None
        try:
            with open(self._path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return
        if len(data) % ENTRY_SIZE:
            raise CorruptIndexError(f"transaction index {self._path} has {len(data)} bytes")
        entries = []
        for version, pid, first, last, lso in _ENTRY.iter_unpack(data):
            if version != 0 or first > last:
                raise CorruptIndexError(f"transaction index {self._path} has a bad entry")
            entries.append(AbortedTxn(pid, first, last, lso))
        self.entries = entries
        self._persisted = len(entries)

    def copy(self) -> TransactionIndex:
        """An independent, file-less copy of the entries (for in-memory snapshots)."""
        if self._path is not None:
            raise ValueError("only a file-less index can be copied")
        other = TransactionIndex(self.base_offset)
        other.entries = self.entries.copy()
        return other

    def append(self, txn: AbortedTxn) -> None:
        """Add an aborted transaction; markers arrive in offset order."""
        if self.entries and txn.last_offset <= self.entries[-1].last_offset:
            raise ValueError(f"aborted transaction {txn} is not after {self.entries[-1]}")
        self.entries.append(txn)

    def collect(self, fetch_offset: int, upper_bound_offset: int) -> tuple[list[AbortedTxn], bool]:
        """Aborted transactions overlapping ``[fetch_offset, upper_bound_offset)``, and whether
        later segments need not be searched."""
        found = []
        for txn in self.entries:
            if txn.last_offset >= fetch_offset and txn.first_offset < upper_bound_offset:
                found.append(txn)
            if txn.last_stable_offset >= upper_bound_offset:
                return found, True
        return found, False

    def truncate_to(self, offset: int) -> None:
        """Forget transactions whose marker is at or after ``offset``."""
        keep = len(self.entries)
        while keep and self.entries[keep - 1].last_offset >= offset:
            keep -= 1
        if keep < len(self.entries):
            del self.entries[keep:]
            if self._persisted > keep:
                self._persisted = keep
                if self._path is not None and os.path.exists(self._path):
                    os.truncate(self._path, keep * ENTRY_SIZE)

    def reset(self) -> None:
        """Forget every transaction."""
        self.truncate_to(-1)

    def flush(self, *, sync: bool = True) -> None:
        """Write new entries (the file is created on the first one) and fsync it."""
        if self._path is None or (not self.entries and not os.path.exists(self._path)):
            return
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            count = len(self.entries)
            if count > self._persisted:
                data = b"".join(_ENTRY.pack(0, *txn) for txn in self.entries[self._persisted :])
                os.pwrite(fd, data, self._persisted * ENTRY_SIZE)
            if os.fstat(fd).st_size != count * ENTRY_SIZE:
                os.ftruncate(fd, count * ENTRY_SIZE)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        self._persisted = len(self.entries)

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

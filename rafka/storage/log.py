"""The partition log interface: what the broker may ask of a partition's storage.

Two backends implement it with the same code above the byte store, so they answer alike:
:class:`~rafka.storage.memory_log.MemoryLog` (no files) and
:class:`~rafka.storage.disk_log.DiskLog` (Kafka's directory layout and file formats).

Offsets: ``log_start_offset <= last_stable_offset <= high_watermark <= log_end_offset``. The log
moves ``log_end_offset`` (appends, truncation) and ``log_start_offset`` (retention,
DeleteRecords); the replication layer above sets ``high_watermark``; ``last_stable_offset`` is
the high watermark held back by open transactions. A log is not thread-safe: one owner calls it,
and only the ``sync()`` step of a :class:`FlushPlan` may run on another thread.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs

from rafka.storage.append import AppendInfo, AppendOrigin
from rafka.storage.leader_epoch_cache import LeaderEpochCache
from rafka.storage.log_config import LogConfig
from rafka.storage.producer_state import ProducerStateManager
from rafka.storage.segment import TimestampAndOffset
from rafka.storage.transaction_index import AbortedTxn

__all__ = [
    "EARLIEST_LOCAL_TIMESTAMP",
    "EARLIEST_TIMESTAMP",
    "LATEST_TIERED_TIMESTAMP",
    "LATEST_TIMESTAMP",
    "MAX_TIMESTAMP",
    "FetchDataInfo",
    "FlushPlan",
    "PartitionLog",
]

#: ListOffsets' special timestamps.
LATEST_TIMESTAMP = -1
EARLIEST_TIMESTAMP = -2
MAX_TIMESTAMP = -3
EARLIEST_LOCAL_TIMESTAMP = -4
LATEST_TIERED_TIMESTAMP = -5


@attrs.frozen
class FetchDataInfo:
    """Whole stored batches read from a log, starting with the one holding ``fetch_offset``."""

    #: The offset asked for.
    fetch_offset: int
    #: The batches, as views of stored buffers (memory) or of one read (disk).
    chunks: tuple[memoryview, ...] = ()
    #: Total bytes in ``chunks``.
    size: int = 0
    #: The offset after the last batch returned (``fetch_offset`` when none).
    next_offset: int = -1
    #: The first batch exceeded ``max_bytes`` and ``min_one_message`` was off.
    first_entry_incomplete: bool = False
    #: Aborted transactions overlapping the batches, when asked for (read_committed).
    aborted_transactions: tuple[AbortedTxn, ...] | None = None

    @property
    def records(self) -> bytes | memoryview:
        """The batches as one buffer (a view when they are in one chunk, else joined)."""
        if len(self.chunks) == 1:
            return self.chunks[0]
        return b"".join(self.chunks)

    def __len__(self) -> int:
        return self.size


class FlushPlan(Protocol):
    """A flush split in steps: prepared by the owner, ``sync()`` anywhere (a worker thread),
    then handed back to the log's ``complete_flush``."""

    #: The offset everything below which is durable once ``sync()`` returned.
    offset: int

    def sync(self) -> None:
        """fsync what the plan covers (slow; safe to run on another thread)."""
        ...


@runtime_checkable
class PartitionLog(Protocol):
    """One partition's log (see the module docstring)."""

    config: LogConfig

    @property
    def log_start_offset(self) -> int:
        """The first offset that can be read."""
        ...

    @property
    def log_end_offset(self) -> int:
        """The offset the next appended record gets."""
        ...

    @property
    def high_watermark(self) -> int:
        """The offset up to which records are replicated (set by the layer above)."""
        ...

    @high_watermark.setter
    def high_watermark(self, offset: int) -> None: ...

    @property
    def last_stable_offset(self) -> int:
        """The high watermark, or the first offset of the oldest open transaction if lower."""
        ...

    @property
    def recovery_point(self) -> int:
        """Everything below this offset is known to be durable."""
        ...

    @property
    def size(self) -> int:
        """Bytes of batches stored."""
        ...

    @property
    def leader_epoch_cache(self) -> LeaderEpochCache:
        """Leader epoch -> start offset."""
        ...

    @property
    def producer_state(self) -> ProducerStateManager:
        """Producer id -> epoch, recent sequences, open transaction."""
        ...

    def append(
        self,
        records: bytes | bytearray | memoryview,
        *,
        leader_epoch: int = -1,
        origin: AppendOrigin = AppendOrigin.CLIENT,
    ) -> AppendInfo:
        """Validate and append record batches; see :mod:`rafka.storage.validator`."""
        ...

    def read(
        self,
        offset: int,
        max_bytes: int,
        *,
        max_offset: int | None = None,
        min_one_message: bool = True,
        include_aborted_txns: bool = False,
    ) -> FetchDataInfo:
        """Whole batches from the one holding ``offset``; batches ending at or past
        ``max_offset`` are left out. :class:`~rafka.errors.OffsetOutOfRangeError` outside
        ``[log_start_offset, log_end_offset]``."""
        ...

    def truncate_to(self, offset: int) -> bool:
        """Remove the batch holding ``offset`` and everything after it; the log end offset
        becomes the end of the last batch left (``offset`` when it is a batch boundary).
        Whether anything was removed."""
        ...

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Remove everything; the log restarts empty at ``offset``."""
        ...

    def delete_records_before(self, offset: int) -> int:
        """DeleteRecords: move the log start offset to ``offset``; return the new start."""
        ...

    def offset_for_timestamp(self, timestamp: int) -> TimestampAndOffset | None:
        """ListOffsets: the first record at or after ``timestamp``, or a special timestamp's
        answer (-1 latest, -2 earliest, -3 max timestamp, -4 earliest local)."""
        ...

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """OffsetForLeaderEpoch: ``(epoch, end offset)``, ``(-1, -1)`` when unknown."""
        ...

    def collect_aborted_transactions(self, start: int, upper: int) -> list[AbortedTxn]:
        """Aborted transactions overlapping ``[start, upper)``."""
        ...

    def roll(self) -> None:
        """Start a new active segment now."""
        ...

    def delete_old_segments(self) -> int:
        """Apply retention (time, size, log start offset); return segments deleted."""
        ...

    def flush(self, offset: int | None = None) -> None:
        """Make everything below ``offset`` (default: the log end) durable."""
        ...

    def prepare_flush(self, offset: int | None = None) -> FlushPlan:
        """Step 1 of a split flush (see :class:`FlushPlan`)."""
        ...

    def complete_flush(self, plan: FlushPlan) -> None:
        """Step 3 of a split flush: advance the recovery point."""
        ...

    def close(self) -> None:
        """Flush indexes and release files; the log can no longer be used."""
        ...

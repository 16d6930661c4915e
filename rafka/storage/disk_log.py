"""The on-disk partition log: :class:`UnifiedLog` over Kafka's directory layout and files.

A partition lives in ``<log dir>/<topic>-<partition>/``::

    00000000000000000000.log         batches of the segment starting at offset 0
    00000000000000000000.index       offset index (offset_index.py)
    00000000000000000000.timeindex   time index (time_index.py)
    00000000000000000000.txnindex    aborted transactions, when there are any
    00000000000000001000.snapshot    producer state at offset 1000 (producer_snapshot.py)
    leader-epoch-checkpoint          epoch -> start offset (checkpoint.py)

The log-dir files (recovery point, log start offset, high watermark checkpoints and the
clean-shutdown marker) belong to :class:`~rafka.storage.log_manager.LogManager`.

Durability: appends write with ``pwritev`` and never fsync. :meth:`DiskLog.flush` (or the split
``prepare_flush`` / ``FlushPlan.sync`` / ``complete_flush``) fsyncs the segments and indexes
below the target offset and then moves the recovery point. Opening a log that was not closed
cleanly validates every batch from the recovery point on (:mod:`recovery`).
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable
from functools import partial

from rafka.protocol.records import BATCH_HEADER_SIZE, WalkResult
from rafka.storage.byte_store import FileStore
from rafka.storage.checkpoint import (
    LEADER_EPOCH_CHECKPOINT,
    fsync_dir,
    write_leader_epoch_checkpoint,
)
from rafka.storage.clock import Clock, SystemClock
from rafka.storage.log import FlushPlan
from rafka.storage.log_config import LogConfig
from rafka.storage.offset_index import OffsetIndex
from rafka.storage.producer_snapshot import (
    read_snapshot,
    snapshot_offsets,
    snapshot_path,
    write_snapshot,
)
from rafka.storage.producer_state import ProducerStateEntry
from rafka.storage.segment import LogSegment
from rafka.storage.side_thread import SideThread
from rafka.storage.time_index import TimeIndex
from rafka.storage.transaction_index import TransactionIndex
from rafka.storage.unified_log import DEFAULT_PRODUCER_ID_EXPIRATION_MS, UnifiedLog
from rafka.storage.validator import WriteAhead

__all__ = ["DiskLog", "partition_dir_name", "segment_file"]

CLEANED_SUFFIX = ".cleaned"
SWAP_SUFFIX = ".swap"


def _rename_segment(segment: LogSegment, old_suffix: str, new_suffix: str) -> None:
    store = segment.store
    assert isinstance(store, FileStore)
    store.rename(store.path[: len(store.path) - len(old_suffix)] + new_suffix)
    for index in (segment.offset_index, segment.time_index, segment.txn_index):
        path = index.path
        assert path is not None
        index.rename(path[: len(path) - len(old_suffix)] + new_suffix)


def partition_dir_name(topic: str, partition: int) -> str:
    """``<topic>-<partition>``, Kafka's partition directory name."""
    return f"{topic}-{partition}"


def segment_file(directory: str, base_offset: int, suffix: str) -> str:
    """``<directory>/<20-digit base offset><suffix>``."""
    return os.path.join(directory, f"{base_offset:020d}{suffix}")


class _DiskFlush:
    """fsyncs collected on the owner's thread, run anywhere (see :class:`FlushPlan`)."""

    __slots__ = ("dirs", "fds", "offset", "paths")

    def __init__(self, offset: int) -> None:
        self.offset = offset
        self.fds: list[int] = []
        self.paths: list[str] = []
        self.dirs: list[str] = []

    def sync(self) -> None:
        try:
            for fd in self.fds:
                os.fdatasync(fd)
            for path in self.paths:
                try:
                    fd = os.open(path, os.O_RDONLY)
                except FileNotFoundError:
                    continue
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            for directory in self.dirs:
                fsync_dir(directory)
        finally:
            for fd in self.fds:
                os.close(fd)
            self.fds.clear()


class DiskLog(UnifiedLog):
    """A partition log in a directory, in Kafka's format (see the module docstring).

    Open one with :meth:`open`, which creates the directory or loads and, after an unclean
    shutdown, recovers what is there.

    A batch of at least :attr:`write_ahead_min_bytes` has its records section written while a
    side thread checks it (``FileStore.write_ahead``, ``side_thread.py``); it is committed only
    if the checks pass.
    """

    #: Batches of at least this many bytes are written while a side thread checks them. Below
    #: about 256 KiB the thread handoff costs more than the overlap saves.
    write_ahead_min_bytes = 512 * 1024

    def __init__(
        self,
        directory: str,
        *,
        topic: str,
        partition: int,
        config: LogConfig,
        clock: Clock,
        rng: random.Random | None = None,
        producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS,
        side_thread: SideThread | None = None,
    ) -> None:
        super().__init__(
            topic=topic,
            partition=partition,
            config=config,
            clock=clock,
            rng=rng,
            producer_id_expiration_ms=producer_id_expiration_ms,
        )
        self.directory = directory
        self._dir_dirty = False
        #: The owner's side thread, else one of this log's own (started on first use).
        self._side_thread = side_thread or SideThread(f"rafka-checks-{topic}-{partition}")
        self._owns_side_thread = side_thread is None
        self._loading = True
        #: Called with the log when its recovery point moved down (truncation): the owner
        #: rewrites the recovery-point checkpoint, as Kafka does.
        self.on_recovery_point_lowered: list[Callable[[DiskLog], None]] = []

    @classmethod
    def open(
        cls,
        directory: str,
        *,
        topic: str | None = None,
        partition: int | None = None,
        config: LogConfig | None = None,
        clock: Clock | None = None,
        recovery_point: int = 0,
        log_start_offset: int = 0,
        high_watermark: int | None = None,
        had_clean_shutdown: bool = False,
        rng: random.Random | None = None,
        producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS,
        side_thread: SideThread | None = None,
    ) -> DiskLog:
        """Open (creating if needed) the log in ``directory``.

        ``recovery_point``, ``log_start_offset`` and ``high_watermark`` come from the log dir's
        checkpoints; ``had_clean_shutdown`` from its marker. Topic and partition default to the
        directory name's ``<topic>-<partition>``. ``side_thread`` checks large batches while
        they are written (an owner of many logs shares one); without it the log starts its own
        when it first needs it.
        """
        from rafka.storage.recovery import load_log

        if topic is None or partition is None:
            name = os.path.basename(os.path.normpath(directory))
            head, _, tail = name.rpartition("-")
            topic, partition = (topic or head), (partition if partition is not None else int(tail))
        os.makedirs(directory, exist_ok=True)
        log = cls(
            directory,
            topic=topic,
            partition=partition,
            config=config or LogConfig(),
            clock=clock or SystemClock(),
            rng=rng,
            producer_id_expiration_ms=producer_id_expiration_ms,
            side_thread=side_thread,
        )
        load_log(
            log,
            recovery_point=recovery_point,
            log_start_offset=log_start_offset,
            had_clean_shutdown=had_clean_shutdown,
        )
        log._loading = False
        if high_watermark is not None:
            log.high_watermark = high_watermark
        return log

    # -- appending ----------------------------------------------------------------------------

    def _write_ahead(self, records: bytes | bytearray | memoryview) -> WriteAhead | None:
        if len(records) < self.write_ahead_min_bytes:
            return None
        store = self.segments[-1].store
        assert isinstance(store, FileStore)
        side = self._side_thread

        def write_ahead(checks: Callable[[], WalkResult], body: memoryview) -> WalkResult:
            return side.run_beside(checks, partial(store.write_ahead, BATCH_HEADER_SIZE, body))

        return write_ahead

    # -- segment files ------------------------------------------------------------------------

    def _create_segment(self, base_offset: int) -> LogSegment:
        path = segment_file(self.directory, base_offset, ".log")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # an empty leftover (e.g. a segment re-created at the same offset)
        store = FileStore(path, create=True)
        self._dir_dirty = True
        return self.segment_for(store, base_offset)

    def segment_for(self, store: FileStore, base_offset: int) -> LogSegment:
        """A segment over ``store`` with (not yet loaded) indexes named after it."""
        config = self.config
        directory = os.path.dirname(store.path)
        suffix = store.path[store.path.index(".log") + 4 :]
        return LogSegment(
            store,
            base_offset,
            offset_index=OffsetIndex(
                base_offset,
                config.max_index_size,
                segment_file(directory, base_offset, ".index" + suffix),
            ),
            time_index=TimeIndex(
                base_offset,
                config.max_index_size,
                segment_file(directory, base_offset, ".timeindex" + suffix),
            ),
            txn_index=TransactionIndex(
                base_offset, segment_file(directory, base_offset, ".txnindex" + suffix)
            ),
            index_interval_bytes=config.index_interval_bytes,
            roll_jitter_ms=self._roll_jitter(),
            created_ms=self.clock.time_ms(),
        )

    def _remove_segments(self, segments: list[LogSegment]) -> None:
        super()._remove_segments(segments)
        self._dir_dirty = True

    def _create_cleaned_segment(self, base_offset: int) -> LogSegment:
        path = segment_file(self.directory, base_offset, ".log" + CLEANED_SUFFIX)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return self.segment_for(FileStore(path, create=True), base_offset)

    def _replace_segments(self, new: list[LogSegment], old: list[LogSegment]) -> None:
        """Kafka's swap: fsync the ``.cleaned`` files, rename them ``.swap``, delete the old
        segments, drop the suffix. Recovery completes a swap interrupted after the rename."""
        for segment in new:
            segment.flush()
            _rename_segment(segment, CLEANED_SUFFIX, SWAP_SUFFIX)
        fsync_dir(self.directory)
        super()._remove_segments(old)
        for segment in new:
            _rename_segment(segment, SWAP_SUFFIX, "")
            self._add_segment(segment)
        fsync_dir(self.directory)

    # -- checkpoints and snapshots --------------------------------------------------------------

    def _write_epoch_checkpoint(self, entries: list[tuple[int, int]]) -> None:
        if not self._loading:
            path = os.path.join(self.directory, LEADER_EPOCH_CHECKPOINT)
            write_leader_epoch_checkpoint(path, entries)

    def write_epoch_checkpoint(self) -> None:
        """Write ``leader-epoch-checkpoint`` from the cache."""
        path = os.path.join(self.directory, LEADER_EPOCH_CHECKPOINT)
        write_leader_epoch_checkpoint(path, self._epochs.entries())

    def _lower_recovery_point(self, offset: int) -> None:
        lowered = offset < self._recovery_point
        super()._lower_recovery_point(offset)
        if lowered and not self._loading:
            for callback in self.on_recovery_point_lowered:
                callback(self)

    def _snapshot_offsets(self) -> list[int]:
        return snapshot_offsets(self.directory)

    def _load_snapshot(self, offset: int) -> list[ProducerStateEntry]:
        return read_snapshot(snapshot_path(self.directory, offset))

    def _save_snapshot(self, offset: int, entries: list[ProducerStateEntry]) -> None:
        write_snapshot(snapshot_path(self.directory, offset), entries, sync=False)
        self._dir_dirty = True

    def _delete_snapshot(self, offset: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(snapshot_path(self.directory, offset))

    def take_snapshot(self, *, sync: bool = True) -> None:
        """Write the producer table at the log end offset (done on roll and close)."""
        self._producers.map_end_offset = self._log_end_offset
        path = snapshot_path(self.directory, self._log_end_offset)
        write_snapshot(path, self._producers.snapshot_entries(), sync=sync)

    # -- durability ---------------------------------------------------------------------------

    def prepare_flush(self, offset: int | None = None) -> FlushPlan:
        self._check_open()
        target = self._log_end_offset if offset is None else min(offset, self._log_end_offset)
        plan = _DiskFlush(target)
        segments = self.segments
        for i, segment in enumerate(segments):
            upper = segments[i + 1].base_offset if i + 1 < len(segments) else None
            if segment.base_offset >= target:
                break
            if upper is not None and upper <= self._recovery_point:
                continue
            segment.flush_indexes(sync=False)
            store = segment.store
            assert isinstance(store, FileStore)
            plan.fds.append(store.dup_fd())
            for index in (segment.offset_index, segment.time_index, segment.txn_index):
                if index.path is not None and os.path.exists(index.path):
                    plan.paths.append(index.path)
        for snapshot in self._snapshot_offsets():
            if snapshot > self._recovery_point:
                plan.paths.append(snapshot_path(self.directory, snapshot))
        if self._dir_dirty:
            plan.dirs.append(self.directory)
            self._dir_dirty = False
        return plan

    def close(self) -> None:
        """Flush everything, write a producer snapshot at the log end, release the files."""
        if self._closed:
            return
        self.flush()
        self.take_snapshot()
        super().close()
        fsync_dir(self.directory)
        if self._owns_side_thread:
            self._side_thread.close()

    def delete(self) -> None:
        """Close the files and remove the partition directory."""
        if not self._closed:
            for segment in self.segments:
                segment.store.close()
            self._closed = True
        if self._owns_side_thread:
            self._side_thread.close()
        for name in os.listdir(self.directory):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                os.unlink(os.path.join(self.directory, name))
        with contextlib.suppress(OSError):
            os.rmdir(self.directory)

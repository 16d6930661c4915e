"""The owner of a log directory: partitions, checkpoints, the clean-shutdown marker.

Layout of a log directory (Kafka's)::

    <log dir>/
        .lock                              held (flock) while a LogManager owns the directory
        .kafka_cleanshutdown               present only between a clean close and the next open
        recovery-point-offset-checkpoint   per partition: offsets known to be flushed
        log-start-offset-checkpoint        per partition: log start offsets
        replication-offset-checkpoint      per partition: high watermarks
        cleaner-offset-checkpoint          per partition: where compaction stopped
        <topic>-<partition>/               one DiskLog each (disk_log.py)

Opening reads the marker and the checkpoints, then opens every partition directory; a partition
is recovered from its recovery point unless the marker was there. The marker is then deleted,
so a crash from now on is detected at the next open. :meth:`LogManager.close` flushes every log,
writes the checkpoints and finally the marker.

With ``log_dir=None`` the manager holds :class:`MemoryLog`s and writes nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import re
from collections.abc import Callable, Iterator

from rafka.storage.checkpoint import (
    CLEAN_SHUTDOWN_FILE,
    CLEANER_OFFSET_CHECKPOINT,
    LOG_START_OFFSET_CHECKPOINT,
    RECOVERY_POINT_CHECKPOINT,
    REPLICATION_OFFSET_CHECKPOINT,
    CheckpointError,
    read_clean_shutdown,
    read_offset_checkpoint,
    write_clean_shutdown,
    write_offset_checkpoint,
)
from rafka.storage.clock import Clock, SystemClock
from rafka.storage.decisions import is_flush_due
from rafka.storage.disk_log import DiskLog, partition_dir_name
from rafka.storage.log_config import LogConfig
from rafka.storage.memory_log import MemoryLog
from rafka.storage.side_thread import SideThread
from rafka.storage.unified_log import DEFAULT_PRODUCER_ID_EXPIRATION_MS, UnifiedLog

__all__ = ["LogManager", "TopicPartition"]

TopicPartition = tuple[str, int]
_PARTITION_DIR = re.compile(r"^(.+)-(\d+)$")


class LogManager:
    """Every partition log of one log directory (see the module docstring)."""

    def __init__(
        self,
        log_dir: str | None,
        *,
        clock: Clock | None = None,
        default_config: LogConfig | None = None,
        topic_config: Callable[[str], LogConfig | None] | None = None,
        producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS,
        broker_epoch: int = -1,
        seed: int | None = None,
    ) -> None:
        self.log_dir = os.path.abspath(log_dir) if log_dir is not None else None
        self.clock = clock or SystemClock()
        self.default_config = default_config or LogConfig()
        self._topic_config = topic_config
        self.producer_id_expiration_ms = producer_id_expiration_ms
        self.broker_epoch = broker_epoch
        self._rng = random.Random(seed)
        self._logs: dict[TopicPartition, UnifiedLog] = {}
        self._cleaner_offsets: dict[TopicPartition, int] = {}
        self._lock_fd: int | None = None
        self._closed = False
        #: Checks large batches while the logs write them (one thread for the directory).
        self._side_thread = SideThread(f"rafka-checks-{os.path.basename(self.log_dir or '')}")
        #: Whether the directory was closed cleanly last time (False for a new directory).
        self.had_clean_shutdown = False
        if self.log_dir is not None:
            self._open_dir(self.log_dir)

    # -- loading ------------------------------------------------------------------------------

    def _open_dir(self, log_dir: str) -> None:
        os.makedirs(log_dir, exist_ok=True)
        self._lock_fd = os.open(os.path.join(log_dir, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise RuntimeError(f"log directory {log_dir} is in use by another process") from None
        self.had_clean_shutdown = read_clean_shutdown(log_dir) is not None
        recovery = self._read_checkpoint(RECOVERY_POINT_CHECKPOINT)
        starts = self._read_checkpoint(LOG_START_OFFSET_CHECKPOINT)
        watermarks = self._read_checkpoint(REPLICATION_OFFSET_CHECKPOINT)
        self._cleaner_offsets = self._read_checkpoint(CLEANER_OFFSET_CHECKPOINT)
        for name in sorted(os.listdir(log_dir)):
            path = os.path.join(log_dir, name)
            match = _PARTITION_DIR.match(name)
            if not os.path.isdir(path) or match is None or "." in name.rsplit("-", 1)[-1]:
                continue
            tp = (match.group(1), int(match.group(2)))
            log = DiskLog.open(
                path,
                topic=tp[0],
                partition=tp[1],
                config=self.config_for(tp[0]),
                clock=self.clock,
                recovery_point=recovery.get(tp, 0),
                log_start_offset=starts.get(tp, 0),
                high_watermark=watermarks.get(tp),
                had_clean_shutdown=self.had_clean_shutdown,
                rng=random.Random(self._rng.random()),
                producer_id_expiration_ms=self.producer_id_expiration_ms,
                side_thread=self._side_thread,
            )
            log.on_recovery_point_lowered.append(lambda _log: self.checkpoint_recovery_points())
            self._logs[tp] = log
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(log_dir, CLEAN_SHUTDOWN_FILE))
        self.checkpoint()

    def _read_checkpoint(self, name: str) -> dict[TopicPartition, int]:
        assert self.log_dir is not None
        try:
            return read_offset_checkpoint(os.path.join(self.log_dir, name))
        except CheckpointError:
            return {}  # a damaged checkpoint only costs a longer recovery

    def config_for(self, topic: str) -> LogConfig:
        """The config a new log of ``topic`` gets."""
        config = self._topic_config(topic) if self._topic_config is not None else None
        return config or self.default_config

    # -- partitions ---------------------------------------------------------------------------

    def get_log(self, topic: str, partition: int) -> UnifiedLog | None:
        """The log of a partition, if it exists."""
        return self._logs.get((topic, partition))

    def get_or_create_log(
        self, topic: str, partition: int, config: LogConfig | None = None
    ) -> UnifiedLog:
        """The log of a partition, created (empty, at offset 0) if needed."""
        tp = (topic, partition)
        log = self._logs.get(tp)
        if log is not None:
            return log
        config = config or self.config_for(topic)
        rng = random.Random(self._rng.random())
        if self.log_dir is None:
            log = MemoryLog(
                topic,
                partition,
                config=config,
                clock=self.clock,
                rng=rng,
                producer_id_expiration_ms=self.producer_id_expiration_ms,
            )
        else:
            disk = DiskLog.open(
                os.path.join(self.log_dir, partition_dir_name(topic, partition)),
                topic=topic,
                partition=partition,
                config=config,
                clock=self.clock,
                rng=rng,
                producer_id_expiration_ms=self.producer_id_expiration_ms,
                side_thread=self._side_thread,
            )
            disk.on_recovery_point_lowered.append(lambda _log: self.checkpoint_recovery_points())
            log = disk
        self._logs[tp] = log
        return log

    def delete_log(self, topic: str, partition: int) -> bool:
        """Remove a partition and its files; whether it existed."""
        log = self._logs.pop((topic, partition), None)
        if log is None:
            return False
        self._cleaner_offsets.pop((topic, partition), None)
        if isinstance(log, DiskLog):
            log.delete()
            self.checkpoint()
        else:
            log.close()
        return True

    def __iter__(self) -> Iterator[TopicPartition]:
        return iter(sorted(self._logs))

    def __len__(self) -> int:
        return len(self._logs)

    def logs(self) -> dict[TopicPartition, UnifiedLog]:
        """Every log by ``(topic, partition)``."""
        return dict(self._logs)

    # -- periodic work ------------------------------------------------------------------------

    def flush_dirty_logs(self) -> int:
        """Flush logs due by ``flush.messages`` / ``flush.ms``; return how many were flushed."""
        now = self.clock.time_ms()
        flushed = 0
        for log in self._logs.values():
            if is_flush_due(
                unflushed_messages=log.unflushed_messages,
                flush_messages=log.config.flush_messages,
                now_ms=now,
                last_flush_ms=log.last_flush_ms,
                flush_ms=log.config.flush_ms,
            ):
                log.flush()
                flushed += 1
        return flushed

    def cleanup_logs(self) -> int:
        """Apply retention to every log (and expire idle producers); segments deleted."""
        deleted = 0
        for log in self._logs.values():
            deleted += log.delete_old_segments()
            log.remove_expired_producers()
        if deleted and self.log_dir is not None:
            self.checkpoint_log_start_offsets()
        return deleted

    def cleaner_offset(self, topic: str, partition: int) -> int:
        """Where compaction of a partition stopped last time (0 if never)."""
        return self._cleaner_offsets.get((topic, partition), 0)

    def set_cleaner_offset(self, topic: str, partition: int, offset: int) -> None:
        """Record where compaction stopped (written with the other checkpoints)."""
        self._cleaner_offsets[(topic, partition)] = offset

    # -- checkpoints --------------------------------------------------------------------------

    def _write(self, name: str, offsets: dict[TopicPartition, int]) -> None:
        if self.log_dir is not None:
            write_offset_checkpoint(os.path.join(self.log_dir, name), offsets)

    def checkpoint_recovery_points(self) -> None:
        """Write ``recovery-point-offset-checkpoint``."""
        self._write(
            RECOVERY_POINT_CHECKPOINT, {tp: log.recovery_point for tp, log in self._items()}
        )

    def checkpoint_log_start_offsets(self) -> None:
        """Write ``log-start-offset-checkpoint``."""
        self._write(
            LOG_START_OFFSET_CHECKPOINT, {tp: log.log_start_offset for tp, log in self._items()}
        )

    def checkpoint_high_watermarks(self) -> None:
        """Write ``replication-offset-checkpoint``."""
        self._write(
            REPLICATION_OFFSET_CHECKPOINT, {tp: log.high_watermark for tp, log in self._items()}
        )

    def checkpoint(self) -> None:
        """Write every log-dir checkpoint."""
        self.checkpoint_recovery_points()
        self.checkpoint_log_start_offsets()
        self.checkpoint_high_watermarks()
        live = {tp: o for tp, o in self._cleaner_offsets.items() if tp in self._logs}
        self._write(CLEANER_OFFSET_CHECKPOINT, live)

    def _items(self) -> list[tuple[TopicPartition, UnifiedLog]]:
        return sorted(self._logs.items())

    # -- shutdown -----------------------------------------------------------------------------

    def close(self) -> None:
        """Flush and close every log, write the checkpoints, then the clean-shutdown marker."""
        if self._closed:
            return
        for log in self._logs.values():
            log.close()
        self.checkpoint()
        if self.log_dir is not None:
            write_clean_shutdown(self.log_dir, self.broker_epoch)
        self._release_lock()
        self._side_thread.close()
        self._closed = True

    def abandon(self) -> None:
        """Release the directory without flushing or writing the marker (a simulated crash)."""
        for log in self._logs.values():
            for segment in log.segments:
                segment.store.close()
        self._release_lock()
        self._side_thread.close()
        self._closed = True

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> LogManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""The in-memory partition log: :class:`UnifiedLog` over memory segments, no files.

An append stores the patched 61-byte header and a read-only view of the caller's records
section when the input is ``bytes`` (zero copy: the log then keeps that object alive), or a copy
of mutable input; reads return read-only ``memoryview``s of what is stored. Producer snapshots
are kept as encoded bytes in a dict, so truncation reloads the producer table exactly as the disk
log does. Flushing does nothing; data lives as long as the object.

:meth:`MemoryLog.snapshot` captures the whole log in microseconds: the stored pieces are
immutable, so a snapshot shares them and copies only the lists and index arrays over them;
:meth:`MemoryLog.restore` puts such a capture back (in place: whoever holds the log keeps it).
"""

from __future__ import annotations

import random

import attrs

from rafka.storage.byte_store import MemoryStore
from rafka.storage.clock import Clock, SystemClock
from rafka.storage.leader_epoch_cache import LeaderEpochCache
from rafka.storage.log_config import LogConfig
from rafka.storage.offset_index import OffsetIndex
from rafka.storage.producer_snapshot import decode_snapshot, encode_snapshot
from rafka.storage.producer_state import ProducerStateEntry, ProducerStateManager
from rafka.storage.segment import LogSegment
from rafka.storage.time_index import TimeIndex
from rafka.storage.transaction_index import TransactionIndex
from rafka.storage.unified_log import DEFAULT_PRODUCER_ID_EXPIRATION_MS, UnifiedLog

__all__ = ["MemoryLog", "MemoryLogSnapshot"]


@attrs.frozen(eq=False)
class MemoryLogSnapshot:
    """A :class:`MemoryLog` as it was: offsets, segments, leader epochs, producer state.

    Its segments and producer table are private copies (restoring copies them again), so one
    snapshot can be restored any number of times.
    """

    log_start_offset: int
    log_end_offset: int
    high_watermark: int
    recovery_point: int
    segments: tuple[LogSegment, ...]
    epochs: tuple[tuple[int, int], ...]
    producers: ProducerStateManager
    producer_snapshots: dict[int, bytes]


def _carries_on(old: ProducerStateEntry, new: ProducerStateEntry) -> bool:
    """Whether ``new`` is ``old`` having written more since, outside any transaction."""
    if old.current_txn_first_offset is not None or new.current_txn_first_offset is not None:
        return False
    if new.producer_epoch != old.producer_epoch:
        return new.producer_epoch > old.producer_epoch
    return new.last_seq > old.last_seq


def _copy_segment(segment: LogSegment) -> LogSegment:
    store = segment.store
    assert isinstance(store, MemoryStore)
    return segment.copy(store.copy())


class MemoryLog(UnifiedLog):
    """A partition log held in memory (see the module docstring)."""

    def __init__(
        self,
        topic: str = "topic",
        partition: int = 0,
        *,
        config: LogConfig | None = None,
        clock: Clock | None = None,
        start_offset: int = 0,
        rng: random.Random | None = None,
        producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS,
    ) -> None:
        super().__init__(
            topic=topic,
            partition=partition,
            config=config or LogConfig(),
            clock=clock or SystemClock(),
            rng=rng,
            producer_id_expiration_ms=producer_id_expiration_ms,
        )
        self._snapshots: dict[int, bytes] = {}
        self._log_start_offset = self._log_end_offset = start_offset
        self._high_watermark = self._recovery_point = start_offset
        self._producers.map_end_offset = start_offset
        self._add_segment(self._create_segment(start_offset))

    def _create_segment(self, base_offset: int) -> LogSegment:
        config = self.config
        return LogSegment(
            MemoryStore(),
            base_offset,
            offset_index=OffsetIndex(base_offset, config.max_index_size),
            time_index=TimeIndex(base_offset, config.max_index_size),
            txn_index=TransactionIndex(base_offset),
            index_interval_bytes=config.index_interval_bytes,
            roll_jitter_ms=self._roll_jitter(),
            created_ms=self.clock.time_ms(),
        )

    def _snapshot_offsets(self) -> list[int]:
        return sorted(self._snapshots)

    def _load_snapshot(self, offset: int) -> list[ProducerStateEntry]:
        return decode_snapshot(self._snapshots[offset], f"snapshot {offset}")

    def _save_snapshot(self, offset: int, entries: list[ProducerStateEntry]) -> None:
        self._snapshots[offset] = encode_snapshot(entries)

    def _delete_snapshot(self, offset: int) -> None:
        self._snapshots.pop(offset, None)

    # -- snapshots ----------------------------------------------------------------------------

    def snapshot(self) -> MemoryLogSnapshot:
        """Capture the log (see the module docstring)."""
        self._check_open()
        return MemoryLogSnapshot(
            self._log_start_offset,
            self._log_end_offset,
            self._high_watermark,
            self._recovery_point,
            tuple(_copy_segment(s) for s in self.segments),
            tuple(self._epochs.entries()),
            self._producers.copy(),
            dict(self._snapshots),
        )

    def unchanged_since(self, snapshot: MemoryLogSnapshot) -> bool:
        """Whether the log still holds exactly what ``snapshot`` captured."""
        if (
            self._log_start_offset,
            self._log_end_offset,
            self._high_watermark,
            self._recovery_point,
        ) != (
            snapshot.log_start_offset,
            snapshot.log_end_offset,
            snapshot.high_watermark,
            snapshot.recovery_point,
        ) or len(self.segments) != len(snapshot.segments):
            return False
        for mine, theirs in zip(self.segments, snapshot.segments, strict=True):
            store, other = mine.store, theirs.store
            assert isinstance(store, MemoryStore) and isinstance(other, MemoryStore)
            if mine.base_offset != theirs.base_offset or not store.same_content(other):
                return False
        # An epoch that starts at the log end holds no record yet: it is leadership, not data.
        end = self._log_end_offset
        return (
            [e for e in self._epochs.entries() if e[1] < end]
            == [e for e in snapshot.epochs if e[1] < end]
            and self._producers.same_state(self._restored_producers(snapshot))
            and self._snapshots.keys() == snapshot.producer_snapshots.keys()
        )

    def restore(self, snapshot: MemoryLogSnapshot) -> bool:
        """Put the log back as ``snapshot`` captured it; False (and nothing done) when it
        already is. Views handed out by earlier reads stay valid.

        One exception, so that an idempotent producer writing across a restore carries on
        (rather than getting OUT_OF_ORDER_SEQUENCE_NUMBER, as after an unclean election): a
        producer the snapshot knows that has written since, outside transactions, keeps its
        newest epoch and sequence. Producers the snapshot does not know are forgotten (their
        next batch is accepted, as for any producer whose state was lost).
        """
        self._check_open()
        if self.unchanged_since(snapshot):
            return False
        self.segments = [_copy_segment(s) for s in snapshot.segments]
        self._bases = [s.base_offset for s in self.segments]
        self._log_start_offset = snapshot.log_start_offset
        self._log_end_offset = snapshot.log_end_offset
        self._high_watermark = snapshot.high_watermark
        self._recovery_point = snapshot.recovery_point
        self._epochs = LeaderEpochCache(snapshot.epochs, on_change=self._write_epoch_checkpoint)
        self._producers = self._restored_producers(snapshot)
        self._snapshots = dict(snapshot.producer_snapshots)
        return True

    def _restored_producers(self, snapshot: MemoryLogSnapshot) -> ProducerStateManager:
        """The snapshot's producer table, with the producers that carry on (see
        :meth:`restore`) as they are now."""
        restored = snapshot.producers.copy()
        for pid, entry in restored.producers.items():
            newer = self._producers.producers.get(pid)
            if newer is not None and _carries_on(entry, newer):
                restored.producers[pid] = newer.copy()
        return restored

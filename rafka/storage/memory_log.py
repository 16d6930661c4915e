"""The in-memory partition log: :class:`UnifiedLog` over memory segments, no files.

An append stores the patched 61-byte header and a read-only view of the caller's records
section when the input is ``bytes`` (zero copy: the log then keeps that object alive), or a copy
of mutable input; reads return read-only ``memoryview``s of what is stored. Producer snapshots
are kept as encoded bytes in a dict, so truncation reloads the producer table exactly as the disk
log does. Flushing does nothing; data lives as long as the object.
"""

from __future__ import annotations

import random

from rafka.storage.byte_store import MemoryStore
from rafka.storage.clock import Clock, SystemClock
from rafka.storage.log_config import LogConfig
from rafka.storage.offset_index import OffsetIndex
from rafka.storage.producer_snapshot import decode_snapshot, encode_snapshot
from rafka.storage.producer_state import ProducerStateEntry
from rafka.storage.segment import LogSegment
from rafka.storage.time_index import TimeIndex
from rafka.storage.transaction_index import TransactionIndex
from rafka.storage.unified_log import DEFAULT_PRODUCER_ID_EXPIRATION_MS, UnifiedLog

__all__ = ["MemoryLog"]


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

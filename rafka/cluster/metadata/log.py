"""Where the controller keeps its records: the metadata log.

:class:`MemoryMetadataLog` keeps them in a list; :class:`StorageMetadataLog` writes them as
record batches to a partition log (``__cluster_metadata-0`` in the metadata directory), so a
cluster restarted on the same ``data_dir`` replays them and comes back with the same topics,
configs and brokers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from rafka.cluster.metadata.serde import decode_records, encode_batch
from rafka.protocol._message import Message
from rafka.storage.append import AppendOrigin
from rafka.storage.clock import Clock, SystemClock
from rafka.storage.log_manager import LogManager

__all__ = ["METADATA_TOPIC", "MemoryMetadataLog", "MetadataLog", "StorageMetadataLog"]

METADATA_TOPIC = "__cluster_metadata"


class MetadataLog(Protocol):
    @property
    def end_offset(self) -> int:
        """The offset the next record will get."""
        ...

    def append(self, records: Sequence[Message]) -> None:
        """Append records atomically (one batch)."""
        ...

    def replay(self) -> Iterator[Message]:
        """Every record in the log, in order."""
        ...

    def close(self) -> None:
        """Flush and release the log's files."""
        ...


class MemoryMetadataLog:
    """A metadata log that lives as long as the process."""

    def __init__(self) -> None:
        self._records: list[Message] = []

    @property
    def end_offset(self) -> int:
        return len(self._records)

    def append(self, records: Sequence[Message]) -> None:
        self._records.extend(records)

    def replay(self) -> Iterator[Message]:
        return iter(list(self._records))

    def close(self) -> None:
        pass


class StorageMetadataLog:
    """The metadata log as ``__cluster_metadata-0`` in ``directory``, in Kafka's format.

    Each commit is one record batch, flushed (fsync) before the change is applied, so a
    crash loses no acknowledged administrative operation.
    """

    def __init__(self, directory: str | Path, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._logs = LogManager(str(directory), clock=self._clock)
        self._log = self._logs.get_or_create_log(METADATA_TOPIC, 0)

    @property
    def end_offset(self) -> int:
        return self._log.log_end_offset

    def append(self, records: Sequence[Message]) -> None:
        batch = encode_batch(records, self._clock.time_ms(), leader_epoch=0)
        self._log.append(batch, leader_epoch=0, origin=AppendOrigin.COORDINATOR)
        self._log.flush()
        self._log.high_watermark = self._log.log_end_offset

    def replay(self) -> Iterator[Message]:
        offset = self._log.log_start_offset
        while offset < self._log.log_end_offset:
            data = self._log.read(offset, 1 << 20, min_one_message=True)
            if not data.size:
                break
            yield from decode_records(data.records)
            offset = data.next_offset

    def close(self) -> None:
        self._logs.close()

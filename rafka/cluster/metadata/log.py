"""Where the controller keeps its records: the metadata log.

:class:`MemoryMetadataLog` keeps them in a list; :class:`StorageMetadataLog` writes them as
record batches to a partition log (``__cluster_metadata-0`` in the metadata directory), so a
cluster restarted on the same ``data_dir`` replays them and comes back with the same topics,
configs and brokers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from rafka.protocol._message import Message

__all__ = ["MemoryMetadataLog", "MetadataLog"]


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

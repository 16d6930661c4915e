"""Producer-state snapshot files: ``<20-digit offset>.snapshot`` in the partition directory.

The offset in the name is the log end offset the table was taken at. Byte layout (big-endian,
Kafka's ProducerSnapshot message, version 1)::

    offset size field
    0      2    version         int16   1
    2      4    crc             uint32  CRC-32C of every byte from offset 6 to the end
    6      4    entryCount      int32
    10     46*n entries:
                  producerId             int64
                  epoch                  int16
                  lastSequence           int32   -1 when no batch is remembered
                  lastOffset             int64   -1 when no batch is remembered
                  offsetDelta            int32
                  timestamp              int64   last timestamp of the producer
                  coordinatorEpoch       int32
                  currentTxnFirstOffset  int64   -1 when no transaction is open

Only the newest remembered batch of each producer is stored (as in Kafka); a restored entry
therefore detects duplicates of that batch only.
"""

from __future__ import annotations

import os
import struct

from rafka.protocol.records._crc import crc32c
from rafka.storage.errors import CorruptIndexError
from rafka.storage.producer_state import BatchMetadata, ProducerStateEntry

__all__ = ["SNAPSHOT_SUFFIX", "read_snapshot", "snapshot_offsets", "write_snapshot"]

SNAPSHOT_SUFFIX = ".snapshot"
_HEADER = struct.Struct(">hIi")
_ENTRY = struct.Struct(">qhiqiqiq")
_VERSION = 1


def encode_snapshot(entries: list[ProducerStateEntry]) -> bytes:
    """The file contents for ``entries``."""
    body = [struct.pack(">i", len(entries))]
    for entry in entries:
        last = entry.batches[-1] if entry.batches else None
        body.append(
            _ENTRY.pack(
                entry.producer_id,
                entry.producer_epoch,
                last.last_seq if last else -1,
                last.last_offset if last else -1,
                last.offset_delta if last else 0,
                entry.last_timestamp,
                entry.coordinator_epoch,
                -1 if entry.current_txn_first_offset is None else entry.current_txn_first_offset,
            )
        )
    payload = b"".join(body)
    return struct.pack(">hI", _VERSION, crc32c(payload)) + payload


def decode_snapshot(data: bytes, name: str = "snapshot") -> list[ProducerStateEntry]:
    """Parse file contents; :class:`CorruptIndexError` if the version, size or CRC is wrong."""
    if len(data) < _HEADER.size:
        raise CorruptIndexError(f"{name}: {len(data)} bytes is too short")
    version, crc, count = _HEADER.unpack_from(data)
    if version != _VERSION:
        raise CorruptIndexError(f"{name}: unknown snapshot version {version}")
    if count < 0 or len(data) != _HEADER.size + count * _ENTRY.size:
        raise CorruptIndexError(f"{name}: size does not match {count} entries")
    if crc32c(memoryview(data)[6:]) != crc:
        raise CorruptIndexError(f"{name}: CRC mismatch")
    entries = []
    for pid, epoch, last_seq, last_offset, delta, ts, coord, txn in _ENTRY.iter_unpack(
        memoryview(data)[_HEADER.size :]
    ):
        batches = [BatchMetadata(last_seq, last_offset, delta, ts)] if last_offset >= 0 else []
        entries.append(
            ProducerStateEntry(pid, epoch, coord, ts, txn if txn >= 0 else None, batches)
        )
    return entries


def snapshot_path(directory: str, offset: int) -> str:
    """``<directory>/<offset:020d>.snapshot``."""
    return os.path.join(directory, f"{offset:020d}{SNAPSHOT_SUFFIX}")


def write_snapshot(path: str, entries: list[ProducerStateEntry], *, sync: bool = True) -> None:
    """Write a snapshot file (via a temporary name, so a crash leaves no partial file)."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(encode_snapshot(entries))
        f.flush()
        if sync:
            os.fsync(f.fileno())
    os.replace(tmp, path)


def read_snapshot(path: str) -> list[ProducerStateEntry]:
    """Read a snapshot file; :class:`CorruptIndexError` when it is damaged."""
    with open(path, "rb") as f:
        return decode_snapshot(f.read(), path)


def snapshot_offsets(directory: str) -> list[int]:
    """Offsets of the snapshot files in ``directory``, ascending."""
    out = []
    for name in os.listdir(directory):
        stem, dot, suffix = name.partition(".")
        if dot and "." + suffix == SNAPSHOT_SUFFIX and stem.isdigit():
            out.append(int(stem))
    return sorted(out)

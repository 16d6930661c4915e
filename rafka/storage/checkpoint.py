"""Kafka's small text checkpoint files and the clean-shutdown marker.

Every checkpoint file is UTF-8 text, one item per line::

    <version>            0
    <count>              number of entry lines that follow
    <entry>              count times, fields separated by one space

Entries per file:

    recovery-point-offset-checkpoint   <topic> <partition> <offset>   (log dir; flushed up to)
    log-start-offset-checkpoint        <topic> <partition> <offset>   (log dir)
    replication-offset-checkpoint      <topic> <partition> <offset>   (log dir; high watermarks)
    cleaner-offset-checkpoint          <topic> <partition> <offset>   (log dir; first dirty)
    leader-epoch-checkpoint            <epoch> <start offset>         (partition dir)

Writes go to ``<name>.tmp``, are fsynced, renamed over the file, and the directory is fsynced,
so a crash leaves either the old or the new file. The clean-shutdown marker is the log dir's
``.kafka_cleanshutdown`` file holding ``{"version":0,"brokerEpoch":<n>}``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping

__all__ = [
    "CLEANER_OFFSET_CHECKPOINT",
    "CLEAN_SHUTDOWN_FILE",
    "LEADER_EPOCH_CHECKPOINT",
    "LOG_START_OFFSET_CHECKPOINT",
    "RECOVERY_POINT_CHECKPOINT",
    "REPLICATION_OFFSET_CHECKPOINT",
    "CheckpointError",
    "fsync_dir",
    "read_clean_shutdown",
    "read_leader_epoch_checkpoint",
    "read_offset_checkpoint",
    "write_clean_shutdown",
    "write_leader_epoch_checkpoint",
    "write_offset_checkpoint",
]

RECOVERY_POINT_CHECKPOINT = "recovery-point-offset-checkpoint"
LOG_START_OFFSET_CHECKPOINT = "log-start-offset-checkpoint"
REPLICATION_OFFSET_CHECKPOINT = "replication-offset-checkpoint"
CLEANER_OFFSET_CHECKPOINT = "cleaner-offset-checkpoint"
LEADER_EPOCH_CHECKPOINT = "leader-epoch-checkpoint"
CLEAN_SHUTDOWN_FILE = ".kafka_cleanshutdown"

_VERSION = 0


class CheckpointError(ValueError):
    """A checkpoint file is malformed (the caller decides whether to ignore it)."""


def fsync_dir(path: str) -> None:
    """fsync a directory so that renames and new files in it survive a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_lines(path: str, lines: Iterable[str], *, sync: bool = True) -> None:
    tmp = path + ".tmp"
    body = "\n".join(lines)
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(body + "\n")
        f.flush()
        if sync:
            os.fsync(f.fileno())
    os.replace(tmp, path)
    if sync:
        fsync_dir(os.path.dirname(os.path.abspath(path)))


def _read_entries(path: str, fields: int) -> list[list[str]]:
    """The entry lines of a checkpoint; [] when the file is missing or empty."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    if not lines:
        return []
    try:
        version = int(lines[0])
    except ValueError:
        raise CheckpointError(f"{path}: malformed version line {lines[0]!r}") from None
    if version != _VERSION:
        raise CheckpointError(f"{path}: unrecognised version {version}, expected {_VERSION}")
    if len(lines) < 2:
        return []
    try:
        count = int(lines[1])
    except ValueError:
        raise CheckpointError(f"{path}: malformed count line {lines[1]!r}") from None
    entries = [line.split() for line in lines[2:] if line.strip()]
    if len(entries) != count:
        raise CheckpointError(f"{path}: expected {count} entries, found {len(entries)}")
    for entry in entries:
        if len(entry) != fields:
            raise CheckpointError(f"{path}: malformed entry {' '.join(entry)!r}")
    return entries


def write_offset_checkpoint(
    path: str, offsets: Mapping[tuple[str, int], int], *, sync: bool = True
) -> None:
    """Write ``{(topic, partition): offset}`` in Kafka's offset checkpoint format."""
    lines = [str(_VERSION), str(len(offsets))]
    lines += [f"{topic} {partition} {offset}" for (topic, partition), offset in offsets.items()]
    _write_lines(path, lines, sync=sync)


def read_offset_checkpoint(path: str) -> dict[tuple[str, int], int]:
    """Read an offset checkpoint; {} when missing; :class:`CheckpointError` when malformed."""
    out: dict[tuple[str, int], int] = {}
    for topic, partition, offset in _read_entries(path, 3):
        try:
            out[(topic, int(partition))] = int(offset)
        except ValueError:
            raise CheckpointError(f"{path}: malformed entry {topic} {partition} {offset}") from None
    return out


def write_leader_epoch_checkpoint(
    path: str, entries: Iterable[tuple[int, int]], *, sync: bool = True
) -> None:
    """Write ``[(epoch, start_offset)]`` as a ``leader-epoch-checkpoint`` file."""
    items = list(entries)
    lines = [str(_VERSION), str(len(items))] + [f"{e} {o}" for e, o in items]
    _write_lines(path, lines, sync=sync)


def read_leader_epoch_checkpoint(path: str) -> list[tuple[int, int]]:
    """Read a ``leader-epoch-checkpoint``; [] when missing."""
    out = []
    for epoch, offset in _read_entries(path, 2):
        try:
            out.append((int(epoch), int(offset)))
        except ValueError:
            raise CheckpointError(f"{path}: malformed entry {epoch} {offset}") from None
    return out


def write_clean_shutdown(log_dir: str, broker_epoch: int = -1) -> None:
    """Write (and fsync) the clean-shutdown marker of a log dir."""
    path = os.path.join(log_dir, CLEAN_SHUTDOWN_FILE)
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps({"version": 0, "brokerEpoch": broker_epoch}, separators=(",", ":")))
        f.flush()
        os.fsync(f.fileno())
    fsync_dir(log_dir)


def read_clean_shutdown(log_dir: str) -> int | None:
    """The broker epoch in the marker; None when there is no (readable) marker. A marker that
    exists but cannot be parsed still counts as present: it returns -1."""
    path = os.path.join(log_dir, CLEAN_SHUTDOWN_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    try:
        epoch = json.loads(text).get("brokerEpoch", -1)
        return int(epoch) if epoch is not None else -1
    except (ValueError, AttributeError, TypeError):
        return -1

"""Control records: transaction markers and the other records of control batches.

Byte layout (big-endian), of the key of every control record:

    version  int16   0 (a reader parses a higher version as 0)
    type     int16   ControlRecordType

and of the value of an ABORT or COMMIT record (an end transaction marker):

    version           int16   0 (a higher version is parsed as 0)
    coordinatorEpoch  int32

A marker sits alone in a control batch (attributes: control + transactional) whose producer id
and epoch are those of the transaction it ends, with baseSequence -1. The values of the KRaft
control types (LEADER_CHANGE, SNAPSHOT_*, KRAFT_*) are generated protocol messages, not read here.
"""

from __future__ import annotations

import enum
import struct

import attrs

from rafka.protocol.records.builder import RecordBatchBuilder
from rafka.protocol.records.compression import Compression
from rafka.protocol.records.errors import InvalidRecordError
from rafka.protocol.records.record import Record, TimestampType

__all__ = [
    "CONTROL_KEY_VERSION",
    "END_TXN_MARKER_VERSION",
    "ControlRecord",
    "ControlRecordType",
    "EndTxnMarker",
    "build_control_batch",
    "build_end_txn_marker_batch",
    "encode_control_key",
    "encode_end_txn_marker",
    "parse_control_key",
    "parse_control_record",
    "parse_end_txn_marker",
]

CONTROL_KEY_VERSION = 0
END_TXN_MARKER_VERSION = 0

_KEY = struct.Struct(">hh")
_MARKER = struct.Struct(">hi")
_VERSION = struct.Struct(">h")


class ControlRecordType(enum.IntEnum):
    """The ``type`` field of a control record key (Kafka 4.x)."""

    #: A type this version does not know; readers skip such records.
    UNKNOWN = -1
    ABORT = 0
    COMMIT = 1
    LEADER_CHANGE = 2
    SNAPSHOT_HEADER = 3
    SNAPSHOT_FOOTER = 4
    KRAFT_VERSION = 5
    KRAFT_VOTERS = 6


_TYPES = {member.value: member for member in ControlRecordType}


@attrs.frozen(slots=True)
class EndTxnMarker:
    """The value of a transaction marker, with its type (COMMIT or ABORT) from the key."""

    control_type: ControlRecordType
    coordinator_epoch: int
    version: int = END_TXN_MARKER_VERSION

    @property
    def commit(self) -> bool:
        """Whether the transaction committed (else it aborted)."""
        return self.control_type == ControlRecordType.COMMIT


@attrs.frozen(slots=True)
class ControlRecord:
    """A parsed control record; ``end_txn`` is set for ABORT and COMMIT."""

    type: ControlRecordType
    key_version: int
    record: Record
    end_txn: EndTxnMarker | None = None


def encode_control_key(
    control_type: ControlRecordType, version: int = CONTROL_KEY_VERSION
) -> bytes:
    """The key of a control record of ``control_type``."""
    if control_type == ControlRecordType.UNKNOWN:
        raise ValueError("cannot encode an UNKNOWN control record type")
    return _KEY.pack(version, control_type)


def parse_control_key(key: bytes | None) -> tuple[int, ControlRecordType]:
    """Read a control record key: ``(version, type)``; unknown types read as UNKNOWN."""
    if key is None or len(key) < _KEY.size:
        size = 0 if key is None else len(key)
        raise InvalidRecordError(f"control record key needs 4 bytes, found {size}")
    version, type_id = _KEY.unpack_from(key)
    if version < 0:
        raise InvalidRecordError(f"invalid control record key version {version}")
    return version, _TYPES.get(type_id, ControlRecordType.UNKNOWN)


def encode_end_txn_marker(coordinator_epoch: int) -> bytes:
    """The value of a transaction marker (version 0)."""
    return _MARKER.pack(END_TXN_MARKER_VERSION, coordinator_epoch)


def parse_end_txn_marker(control_type: ControlRecordType, value: bytes | None) -> EndTxnMarker:
    """Read the value of an ABORT or COMMIT record."""
    if control_type not in (ControlRecordType.ABORT, ControlRecordType.COMMIT):
        raise ValueError(f"{control_type!r} is not a transaction marker type")
    if value is None or len(value) < _VERSION.size:
        raise InvalidRecordError("end transaction marker value is too short")
    (version,) = _VERSION.unpack_from(value)
    if version < 0:
        raise InvalidRecordError(f"invalid end transaction marker version {version}")
    if len(value) < _MARKER.size:
        raise InvalidRecordError("end transaction marker value is too short")
    _, epoch = _MARKER.unpack_from(value)
    return EndTxnMarker(control_type, epoch, version)


def parse_control_record(record: Record) -> ControlRecord:
    """Parse a record of a control batch (its key; its value too for a transaction marker)."""
    version, control_type = parse_control_key(record.key)
    marker = None
    if control_type in (ControlRecordType.ABORT, ControlRecordType.COMMIT):
        marker = parse_end_txn_marker(control_type, record.value)
    return ControlRecord(control_type, version, record, marker)


def build_control_batch(
    control_type: ControlRecordType,
    value: bytes | None,
    timestamp: int,
    *,
    producer_id: int = -1,
    producer_epoch: int = -1,
    is_transactional: bool = False,
    base_offset: int = 0,
    partition_leader_epoch: int = -1,
    compression: Compression = Compression.NONE,
) -> bytes:
    """A control batch of one record of ``control_type`` carrying ``value``."""
    builder = RecordBatchBuilder(
        compression=compression,
        timestamp_type=TimestampType.CREATE_TIME,
        base_offset=base_offset,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        is_transactional=is_transactional,
        is_control=True,
        partition_leader_epoch=partition_leader_epoch,
    )
    builder.append(timestamp, encode_control_key(control_type), value)
    return builder.build()


def build_end_txn_marker_batch(
    producer_id: int,
    producer_epoch: int,
    commit: bool,
    coordinator_epoch: int,
    timestamp: int,
    base_offset: int = 0,
    partition_leader_epoch: int = -1,
) -> bytes:
    """The control batch a partition leader appends to commit or abort a transaction."""
    return build_control_batch(
        ControlRecordType.COMMIT if commit else ControlRecordType.ABORT,
        encode_end_txn_marker(coordinator_epoch),
        timestamp,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        is_transactional=True,
        base_offset=base_offset,
        partition_leader_epoch=partition_leader_epoch,
    )

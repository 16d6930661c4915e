"""Records of ``__consumer_offsets``: the group coordinator's state as Kafka frames it.

Every record is a key/value pair of generated coordinator messages
(:mod:`rafka.protocol.schemas.group_coordinator`), framed as Kafka 4.x does::

    key   = record type (int16) | key message, encoded at version 0
    value = value version (int16) | value message, encoded at that version
            null value: a tombstone (the key's state is deleted)

    record type  0, 1  offset commit (0 is the legacy key, read only)
                 2     classic group metadata
                 3..8  consumer group (KIP-848) records, 16 its regular expressions
                 9..15 share group records, 17..23 streams group records

rafka writes what Kafka 4.1 writes: OffsetCommitValue v4 (v1 when the commit carries an
expire timestamp, from OffsetCommit v2-v4's retention time), GroupMetadataValue v3, and the
consumer group records of :mod:`rafka.cluster.groups.consumer_records`. Record types rafka
does not handle yet are decoded and reported as :class:`CoordinatorRecord` with their
messages, so a loader can skip them without losing its place.
"""

from __future__ import annotations

import struct

import attrs

from rafka.errors import DecodeError
from rafka.protocol._message import Message
from rafka.protocol.records.builder import RecordBatchBuilder
from rafka.protocol.schemas.group_coordinator import (
    BY_API_KEY,
    GroupMetadataKey,
    GroupMetadataValue,
    OffsetCommitKey,
    OffsetCommitValue,
)

__all__ = [
    "GROUP_METADATA",
    "LEGACY_OFFSET_COMMIT",
    "OFFSET_COMMIT",
    "CoordinatorRecord",
    "build_batch",
    "decode_record",
    "group_metadata_record",
    "group_tombstone",
    "offset_commit_record",
    "offset_tombstone",
]

LEGACY_OFFSET_COMMIT = 0
OFFSET_COMMIT = 1
GROUP_METADATA = 2

#: The value versions rafka writes (Kafka 4.1's choice).
OFFSET_COMMIT_VALUE_VERSION = 4
OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY = 1
GROUP_METADATA_VALUE_VERSION = 3

_INT16 = struct.Struct(">h")


@attrs.frozen
class CoordinatorRecord:
    """One ``__consumer_offsets`` record: its type, key message and value (None: tombstone)."""

    record_type: int
    key: Message
    value: Message | None = None
    value_version: int = -1

    def encode_key(self) -> bytes:
        return _INT16.pack(self.record_type) + self.key.encode(0)

    def encode_value(self) -> bytes | None:
        if self.value is None:
            return None
        return _INT16.pack(self.value_version) + self.value.encode(self.value_version)


def decode_record(key: bytes | None, value: bytes | None) -> CoordinatorRecord:
    """Decode a stored key/value; DecodeError for a missing key, unknown type or bad bytes."""
    if key is None or len(key) < 2:
        raise DecodeError("a __consumer_offsets record needs a key of at least 2 bytes")
    (record_type,) = _INT16.unpack_from(key)
    key_class = BY_API_KEY.get(("coordinator-key", record_type))
    value_class = BY_API_KEY.get(("coordinator-value", record_type))
    if key_class is None or value_class is None:
        raise DecodeError(f"unknown __consumer_offsets record type {record_type}")
    key_message, _ = key_class.decode_from(bytes(key), 2, 0)  # Kafka ignores trailing bytes
    if value is None:
        return CoordinatorRecord(record_type, key_message)
    if len(value) < 2:
        raise DecodeError("a __consumer_offsets value needs a version")
    (version,) = _INT16.unpack_from(value)
    value_message, _ = value_class.decode_from(bytes(value), 2, version)
    return CoordinatorRecord(record_type, key_message, value_message, version)


# ------------------------------------------------------------------------------- builders


def offset_commit_record(
    group_id: str,
    topic: str,
    partition: int,
    *,
    offset: int,
    leader_epoch: int,
    metadata: str,
    commit_timestamp: int,
    expire_timestamp: int = -1,
) -> CoordinatorRecord:
    version = (
        OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY
        if expire_timestamp >= 0
        else OFFSET_COMMIT_VALUE_VERSION
    )
    return CoordinatorRecord(
        OFFSET_COMMIT,
        OffsetCommitKey(group_id, topic, partition),
        OffsetCommitValue(
            offset=offset,
            leader_epoch=leader_epoch,
            metadata=metadata,
            commit_timestamp=commit_timestamp,
            expire_timestamp=expire_timestamp,
        ),
        version,
    )


def offset_tombstone(group_id: str, topic: str, partition: int) -> CoordinatorRecord:
    return CoordinatorRecord(OFFSET_COMMIT, OffsetCommitKey(group_id, topic, partition))


def group_metadata_record(group_id: str, value: GroupMetadataValue) -> CoordinatorRecord:
    return CoordinatorRecord(
        GROUP_METADATA, GroupMetadataKey(group_id), value, GROUP_METADATA_VALUE_VERSION
    )


def group_tombstone(group_id: str) -> CoordinatorRecord:
    return CoordinatorRecord(GROUP_METADATA, GroupMetadataKey(group_id))


def build_batch(records: list[CoordinatorRecord], timestamp: int) -> bytes:
    """One uncompressed v2 batch holding ``records`` (CreateTime ``timestamp``)."""
    builder = RecordBatchBuilder()
    for record in records:
        builder.append(timestamp, record.encode_key(), record.encode_value())
    return builder.build()

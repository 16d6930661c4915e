"""``__consumer_offsets`` records in Kafka's formats: bytes written by Apache Kafka 4.1.1 decode,
and encode back to the same bytes; group placement uses Java's ``String.hashCode``."""

from __future__ import annotations

import pytest

from rafka.cluster.groups.records import (
    GROUP_METADATA,
    OFFSET_COMMIT,
    decode_record,
    group_tombstone,
    offset_commit_record,
    offset_tombstone,
)
from rafka.cluster.groups.topic import java_string_hash, partition_for
from rafka.errors import DecodeError
from rafka.protocol.schemas.group_coordinator import GroupMetadataValue, OffsetCommitValue

# Read from the reference broker's __consumer_offsets after a commit by confluent-kafka with
# metadata "meta\0" (librdkafka sends the C string's terminator), a join/sync of one member,
# a commit of offset 2 at leader epoch 0, and the member leaving.
KAFKA_RECORDS = [
    (
        b"\x00\x01\x00\x08probe-g2\x00\x07probe-t\x00\x00\x00\x00",
        b"\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01\xff\xff\xff\xff\x06meta\x00"
        b"\x00\x00\x01\xa2#du \x00",
    ),
    (
        b"\x00\x02\x00\x08probe-g2",
        b"\x00\x03\x00\x08consumer\x00\x00\x00\x01\x00\x05range\x00,"
        b"rdkafka-bb718cdc-cf0a-481c-ad8f-6fccbfd75984\x00\x00\x01\xa2#duh\x00\x00\x00\x01\x00,"
        b"rdkafka-bb718cdc-cf0a-481c-ad8f-6fccbfd75984\xff\xff\x00\x07rdkafka\x00\n/127.0.0.1"
        b"\x00\x04\x93\xe0\x00\x00\xaf\xc8\x00\x00\x00\x1d\x00\x03\x00\x00\x00\x01\x00\x07probe-t"
        b"\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00\x00\x1b\x00\x00\x00"
        b"\x00\x00\x01\x00\x07probe-t\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00",
    ),
    (
        b"\x00\x01\x00\x08probe-g2\x00\x07probe-t\x00\x00\x00\x00",
        b"\x00\x04\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x01\x00\x00\x01\xa2#du\x92\x00",
    ),
    (
        b"\x00\x02\x00\x08probe-g2",
        b"\x00\x03\x00\x08consumer\x00\x00\x00\x02\xff\xff\xff\xff\x00\x00\x01\xa2#du\x9c\x00\x00"
        b"\x00\x00",
    ),
]


@pytest.mark.parametrize(("key", "value"), KAFKA_RECORDS)
def test_kafka_records_round_trip(key: bytes, value: bytes) -> None:
    record = decode_record(key, value)
    assert (record.encode_key(), record.encode_value()) == (key, value)


def test_kafka_records_decode_to_what_was_stored() -> None:
    commit = decode_record(*KAFKA_RECORDS[2])
    assert commit.record_type == OFFSET_COMMIT and commit.value_version == 4
    assert isinstance(commit.value, OffsetCommitValue)
    assert (commit.value.offset, commit.value.leader_epoch, commit.value.metadata) == (2, 0, "")
    joined = decode_record(*KAFKA_RECORDS[1])
    assert joined.record_type == GROUP_METADATA and joined.value_version == 3
    assert isinstance(joined.value, GroupMetadataValue)
    value = joined.value
    assert (value.protocol_type, value.generation, value.protocol) == ("consumer", 1, "range")
    (member,) = value.members
    assert (member.client_host, member.session_timeout, member.rebalance_timeout) == (
        "/127.0.0.1",
        45000,
        300000,
    )
    emptied = decode_record(*KAFKA_RECORDS[3])
    assert isinstance(emptied.value, GroupMetadataValue)
    assert (emptied.value.protocol, emptied.value.leader, emptied.value.members) == (None, None, [])


def test_rafka_writes_kafkas_bytes() -> None:
    record = offset_commit_record(
        "probe-g2",
        "probe-t",
        0,
        offset=2,
        leader_epoch=0,
        metadata="",
        commit_timestamp=int.from_bytes(b"\x00\x00\x01\xa2#du\x92", "big"),
    )
    assert (record.encode_key(), record.encode_value()) == KAFKA_RECORDS[2]


def test_tombstones_and_retention_commits() -> None:
    assert offset_tombstone("g", "t", 1).encode_value() is None
    assert decode_record(group_tombstone("g").encode_key(), None).value is None
    expiring = offset_commit_record(
        "g", "t", 0, offset=1, leader_epoch=-1, metadata="", commit_timestamp=5, expire_timestamp=9
    )
    assert expiring.value_version == 1  # v1 is the version with an expire timestamp
    decoded = decode_record(expiring.encode_key(), expiring.encode_value())
    assert isinstance(decoded.value, OffsetCommitValue)
    assert decoded.value.expire_timestamp == 9


@pytest.mark.parametrize(
    ("key", "value"),
    [(None, None), (b"\x00", None), (b"\x7f\x00", b""), (b"\x00\x02\x00\x05gr", None)],
)
def test_bad_records_are_decode_errors(key: bytes | None, value: bytes | None) -> None:
    with pytest.raises(DecodeError):
        decode_record(key, value)


@pytest.mark.parametrize(
    ("group", "hash_code", "partition"),
    # From java: "x".hashCode() and abs(h) % 50 (Kafka's Utils.abs maps MIN_VALUE to 0).
    [
        ("", 0, 0),
        ("hello", 99162322, 22),
        ("polygenelubricants", -(2**31), 0),
        ("é", 233, 33),
        ("\U0001f600", 1772899, 49),
        ("console-consumer-12345", 158455506, 6),
        ("Aa", 2112, 12),
    ],
)
def test_groups_land_where_kafka_puts_them(group: str, hash_code: int, partition: int) -> None:
    assert java_string_hash(group) == hash_code
    assert partition_for(group, 50) == partition

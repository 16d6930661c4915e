"""Smoke tests of the Java codec harness itself (not of rafka).

They check that what comes back from ``rafka.peer.Codec`` is Kafka's encoding, against bytes
written out by hand from the wire format, so later byte-level tests can trust the harness.
"""

from __future__ import annotations

import base64
import struct

import crc32c
import pytest

from tests.peers.java import JavaCodec, JavaCodecError


def _compact_string(s: str) -> bytes:
    """A compact string whose length fits one unsigned-varint byte: (len + 1) then UTF-8."""
    data = s.encode()
    assert len(data) + 1 < 0x80
    return bytes([len(data) + 1]) + data


def test_api_versions_request_v3_matches_wire_format(java_codec: JavaCodec) -> None:
    body = {"clientSoftwareName": "apache-kafka-java", "clientSoftwareVersion": "4.1.1"}
    data = java_codec.encode_message("ApiVersionsRequest", 3, body)
    # v3 is flexible: two compact strings, then an empty tagged-field section.
    expected = _compact_string("apache-kafka-java") + _compact_string("4.1.1") + b"\x00"
    assert data.hex() == expected.hex()
    assert java_codec.decode_message("ApiVersionsRequest", 3, data) == body


def test_request_header_v2_keeps_a_non_compact_client_id(java_codec: JavaCodec) -> None:
    header = {"requestApiKey": 18, "requestApiVersion": 3, "correlationId": 7, "clientId": "c"}
    data = java_codec.encode_message("RequestHeader", 2, header)
    # api key, api version (int16), correlation id (int32), clientId as a *nullable int16
    # string* even in the flexible v2 header, then no tagged fields.
    expected = struct.pack(">hhih", 18, 3, 7, 1) + b"c" + b"\x00"
    assert data.hex() == expected.hex()


def test_decode_rejects_trailing_bytes_unless_allowed(java_codec: JavaCodec) -> None:
    data = java_codec.encode_message("ApiVersionsRequest", 0, {}) + b"\x01"
    with pytest.raises(JavaCodecError, match="1 bytes left"):
        java_codec.decode_message("ApiVersionsRequest", 0, data)
    assert java_codec.decode_message("ApiVersionsRequest", 0, data, allow_trailing=True) == {}


def test_errors_are_reported_and_the_codec_keeps_serving(java_codec: JavaCodec) -> None:
    with pytest.raises(JavaCodecError, match="no generated message class") as info:
        java_codec.encode_message("NoSuchRequest", 0, {})
    assert info.value.java_class == "java.lang.IllegalArgumentException"
    with pytest.raises(JavaCodecError, match="not 99"):
        java_codec.encode_message("ApiVersionsRequest", 99, {})
    java_codec.ping()
    assert java_codec.message_versions("ApiVersionsRequest") == (0, 4)


def _varint(n: int) -> bytes:
    """Zigzag varint of a small signed int (|n| < 64), as record fields are written."""
    z = (n << 1) ^ (n >> 63)
    assert z < 0x80
    return bytes([z])


def _record(
    ts_delta: int,
    offset_delta: int,
    key: bytes | None,
    value: bytes | None,
    headers: list[tuple[bytes, bytes | None]],
) -> bytes:
    body = b"\x00" + _varint(ts_delta) + _varint(offset_delta)
    for field in (key, value):
        body += _varint(-1) if field is None else _varint(len(field)) + field
    body += _varint(len(headers))
    for hkey, hvalue in headers:
        body += _varint(len(hkey)) + hkey
        body += _varint(-1) if hvalue is None else _varint(len(hvalue)) + hvalue
    return _varint(len(body)) + body


def test_magic2_batch_matches_wire_format_and_reads_back(java_codec: JavaCodec) -> None:
    records = [
        {"timestamp": 1000, "key": b"k1", "value": b"v1", "headers": [("h", b"x")]},
        {"timestamp": 1001, "key": None, "value": b"v2"},
    ]
    data = java_codec.build_batch(magic=2, compression="none", base_offset=5, records=records)

    # Record batch v2 by hand: everything after the CRC is covered by CRC-32C.
    after_crc = (
        struct.pack(">hi", 0, 1)  # attributes, lastOffsetDelta
        + struct.pack(">qq", 1000, 1001)  # baseTimestamp, maxTimestamp
        + struct.pack(">qhi", -1, -1, -1)  # producerId, producerEpoch, baseSequence
        + struct.pack(">i", 2)  # record count
        + _record(0, 0, b"k1", b"v1", [(b"h", b"x")])
        + _record(1, 1, None, b"v2", [])
    )
    length = 4 + 1 + 4 + len(after_crc)  # partitionLeaderEpoch, magic, crc, rest
    expected = (
        struct.pack(">qiib", 5, length, -1, 2)
        + struct.pack(">I", crc32c.crc32c(after_crc))
        + after_crc
    )
    assert data.hex() == expected.hex()

    [batch] = java_codec.read_batches(data)
    assert batch["magic"] == 2
    assert (batch["baseOffset"], batch["lastOffset"], batch["count"]) == (5, 6, 2)
    assert batch["crcValid"] is True
    assert batch["compression"] == "none"
    assert batch["timestampType"] == "create"
    assert batch["maxTimestamp"] == 1001
    assert (batch["producerId"], batch["producerEpoch"], batch["baseSequence"]) == (-1, -1, -1)
    assert batch["transactional"] is False and batch["control"] is False
    assert batch["records"] == [
        {
            "offset": 5,
            "timestamp": 1000,
            "key": b"k1",
            "value": b"v1",
            "headers": [{"key": "h", "value": b"x"}],
        },
        {"offset": 6, "timestamp": 1001, "key": None, "value": b"v2", "headers": []},
    ]


def test_corrupt_batch_is_reported_not_fatal(java_codec: JavaCodec) -> None:
    data = bytearray(java_codec.build_batch(records=[{"timestamp": 1, "value": b"v"}]))
    data[-1] ^= 0xFF
    [batch] = java_codec.read_batches(bytes(data))
    assert batch["crcValid"] is False
    assert "CorruptRecordException" in batch["crcError"]
    # A truncated final batch is skipped by Kafka's reader, and counted.
    batches, trailing = java_codec.read_batches_with_trailing(bytes(data[:-3]))
    assert (batches, trailing) == ([], len(data) - 3)


@pytest.mark.parametrize("compression", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_compressed_batches_round_trip(java_codec: JavaCodec, compression: str) -> None:
    records = [
        {"timestamp": 10 + i, "key": f"key-{i}".encode(), "value": b"x" * 100} for i in range(20)
    ]
    data = java_codec.build_batch(
        compression=compression,
        producer_id=42,
        producer_epoch=3,
        base_sequence=7,
        partition_leader_epoch=9,
        records=records,
    )
    [batch] = java_codec.read_batches(data)
    assert batch["compression"] == compression
    assert batch["crcValid"] is True
    assert (batch["producerId"], batch["producerEpoch"]) == (42, 3)
    assert (batch["baseSequence"], batch["lastSequence"]) == (7, 26)
    assert batch["partitionLeaderEpoch"] == 9
    assert [(r["key"], r["value"]) for r in batch["records"]] == [
        (r["key"], r["value"]) for r in records
    ]


@pytest.mark.parametrize("magic", [0, 1])
def test_legacy_magic_batches(java_codec: JavaCodec, magic: int) -> None:
    data = java_codec.build_batch(
        magic=magic,
        compression="gzip",
        base_offset=3,
        records=[{"timestamp": 77, "key": b"a", "value": b"b"}, {"key": None, "value": None}],
    )
    [batch] = java_codec.read_batches(data)
    assert batch["magic"] == magic
    assert [r["offset"] for r in batch["records"]] == [3, 4]
    assert batch["records"][0]["value"] == b"b"
    assert batch["records"][1]["value"] is None


def test_log_append_time_batch(java_codec: JavaCodec) -> None:
    data = java_codec.build_batch(
        timestamp_type="log_append",
        log_append_time=123456,
        records=[{"timestamp": 1, "value": b"v"}],
    )
    [batch] = java_codec.read_batches(data)
    assert batch["timestampType"] == "log_append"
    assert batch["maxTimestamp"] == 123456
    assert batch["records"][0]["timestamp"] == 123456


def test_end_txn_marker(java_codec: JavaCodec) -> None:
    data = java_codec.build_end_txn_marker(
        producer_id=1000,
        producer_epoch=2,
        commit=False,
        coordinator_epoch=5,
        timestamp=99,
        base_offset=10,
    )
    [batch] = java_codec.read_batches(data)
    assert batch["control"] is True and batch["transactional"] is True
    assert (batch["producerId"], batch["producerEpoch"], batch["baseOffset"]) == (1000, 2, 10)
    [record] = batch["records"]
    assert record["controlType"] == "ABORT"
    assert record["coordinatorEpoch"] == 5
    # Control record key: version 0 (int16), type 0 = ABORT (int16).
    assert record["key"] == struct.pack(">hh", 0, 0)


def test_produce_request_carries_records_unchanged(java_codec: JavaCodec) -> None:
    records = java_codec.build_batch(records=[{"timestamp": 5, "key": b"k", "value": b"v"}])
    request = {
        "transactionalId": None,
        "acks": -1,
        "timeoutMs": 30000,
        "topicData": [{"name": "t", "partitionData": [{"index": 0, "records": records}]}],
    }
    data = java_codec.encode_message("ProduceRequest", 9, request)
    assert records in data
    decoded = java_codec.decode_message("ProduceRequest", 9, data)
    partition = decoded["topicData"][0]["partitionData"][0]
    assert base64.b64decode(partition["records"]) == records


def _murmur2(data: bytes) -> int:
    """MurmurHash2 (32-bit, seed 0x9747b28c) as Kafka uses it, written from the algorithm."""
    m, mask = 0x5BD1E995, 0xFFFFFFFF
    h = (0x9747B28C ^ len(data)) & mask
    full = len(data) - len(data) % 4
    for i in range(0, full, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    tail = data[full:]
    if tail:
        for i in reversed(range(len(tail))):
            h ^= tail[i] << (8 * i)
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


# Hash values Apache Kafka's own test suite pins for Utils.murmur2.
KNOWN_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


def test_murmur2_matches_known_values(java_codec: JavaCodec) -> None:
    keys = list(KNOWN_MURMUR2)
    assert java_codec.murmur2_hashes(keys) == list(KNOWN_MURMUR2.values())
    extra = [b"", b"a", b"ab", b"abcd", bytes(range(256)), "ключ".encode()]
    assert java_codec.murmur2_hashes(extra) == [_murmur2(k) for k in extra]
    partitions = java_codec.murmur2(keys + extra, 7)
    assert partitions == [(_murmur2(k) & 0x7FFFFFFF) % 7 for k in keys + extra]

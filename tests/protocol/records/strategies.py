"""Hypothesis strategies and byte-level helpers shared by the record batch tests."""

from __future__ import annotations

import os
import struct

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from rafka.protocol.records import Compression, TimestampType
from rafka.protocol.records._crc import crc32c
from rafka.protocol.records.varint import encode_varint, encode_varlong

#: Settings for the record tests: enough examples to find bugs, few enough for a ~60 s suite.
#: ``RAFKA_RECORDS_EXAMPLES=500`` runs a longer search.
_EXAMPLES = int(os.environ.get("RAFKA_RECORDS_EXAMPLES", "60"))
FAST = settings(
    max_examples=_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ = settings(
    max_examples=_EXAMPLES * 5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

V2_CODECS = list(Compression)
LEGACY_CODECS = [Compression.NONE, Compression.GZIP, Compression.SNAPPY, Compression.LZ4]

# A big value is made cheaply (hypothesis would be slow to draw 70 KB byte by byte); it crosses
# snappy's 32 KiB and lz4's 64 KiB blocks and needs 3-byte varints.
_big = st.builds(
    lambda n, b: bytes([b]) * n + bytes(range(n % 256)),
    st.integers(8_000, 70_000),
    st.integers(0, 255),
)
payloads = st.one_of(st.none(), st.binary(max_size=64), st.just(b""), _big)
small_payloads = st.one_of(st.none(), st.binary(max_size=64), st.just(b""))
header_lists = st.lists(
    st.tuples(st.text(max_size=8), st.one_of(st.none(), st.binary(max_size=16))), max_size=3
).map(tuple)
v2_timestamps = st.integers(-(2**40), 2**45)
v1_timestamps = st.integers(-(2**62), 2**62)


def record_lists(
    timestamps: st.SearchStrategy[int] = v2_timestamps, *, headers: bool = True, max_size: int = 12
) -> st.SearchStrategy[list[tuple[int, bytes | None, bytes | None, tuple]]]:  # type: ignore[type-arg]
    """Lists of ``(timestamp, key, value, headers)``; few values are big."""
    record = st.tuples(
        timestamps,
        small_payloads,
        st.one_of(small_payloads, small_payloads, payloads),
        header_lists if headers else st.just(()),
    )
    return st.lists(record, min_size=1, max_size=max_size)


timestamp_types_v2 = st.sampled_from([TimestampType.CREATE_TIME, TimestampType.LOG_APPEND_TIME])

_PREFIX = struct.Struct(">qiibI")
_TAIL = struct.Struct(">hiqqqhii")


def assemble_batch(
    section: bytes,
    *,
    count: int,
    last_offset_delta: int | None = None,
    base_offset: int = 0,
    attributes: int = 0,
    base_timestamp: int = 0,
    max_timestamp: int = 0,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    partition_leader_epoch: int = -1,
) -> bytes:
    """A v2 batch with a hand-made records section and a correct CRC."""
    tail = _TAIL.pack(
        attributes,
        count - 1 if last_offset_delta is None else last_offset_delta,
        base_timestamp,
        max_timestamp,
        producer_id,
        producer_epoch,
        base_sequence,
        count,
    )
    crc = crc32c(section, crc32c(tail))
    return (
        _PREFIX.pack(base_offset, 49 + len(section), partition_leader_epoch, 2, crc)
        + tail
        + section
    )


def raw_record(
    offset_delta: int,
    timestamp_delta: int = 0,
    key: bytes | None = None,
    value: bytes | None = b"v",
    headers: tuple[tuple[str, bytes | None], ...] = (),
    *,
    extra: bytes = b"",
    length_adjust: int = 0,
) -> bytes:
    """One encoded v2 record with arbitrary fields, ``extra`` bytes inside, a skewed length."""

    def nullable(field: bytes | None) -> bytes:
        return b"\x01" if field is None else encode_varint(len(field)) + field

    body = b"\x00" + encode_varlong(timestamp_delta) + encode_varint(offset_delta)
    body += nullable(key) + nullable(value) + encode_varint(len(headers))
    for hkey, hvalue in headers:
        raw = hkey.encode()
        body += encode_varint(len(raw)) + raw + nullable(hvalue)
    body += extra
    return encode_varint(len(body) + length_adjust) + body


def fix_crc(batch: bytearray, pos: int = 0) -> None:
    """Recompute the CRC of the v2 batch at ``pos`` after an edit."""
    (length,) = struct.unpack_from(">i", batch, pos + 8)
    struct.pack_into(">I", batch, pos + 17, crc32c(bytes(batch[pos + 21 : pos + 12 + length])))

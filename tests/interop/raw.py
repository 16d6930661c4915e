"""Raw Kafka requests over a socket, for comparing rafka's answers with Apache Kafka's.

Requests are encoded and responses decoded with rafka's generated codec
(:mod:`rafka.protocol.framing`) -- the codec itself is proven byte for byte against
kafka-clients elsewhere (``tests/peers/test_java_codec.py``), so what these helpers compare is
broker behaviour. Record batches are built with rafka's batch builder and, to make them
invalid on purpose, patched here by hand (CRC-32C recomputed with the independent ``crc32c``
package)::

    with RawClient(bootstrap) as raw:
        response = raw.call(MetadataRequest(topics=None), 12)

Error codes are compared by name (``error_name(3) == "UNKNOWN_TOPIC_OR_PARTITION"``).
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import crc32c as _crc32c

from rafka.errors import for_code
from rafka.protocol import framing
from rafka.protocol._message import Message
from rafka.protocol.messages import (
    ApiVersionsRequest,
    CreateTopicsRequest,
    CreateTopicsResponse,
    FetchRequest,
    FetchResponse,
    ListOffsetsRequest,
    ListOffsetsResponse,
    MetadataRequest,
    MetadataResponse,
    ProduceRequest,
    ProduceResponse,
    RequestHeader,
)
from rafka.protocol.records.builder import RecordBatchBuilder
from rafka.protocol.records.compression import Compression
from rafka.protocol.records.record import TimestampType

__all__ = [
    "BatchHeader",
    "RawClient",
    "batch_headers",
    "build_batch",
    "error_name",
    "flip_byte",
    "hand_batch",
    "hand_record",
    "leader_bootstrap",
    "patch_batch",
]

#: Offsets of the v2 record batch header fields (see DefaultRecordBatch in kafka-clients).
BASE_OFFSET, BATCH_LENGTH, LEADER_EPOCH, MAGIC, CRC, ATTRIBUTES = 0, 8, 12, 16, 17, 21
LAST_OFFSET_DELTA, BASE_TIMESTAMP, MAX_TIMESTAMP, PRODUCER_ID = 23, 27, 35, 43
PRODUCER_EPOCH, BASE_SEQUENCE, RECORD_COUNT, RECORDS = 51, 53, 57, 61

_HEADER = struct.Struct(">qiibIhiqqqhii")


def error_name(code: int) -> str:
    """Kafka's name for an error code (``NONE`` for 0)."""
    return str(for_code(code).name)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        chunks += chunk
    return bytes(chunks)


class RawClient:
    """One connection to the first broker of ``bootstrap`` (``host:port[,...]``)."""

    def __init__(
        self, bootstrap: str, *, timeout: float = 15.0, client_id: str = "rafka-interop"
    ) -> None:
        host, _, port = bootstrap.split(",")[0].rpartition(":")
        self.address = (host, int(port))
        self.client_id = client_id
        self.sock = socket.create_connection(self.address, timeout=timeout)
        self._correlation = 0

    def send(self, request: Message, version: int) -> int:
        """Send ``request`` at ``version``; its correlation id."""
        self._correlation += 1
        api_key = type(request).API_KEY  # type: ignore[attr-defined]
        header = RequestHeader(api_key, version, self._correlation, self.client_id)
        self.sock.sendall(framing.encode_request(header, request))
        return self._correlation

    def receive(self, api_key: int, version: int, correlation_id: int) -> Any:
        (size,) = struct.unpack(">i", _recv_exact(self.sock, 4))
        frame = _recv_exact(self.sock, size)
        header, body = framing.decode_response(frame, api_key, version)
        if header.correlation_id != correlation_id:
            raise AssertionError(f"correlation id {header.correlation_id} != {correlation_id}")
        return body

    def call(self, request: Message, version: int) -> Any:
        """Send ``request`` at ``version`` and return the decoded response body."""
        correlation_id = self.send(request, version)
        return self.receive(type(request).API_KEY, version, correlation_id)  # type: ignore[attr-defined]

    def is_closed(self, wait: float = 2.0) -> bool:
        """Whether the broker closes this connection within ``wait`` seconds."""
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False

    def api_versions(self) -> dict[int, tuple[int, int]]:
        response = self.call(ApiVersionsRequest("rafka-interop", "1.0"), 3)
        return {k.api_key: (k.min_version, k.max_version) for k in response.api_keys}

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- conveniences ----------------------------------------------------------------------

    def create_topic(
        self,
        name: str,
        partitions: int = 1,
        replication_factor: int = 1,
        configs: dict[str, str] | None = None,
        *,
        version: int = 7,
        validate_only: bool = False,
    ) -> CreateTopicsResponse.CreatableTopicResult:
        req = CreateTopicsRequest(
            topics=[
                CreateTopicsRequest.CreatableTopic(
                    name=name,
                    num_partitions=partitions,
                    replication_factor=replication_factor,
                    configs=[
                        CreateTopicsRequest.CreatableTopicConfig(k, v)
                        for k, v in (configs or {}).items()
                    ],
                )
            ],
            timeout_ms=30_000,
            validate_only=validate_only,
        )
        response: CreateTopicsResponse = self.call(req, version)
        (result,) = response.topics
        return result

    def metadata(
        self, *topics: str, auto_create: bool = False, version: int = 12
    ) -> MetadataResponse:
        req = MetadataRequest(
            topics=[MetadataRequest.MetadataRequestTopic(name=t) for t in topics],
            allow_auto_topic_creation=auto_create,
        )
        response: MetadataResponse = self.call(req, version)
        return response

    def wait_for_leaders(self, topic: str, timeout: float = 10.0) -> MetadataResponse:
        """Metadata for ``topic`` once every partition has a leader, and the broker of this
        connection serves the partitions it leads.

        (Kafka's brokers publish a new leader in their metadata a moment before the replica
        manager takes the partition on: a produce in between gets NOT_LEADER_OR_FOLLOWER.
        ListOffsets goes through the replica manager, so its answer says when it is done.)
        """
        deadline = time.monotonic() + timeout
        while True:
            md = self.metadata(topic)
            (t,) = md.topics
            if t.error_code == 0 and t.partitions and all(p.leader_id >= 0 for p in t.partitions):
                here = [b.node_id for b in md.brokers if b.port == self.address[1]]
                led = [p.partition_index for p in t.partitions if p.leader_id in here]
                if all(self.list_offsets(topic, i, -1).error_code == 0 for i in led):
                    return md
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic} has no serving leaders after {timeout}s: {t}")
            time.sleep(0.05)

    def produce(
        self,
        topic: str,
        partition: int,
        records: bytes | None,
        *,
        acks: int = -1,
        version: int = 11,
        topic_id: Any = None,
        transactional_id: str | None = None,
    ) -> ProduceResponse.PartitionProduceResponse:
        data = ProduceRequest.TopicProduceData(
            name=topic if version < 13 else "",
            partition_data=[ProduceRequest.PartitionProduceData(partition, records)],
        )
        if topic_id is not None:
            data.topic_id = topic_id
        req = ProduceRequest(
            transactional_id=transactional_id, acks=acks, timeout_ms=10_000, topic_data=[data]
        )
        response: ProduceResponse = self.call(req, version)
        ((result,),) = [t.partition_responses for t in response.responses]
        return result

    def produce_ok(
        self, topic: str, partition: int, records: bytes, *, timeout: float = 10.0
    ) -> ProduceResponse.PartitionProduceResponse:
        """Produce for a test's setup: retried while a new partition's leader is not ready yet
        (Kafka may list a leader in Metadata a moment before it accepts writes); the
        response must be a success."""
        deadline = time.monotonic() + timeout
        retriable = {"NOT_LEADER_OR_FOLLOWER", "UNKNOWN_TOPIC_OR_PARTITION", "LEADER_NOT_AVAILABLE"}
        while True:
            result = self.produce(topic, partition, records)
            name = error_name(result.error_code)
            if name == "NONE":
                return result
            if name not in retriable or time.monotonic() > deadline:
                raise AssertionError(f"producing to {topic}-{partition} failed: {name}")
            time.sleep(0.05)

    def fetch(
        self,
        topic: str,
        partition: int,
        offset: int,
        *,
        version: int = 12,
        max_bytes: int = 10 * 1024 * 1024,
        topic_id: Any = None,
        isolation_level: int = 0,
    ) -> FetchResponse.PartitionData:
        fetch_topic = FetchRequest.FetchTopic(
            topic=topic if version < 13 else "",
            partitions=[
                FetchRequest.FetchPartition(
                    partition=partition, fetch_offset=offset, partition_max_bytes=max_bytes
                )
            ],
        )
        if topic_id is not None:
            fetch_topic.topic_id = topic_id
        req = FetchRequest(
            replica_id=-1,
            max_wait_ms=0,
            min_bytes=0,
            max_bytes=max_bytes,
            isolation_level=isolation_level,
            session_id=0,
            session_epoch=-1,
            topics=[fetch_topic],
        )
        response: FetchResponse = self.call(req, version)
        if response.error_code:
            raise AssertionError(f"Fetch failed: {error_name(response.error_code)}")
        ((result,),) = [t.partitions for t in response.responses]
        return result

    def list_offsets(
        self,
        topic: str,
        partition: int,
        timestamp: int,
        *,
        version: int = 9,
        isolation_level: int = 0,
        current_leader_epoch: int = -1,
    ) -> ListOffsetsResponse.ListOffsetsPartitionResponse:
        req = ListOffsetsRequest(
            replica_id=-1,
            isolation_level=isolation_level,
            topics=[
                ListOffsetsRequest.ListOffsetsTopic(
                    name=topic,
                    partitions=[
                        ListOffsetsRequest.ListOffsetsPartition(
                            partition_index=partition,
                            current_leader_epoch=current_leader_epoch,
                            timestamp=timestamp,
                        )
                    ],
                )
            ],
        )
        response: ListOffsetsResponse = self.call(req, version)
        ((result,),) = [t.partitions for t in response.topics]
        return result

    def fetch_all(self, topic: str, partition: int, *, version: int = 12) -> bytes:
        """Every stored batch of the partition, from offset 0 to the high watermark."""
        out = bytearray()
        offset = 0
        while True:
            data = self.fetch(topic, partition, offset, version=version)
            if data.error_code:
                raise AssertionError(f"Fetch failed: {error_name(data.error_code)}")
            records = bytes(data.records or b"")
            headers = list(batch_headers(records))
            if not headers:
                return bytes(out)
            for h in headers:
                out += records[h.position : h.position + h.size]
                offset = h.base_offset + h.last_offset_delta + 1
            if offset >= data.high_watermark:
                return bytes(out)


# -- record batches ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchHeader:
    """The fixed header of one v2 record batch, and where it sits in a buffer."""

    position: int
    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    record_count: int

    @property
    def size(self) -> int:
        return 12 + self.batch_length

    @property
    def compression(self) -> int:
        return self.attributes & 0x07

    @property
    def timestamp_type(self) -> str:
        return "LogAppendTime" if self.attributes & 0x08 else "CreateTime"

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & 0x10)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & 0x20)


def batch_headers(data: bytes) -> Iterator[BatchHeader]:
    """The headers of the complete v2 batches in ``data`` (a trailing partial one is skipped)."""
    pos = 0
    while pos + RECORDS <= len(data):
        fields = _HEADER.unpack_from(data, pos)
        header = BatchHeader(pos, *fields)
        if header.magic != 2:
            raise AssertionError(f"batch at {pos} has magic {header.magic}")
        if pos + header.size > len(data):
            return
        yield header
        pos += header.size


def build_batch(
    records: Sequence[tuple[int, bytes | None, bytes | None]],
    *,
    compression: Compression = Compression.NONE,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    timestamp_type: TimestampType = TimestampType.CREATE_TIME,
    is_control: bool = False,
    is_transactional: bool = False,
) -> bytes:
    """A v2 batch of ``(timestamp, key, value)`` records, as a producer would send it."""
    builder = RecordBatchBuilder(
        compression=compression,
        timestamp_type=timestamp_type,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        is_control=is_control,
        is_transactional=is_transactional,
    )
    for timestamp, key, value in records:
        builder.append(timestamp, key, value)
    return bytes(builder.build())


def patch_batch(batch: bytes, *, fix_crc: bool = True, **fields: int) -> bytes:
    """``batch`` with header fields replaced (names as :class:`BatchHeader`'s) and, unless
    ``fix_crc=False``, a CRC-32C recomputed over the result."""
    formats = {
        "base_offset": (BASE_OFFSET, ">q"),
        "batch_length": (BATCH_LENGTH, ">i"),
        "partition_leader_epoch": (LEADER_EPOCH, ">i"),
        "magic": (MAGIC, ">b"),
        "attributes": (ATTRIBUTES, ">h"),
        "last_offset_delta": (LAST_OFFSET_DELTA, ">i"),
        "base_timestamp": (BASE_TIMESTAMP, ">q"),
        "max_timestamp": (MAX_TIMESTAMP, ">q"),
        "producer_id": (PRODUCER_ID, ">q"),
        "producer_epoch": (PRODUCER_EPOCH, ">h"),
        "base_sequence": (BASE_SEQUENCE, ">i"),
        "record_count": (RECORD_COUNT, ">i"),
    }
    out = bytearray(batch)
    for name, value in fields.items():
        pos, fmt = formats[name]
        struct.pack_into(fmt, out, pos, value)
    if fix_crc:
        struct.pack_into(">I", out, CRC, _crc32c.crc32c(bytes(out[ATTRIBUTES:])))
    return bytes(out)


def flip_byte(batch: bytes, position: int) -> bytes:
    """``batch`` with the byte at ``position`` inverted (the CRC left as it was)."""
    out = bytearray(batch)
    out[position] ^= 0xFF
    return bytes(out)


def leader_bootstrap(bootstrap: str, topic: str, partition: int) -> str:
    """``host:port`` of the broker leading ``topic``-``partition`` (waits for a leader)."""
    with RawClient(bootstrap) as raw:
        md = raw.wait_for_leaders(topic)
    (t,) = md.topics
    (p,) = [p for p in t.partitions if p.partition_index == partition]
    (broker,) = [b for b in md.brokers if b.node_id == p.leader_id]
    return f"{broker.host}:{broker.port}"


def _zigzag(value: int) -> bytes:
    """A zigzag varint (int64 range), written here independently of rafka's encoder."""
    u = (value << 1) ^ (value >> 63)
    out = bytearray()
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)
    return bytes(out)


def hand_record(
    offset_delta: int, timestamp_delta: int, key: bytes | None, value: bytes | None
) -> bytes:
    """One v2 record (no headers) with the given deltas, however wrong they are."""
    body = b"\x00" + _zigzag(timestamp_delta) + _zigzag(offset_delta)
    body += _zigzag(-1) if key is None else _zigzag(len(key)) + key
    body += _zigzag(-1) if value is None else _zigzag(len(value)) + value
    body += _zigzag(0)
    return _zigzag(len(body)) + body


def hand_batch(
    records: Sequence[bytes],
    *,
    base_timestamp: int,
    max_timestamp: int | None = None,
    last_offset_delta: int | None = None,
    record_count: int | None = None,
    attributes: int = 0,
) -> bytes:
    """A v2 batch around already encoded (uncompressed) ``records``, header fields as given
    (defaults: consistent with the records), CRC-32C correct."""
    payload = b"".join(records)
    count = len(records) if record_count is None else record_count
    last = len(records) - 1 if last_offset_delta is None else last_offset_delta
    header = _HEADER.pack(
        0,
        RECORDS - 12 + len(payload),
        -1,
        2,
        0,
        attributes,
        last,
        base_timestamp,
        base_timestamp if max_timestamp is None else max_timestamp,
        -1,
        -1,
        -1,
        count,
    )
    return patch_batch(header + payload)

"""Error-code parity: the same bad (or borderline) request to rafka and to Apache Kafka gets the
same answer.

Requests are sent raw (rafka's codec over a socket, see ``raw.py``) so that nothing on the
client side fixes them up: producing to a missing topic (auto-creation off) and to a missing
partition, record batches over ``max.message.bytes`` (and exactly at it), a flipped byte (bad
CRC), truncated, legacy-format, control and inconsistent batches, timestamps out of bounds, a
keyless record on a compacted topic, bad ``acks``, idempotent sequence errors, fetching out of
range or with wrong leader epochs, ListOffsets errors, and CreateTopics / DeleteTopics /
Metadata errors (existing topic, invalid configs, partitions, replication factors, names).

Each case returns an *observation* (error names, offsets relative to the log, whether a message
came back and what it says) and the rafka run must equal the Kafka run. Each case also states
the error Kafka is expected to give, so a change of the reference shows up as a Kafka failure.
Known rafka differences are ``xfail(strict=True)`` with the diagnosis (:data:`RAFKA_BUGS`).
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from rafka.protocol.messages import (
    CreateTopicsRequest,
    CreateTopicsResponse,
    DeleteTopicsRequest,
    DeleteTopicsResponse,
    InitProducerIdRequest,
    InitProducerIdResponse,
)
from rafka.protocol.records.builder import RecordBatchBuilder
from rafka.protocol.records.compression import Compression, compress
from rafka.protocol.records.record import TimestampType
from tests.interop.conftest import Target
from tests.interop.raw import (
    CRC,
    RECORDS,
    RawClient,
    batch_headers,
    build_batch,
    error_name,
    flip_byte,
    hand_batch,
    hand_record,
    patch_batch,
)
from tests.interop.scenarios import Memo, now_ms

PLAIN = "interop-err-plain"  # three records, never written to again
SINK = "interop-err-sink"  # where produce cases that may succeed write
COMPACT = "interop-err-compact"
SMALL = "interop-err-small"  # max.message.bytes=1024
BEFORE = "interop-err-before"  # message.timestamp.before.max.ms=3600000
LOG_APPEND = "interop-err-log-append"
MINUTE = 60_000
HOUR = 60 * MINUTE

TOPICS: dict[str, dict[str, str]] = {
    PLAIN: {},
    SINK: {},
    COMPACT: {"cleanup.policy": "compact"},
    SMALL: {"max.message.bytes": "1024"},
    BEFORE: {"message.timestamp.before.max.ms": str(HOUR)},
    LOG_APPEND: {"message.timestamp.type": "LogAppendTime"},
}


@dataclass
class Ctx:
    """One target for the cases: a raw connection and the time the scenario started."""

    target: Target
    raw: RawClient
    now: int

    def reconnect(self) -> None:
        self.raw.close()
        self.raw = RawClient(self.target.bootstrap)


def _setup(target: Target) -> None:
    with RawClient(target.bootstrap) as raw:
        for name, configs in TOPICS.items():
            result = raw.create_topic(name, 1, 1, configs)
            assert result.error_code == 0, result
        for name in TOPICS:
            raw.wait_for_leaders(name)
        batch = build_batch([(now_ms(), f"k{i}".encode(), b"v") for i in range(3)])
        raw.produce_ok(PLAIN, 0, batch)


# -- observations -----------------------------------------------------------------------------


def _gist(message: str | None) -> str | None:
    """A message without what legitimately differs between brokers (numbers, ids, ports)."""
    if message is None:
        return None
    return re.sub(r"\d+", "N", message)


def _send_produce(ctx: Ctx, topic_: str, records: bytes | None, **kwargs: Any) -> Any:
    """The partition response, or ``None`` if the broker closed the connection."""
    try:
        return ctx.raw.produce(topic_, 0, records, **kwargs)
    except (ConnectionError, TimeoutError, OSError):
        ctx.reconnect()
        return None


def produce_obs(ctx: Ctx, topic_: str, records: bytes | None, **kwargs: Any) -> tuple[Any, ...]:
    """(error, base offset relative to the log end before: 0 when appended, -1 when not)."""
    end = _log_end(ctx, topic_) if topic_ in TOPICS else 0
    r = _send_produce(ctx, topic_, records, **kwargs)
    if r is None:
        return ("connection closed",)
    return (error_name(r.error_code), r.base_offset - end if r.error_code == 0 else r.base_offset)


def produce_detail(ctx: Ctx, topic_: str, records: bytes | None, **kwargs: Any) -> tuple[Any, ...]:
    """(error, record errors as (batch index, message given), top-level message given)."""
    r = _send_produce(ctx, topic_, records, **kwargs)
    if r is None:
        return ("connection closed",)
    return (
        error_name(r.error_code),
        [(e.batch_index, e.batch_index_error_message is not None) for e in r.record_errors],
        r.error_message is not None,
    )


def produce_messages(ctx: Ctx, topic_: str, records: bytes | None) -> tuple[Any, ...]:
    """(error, record errors as (batch index, message gist), top-level message gist)."""
    r = _send_produce(ctx, topic_, records)
    if r is None:
        return ("connection closed",)
    return (
        error_name(r.error_code),
        [(e.batch_index, _gist(e.batch_index_error_message)) for e in r.record_errors],
        _gist(r.error_message),
    )


def _log_end(ctx: Ctx, topic_: str) -> int:
    return ctx.raw.list_offsets(topic_, 0, -1).offset


def fetch_partition(
    ctx: Ctx, topic_: str, partition: int, offset: int, version: int = 12, epoch: int = -1
) -> Any:
    from rafka.protocol.messages import FetchRequest, FetchResponse

    req = FetchRequest(
        replica_id=-1,
        max_wait_ms=0,
        max_bytes=1 << 20,
        topics=[
            FetchRequest.FetchTopic(
                topic=topic_,
                partitions=[
                    FetchRequest.FetchPartition(
                        partition=partition,
                        current_leader_epoch=epoch,
                        fetch_offset=offset,
                        partition_max_bytes=1 << 20,
                    )
                ],
            )
        ],
    )
    response: FetchResponse = ctx.raw.call(req, version)
    ((p,),) = [t.partitions for t in response.responses]
    return p


def fetch_obs(ctx: Ctx, topic_: str, offset: int, version: int = 12) -> tuple[Any, ...]:
    """(error, records returned) -- and, without error, the high watermark and log start."""
    p = fetch_partition(ctx, topic_, 0, offset, version)
    if p.error_code:
        return (error_name(p.error_code), len(p.records or b""))
    return (error_name(p.error_code), len(p.records or b""), p.high_watermark, p.log_start_offset)


def create_obs(ctx: Ctx, request: CreateTopicsRequest, version: int = 7) -> list[tuple[Any, ...]]:
    response: CreateTopicsResponse = ctx.raw.call(request, version)
    return [(t.name, error_name(t.error_code)) for t in response.topics]


def create_detail(
    ctx: Ctx, request: CreateTopicsRequest, version: int = 7
) -> list[tuple[Any, ...]]:
    response: CreateTopicsResponse = ctx.raw.call(request, version)
    return [(t.name, error_name(t.error_code), _gist(t.error_message)) for t in response.topics]


def topic(
    name: str, partitions: int = 1, rf: int = 1, configs: Mapping[str, str] | None = None
) -> CreateTopicsRequest.CreatableTopic:
    return CreateTopicsRequest.CreatableTopic(
        name=name,
        num_partitions=partitions,
        replication_factor=rf,
        configs=[
            CreateTopicsRequest.CreatableTopicConfig(k, v) for k, v in (configs or {}).items()
        ],
    )


def assigned(
    name: str, assignment: dict[int, list[int]], partitions: int = -1
) -> CreateTopicsRequest.CreatableTopic:
    return CreateTopicsRequest.CreatableTopic(
        name=name,
        num_partitions=partitions,
        replication_factor=-1,
        assignments=[
            CreateTopicsRequest.CreatableReplicaAssignment(p, b) for p, b in assignment.items()
        ],
    )


def create(
    *topics: CreateTopicsRequest.CreatableTopic, validate_only: bool = False
) -> CreateTopicsRequest:
    return CreateTopicsRequest(topics=list(topics), timeout_ms=30_000, validate_only=validate_only)


def batch_of_size(size: int, timestamp: int) -> bytes:
    """One uncompressed single-record batch of exactly ``size`` bytes."""
    value_len = size - 70
    while True:
        batch = build_batch([(timestamp, b"k", b"x" * value_len)])
        if len(batch) == size:
            return batch
        value_len += size - len(batch)


def list_offsets_obs(
    ctx: Ctx, topic_: str, partitions: list[tuple[int, int]], version: int = 9, epoch: int = -1
) -> Any:
    from rafka.protocol.messages import ListOffsetsRequest, ListOffsetsResponse

    req = ListOffsetsRequest(
        replica_id=-1,
        topics=[
            ListOffsetsRequest.ListOffsetsTopic(
                name=topic_,
                partitions=[
                    ListOffsetsRequest.ListOffsetsPartition(
                        partition_index=p, current_leader_epoch=epoch, timestamp=ts
                    )
                    for p, ts in partitions
                ],
            )
        ],
    )
    response: ListOffsetsResponse = ctx.raw.call(req, version)
    return [
        (p.partition_index, error_name(p.error_code), p.offset, p.timestamp)
        for t in response.topics
        for p in t.partitions
    ]


# -- the cases --------------------------------------------------------------------------------

Case = Callable[[Ctx], Any]
#: name -> (what Kafka's answer must contain, the case)
CASES: dict[str, tuple[str, Case]] = {}


def case(name: str, expected: str) -> Callable[[Case], Case]:
    def register(fn: Case) -> Case:
        CASES[name] = (expected, fn)
        return fn

    return register


# Produce: where the record batch goes


for _version in (3, 9, 12):

    @case(f"produce-unknown-partition-v{_version}", "UNKNOWN_TOPIC_OR_PARTITION")
    def _unknown_partition(ctx: Ctx, v: int = _version) -> Any:
        r = ctx.raw.produce(PLAIN, 7, build_batch([(ctx.now, b"k", b"v")]), version=v)
        return (error_name(r.error_code), r.base_offset)


@case("produce-v13-unknown-topic-id", "UNKNOWN_TOPIC_ID")
def _unknown_topic_id(ctx: Ctx) -> Any:
    batch = build_batch([(ctx.now, b"k", b"v")])
    r = ctx.raw.produce("", 0, batch, version=13, topic_id=uuid.UUID(int=12345))
    return (error_name(r.error_code), r.base_offset)


@case("produce-missing-topic-auto-create-on", "UNKNOWN_TOPIC_OR_PARTITION")
def _produce_missing_auto(ctx: Ctx) -> Any:
    # Produce itself never creates a topic, even with auto-creation on: only Metadata does.
    name = "interop-err-produce-creates"
    r = ctx.raw.produce(name, 0, build_batch([(ctx.now, b"k", b"v")]))
    md = ctx.raw.metadata(name)
    return (error_name(r.error_code), [(t.name, error_name(t.error_code)) for t in md.topics])


@case("produce-bad-acks", "INVALID_REQUIRED_ACKS")
def _acks(ctx: Ctx) -> Any:
    batch = build_batch([(ctx.now, b"k", b"v")])
    return {acks: produce_obs(ctx, SINK, batch, acks=acks) for acks in (2, -2, 5)}


# Produce: size


@case("produce-over-max-message-bytes", "MESSAGE_TOO_LARGE")
def _too_large(ctx: Ctx) -> Any:
    return {
        "at-topic-limit": produce_obs(ctx, SMALL, batch_of_size(1024, ctx.now)),
        "over-topic-limit": produce_obs(ctx, SMALL, batch_of_size(1025, ctx.now)),
        "at-broker-default": produce_obs(ctx, SINK, batch_of_size(1048588, ctx.now)),
        "over-broker-default": produce_obs(ctx, SINK, batch_of_size(1048588 + 1, ctx.now)),
    }


@case("produce-compressed-and-max-message-bytes", "MESSAGE_TOO_LARGE")
def _too_large_compressed(ctx: Ctx) -> Any:
    # max.message.bytes applies to the batch as sent (compressed): 3000 compressible bytes fit
    # in 1024, 3000 random ones do not
    small = build_batch([(ctx.now, b"k", b"a" * 3000)], compression=Compression.GZIP)
    big = build_batch(
        [(ctx.now, b"k", random.Random(3).randbytes(3000))], compression=Compression.GZIP
    )
    return {
        "compressible": produce_obs(ctx, SMALL, small),
        "incompressible": produce_obs(ctx, SMALL, big),
    }


# Produce: corrupt batches


@case("produce-bad-crc", "CORRUPT_MESSAGE")
def _bad_crc(ctx: Ctx) -> Any:
    plain = build_batch([(ctx.now, b"key", b"value-1"), (ctx.now, None, b"value-2")])
    gzip = build_batch([(ctx.now, b"key", b"v" * 200)] * 3, compression=Compression.GZIP)
    return {
        "flipped-value-byte": produce_obs(ctx, SINK, flip_byte(plain, len(plain) - 3)),
        "flipped-crc": produce_obs(ctx, SINK, flip_byte(plain, CRC)),
        "flipped-timestamp": produce_obs(ctx, SINK, flip_byte(plain, 30)),
        "flipped-compressed-byte": produce_obs(ctx, SINK, flip_byte(gzip, len(gzip) - 10)),
        "flipped-record-count": produce_obs(ctx, SINK, flip_byte(plain, RECORDS - 1)),
        "second-batch-flipped": produce_obs(
            ctx, SINK, build_batch([(ctx.now, b"a", b"1")]) + flip_byte(plain, len(plain) - 3)
        ),
    }


@case("produce-corrupt-compressed-payload", "UNKNOWN_SERVER_ERROR")
def _corrupt_compressed(ctx: Ctx) -> Any:
    # a right CRC over gzip data that does not decompress
    gzip = build_batch([(ctx.now, b"key", b"v" * 200)] * 3, compression=Compression.GZIP)
    return produce_obs(ctx, SINK, patch_batch(flip_byte(gzip, RECORDS + 12)))


@case("produce-truncated-batch", "INVALID_RECORD")
def _truncated(ctx: Ctx) -> Any:
    batch = build_batch([(ctx.now, b"key", b"value")])
    two = build_batch([(ctx.now, b"a", b"1")]) + batch
    return {
        "cut": produce_obs(ctx, SINK, batch[:-4]),
        # a complete first batch and a partial second: Kafka appends the first, ignores the rest
        "second-cut": produce_obs(ctx, SINK, two[:-4]),
        "header-only": produce_obs(ctx, SINK, batch[:RECORDS]),
        "short": produce_obs(ctx, SINK, batch[:20]),
        "empty": produce_obs(ctx, SINK, b""),
    }


@case("produce-legacy-magic", "INVALID_RECORD")
def _legacy(ctx: Ctx) -> Any:
    out = {}
    for magic in (0, 1):
        builder = RecordBatchBuilder(magic=magic)
        builder.append(ctx.now, b"k", b"v")
        out[f"magic-{magic}"] = produce_obs(ctx, SINK, bytes(builder.build()))
    return out


@case("produce-control-batch", "INVALID_RECORD")
def _control(ctx: Ctx) -> Any:
    # a control batch from a client (not transactional, so the request passes the
    # transactional-id check and reaches batch validation)
    marker = hand_batch(
        [hand_record(0, 0, b"\x00\x00\x00\x00", b"\x00\x00\x00\x00\x00\x00")],
        base_timestamp=ctx.now,
        attributes=0x20,
    )
    return produce_obs(ctx, SINK, marker)


@case("produce-transactional-without-transactional-id", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED")
def _transactional(ctx: Ctx) -> Any:
    """A transactional batch in a request without a transactional id is refused as a whole; if
    it were appended, its never-ending transaction would pin the last stable offset (what
    read_committed consumers, librdkafka's default, can read up to) for good."""
    t = "interop-err-transactional"
    assert ctx.raw.create_topic(t, 1, 1).error_code == 0
    ctx.raw.wait_for_leaders(t)
    batch = build_batch(
        [(ctx.now, b"k", b"v")],
        producer_id=4242,
        producer_epoch=0,
        base_sequence=0,
        is_transactional=True,
    )
    result = produce_obs(ctx, t, batch)
    assert produce_obs(ctx, t, build_batch([(ctx.now, b"a", b"1")]))[0] == "NONE"
    return {
        "produce": result,
        "high-watermark": ctx.raw.list_offsets(t, 0, -1).offset,
        "last-stable-offset": ctx.raw.list_offsets(t, 0, -1, isolation_level=1).offset,
    }


@case("produce-inconsistent-batch", "INVALID_RECORD")
def _inconsistent(ctx: Ctx) -> Any:
    ts = ctx.now
    good = [
        hand_record(0, 0, b"a", b"1"),
        hand_record(1, 0, b"b", b"2"),
        hand_record(2, 0, b"c", b"3"),
    ]

    def obs(**fields: int) -> Any:
        return produce_obs(ctx, SINK, hand_batch(good, base_timestamp=ts, **fields))

    return {
        "count-more": obs(record_count=4),
        "count-less": obs(record_count=2),
        "last-delta-more": obs(last_offset_delta=5),
        "last-delta-less": obs(last_offset_delta=1),
        "zero-records": produce_obs(
            ctx, SINK, hand_batch([], base_timestamp=ts, last_offset_delta=0)
        ),
        "max-timestamp-below-records": obs(max_timestamp=ts - 5),
        "idempotent-without-sequence": produce_obs(
            ctx, SINK, build_batch([(ts, b"k", b"v")], producer_id=77, producer_epoch=0)
        ),
        "base-offset-not-zero": produce_obs(
            ctx, SINK, patch_batch(build_batch([(ts, b"k", b"v")]), base_offset=100)
        ),
        "two-batches": produce_obs(
            ctx, SINK, build_batch([(ts, b"a", b"1")]) + build_batch([(ts, b"b", b"2")])
        ),
    }


@case("produce-non-consecutive-offset-deltas", "NONE")
def _offset_deltas(ctx: Ctx) -> Any:
    """Kafka checks a batch's record count against its last offset delta, not the records'
    own offset deltas: an uncompressed batch whose deltas repeat or skip is stored as sent."""
    ts = ctx.now
    t = "interop-err-deltas"
    assert ctx.raw.create_topic(t, 1, 1).error_code == 0
    ctx.raw.wait_for_leaders(t)
    repeated = [hand_record(0, 0, b"a", b"1"), hand_record(0, 0, b"b", b"2")]
    gapped = [hand_record(0, 0, b"a", b"1"), hand_record(5, 0, b"b", b"2")]
    out: dict[str, Any] = {
        "repeated": produce_obs(
            ctx, t, hand_batch(repeated, base_timestamp=ts, last_offset_delta=1)
        ),
        "gapped-last-delta-1": produce_obs(
            ctx, t, hand_batch(gapped, base_timestamp=ts, last_offset_delta=1)
        ),
    }
    data = ctx.raw.fetch(t, 0, 0)
    out["stored"] = [
        (h.base_offset, h.last_offset_delta, h.record_count, h.compression)
        for h in batch_headers(bytes(data.records or b""))
    ]
    return out


@case("produce-compressed-non-consecutive-offset-deltas", "UNKNOWN_SERVER_ERROR")
def _compressed_offset_deltas(ctx: Ctx) -> Any:
    """A gzip batch whose inner offset deltas repeat: Kafka means to rebuild it with offsets
    0..n-1 (LogValidator's not-in-place path) and fails, storing nothing."""
    ts = ctx.now
    t = "interop-err-zdeltas"
    assert ctx.raw.create_topic(t, 1, 1).error_code == 0
    ctx.raw.wait_for_leaders(t)
    inner = hand_record(0, 0, b"a", b"1") + hand_record(0, 0, b"b", b"2")
    batch = hand_batch(
        [compress(Compression.GZIP, inner)],
        base_timestamp=ts,
        last_offset_delta=1,
        record_count=2,
        attributes=int(Compression.GZIP),
    )
    out: dict[str, Any] = {"repeated": produce_obs(ctx, t, batch)}
    data = bytes(ctx.raw.fetch(t, 0, 0).records or b"")
    out["stored"] = [(h.base_offset, h.record_count) for h in batch_headers(data)]
    return out


# Produce: record-level validation


@case("produce-timestamp-bounds", "INVALID_TIMESTAMP")
def _timestamps(ctx: Ctx) -> Any:
    def one(topic_: str, ts: int) -> Any:
        return produce_obs(ctx, topic_, build_batch([(ts, b"k", b"v")]))

    return {
        "future-2h": one(SINK, ctx.now + 2 * HOUR),
        "future-30min": one(SINK, ctx.now + 30 * MINUTE),
        "past-30-days-default": one(SINK, ctx.now - 30 * 24 * HOUR),
        "past-2h-before-max-1h": one(BEFORE, ctx.now - 2 * HOUR),
        "past-30min-before-max-1h": one(BEFORE, ctx.now - 30 * MINUTE),
        "future-2h-log-append-time": one(LOG_APPEND, ctx.now + 2 * HOUR),
        "second-record-future": produce_obs(
            ctx, SINK, build_batch([(ctx.now, b"a", b"1"), (ctx.now + 3 * HOUR, b"b", b"2")])
        ),
        "producer-sets-log-append-time": produce_obs(
            ctx,
            SINK,
            build_batch([(ctx.now, b"k", b"v")], timestamp_type=TimestampType.LOG_APPEND_TIME),
        ),
        "producer-sets-log-append-time-on-log-append-topic": produce_obs(
            ctx,
            LOG_APPEND,
            build_batch([(ctx.now, b"k", b"v")], timestamp_type=TimestampType.LOG_APPEND_TIME),
        ),
    }


@case("produce-compacted-without-key", "INVALID_RECORD")
def _compacted(ctx: Ctx) -> Any:
    keyless = build_batch([(ctx.now, b"a", b"1"), (ctx.now, None, b"2"), (ctx.now, None, b"3")])
    return {
        "keyless": produce_obs(ctx, COMPACT, keyless),
        "keyless-gzip": produce_obs(
            ctx, COMPACT, build_batch([(ctx.now, None, b"x")], compression=Compression.GZIP)
        ),
        "keyed-tombstone": produce_obs(ctx, COMPACT, build_batch([(ctx.now, b"k", None)])),
    }


@case("produce-record-errors", "INVALID_TIMESTAMP")
def _record_errors(ctx: Ctx) -> Any:
    """Per-record errors (Produce v8+): which records of the batch were bad, with Kafka's
    messages (numbers aside)."""
    return {
        "future": produce_messages(ctx, SINK, build_batch([(ctx.now + 2 * HOUR, b"k", b"v")])),
        "second-record-future": produce_messages(
            ctx, SINK, build_batch([(ctx.now, b"a", b"1"), (ctx.now + 3 * HOUR, b"b", b"2")])
        ),
        "past-and-future": produce_messages(
            ctx,
            BEFORE,
            build_batch([(ctx.now - 2 * HOUR, b"a", b"1"), (ctx.now + 3 * HOUR, b"b", b"2")]),
        ),
        "compacted-keyless": produce_messages(
            ctx,
            COMPACT,
            build_batch([(ctx.now, b"a", b"1"), (ctx.now, None, b"2"), (ctx.now, None, b"3")]),
        ),
        "compacted-keyless-and-future": produce_messages(
            ctx,
            COMPACT,
            build_batch([(ctx.now, None, b"1"), (ctx.now + 3 * HOUR, b"b", b"2")]),
        ),
        "producer-sets-log-append-time": produce_messages(
            ctx,
            SINK,
            build_batch([(ctx.now, b"k", b"v")], timestamp_type=TimestampType.LOG_APPEND_TIME),
        ),
    }


@case("produce-error-messages", "CORRUPT_MESSAGE")
def _produce_messages(ctx: Ctx) -> Any:
    """Whether an error_message comes back: Kafka sets one only for record-level errors."""
    plain = build_batch([(ctx.now, b"key", b"value-1")])
    builder = RecordBatchBuilder(magic=1)
    builder.append(ctx.now, b"k", b"v")
    return {
        "too-large": produce_detail(ctx, SMALL, batch_of_size(1025, ctx.now)),
        "bad-crc": produce_detail(ctx, SINK, flip_byte(plain, CRC)),
        "legacy-magic": produce_detail(ctx, SINK, bytes(builder.build())),
        "bad-acks": produce_detail(ctx, SINK, plain, acks=2),
        "count-mismatch": produce_detail(
            ctx,
            SINK,
            hand_batch([hand_record(0, 0, b"a", b"1")], base_timestamp=ctx.now, record_count=3),
        ),
    }


# Produce: idempotence


def _init_producer_id(ctx: Ctx) -> tuple[int, int]:
    deadline = time.monotonic() + 15
    while True:
        r: InitProducerIdResponse = ctx.raw.call(
            InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60_000), 4
        )
        if r.error_code == 0:
            return r.producer_id, r.producer_epoch
        # Kafka answers COORDINATOR_LOAD_IN_PROGRESS until its first producer id block arrives
        if (
            error_name(r.error_code) != "COORDINATOR_LOAD_IN_PROGRESS"
            or time.monotonic() > deadline
        ):
            raise AssertionError(f"InitProducerId failed: {error_name(r.error_code)}")
        time.sleep(0.1)


@case("produce-idempotent-sequences", "OUT_OF_ORDER_SEQUENCE_NUMBER")
def _idempotent(ctx: Ctx) -> Any:
    pid, epoch = _init_producer_id(ctx)
    t = "interop-err-idempotent"
    assert ctx.raw.create_topic(t, 1, 1).error_code == 0
    ctx.raw.wait_for_leaders(t)

    def send(seq: int, n: int = 2, producer_id: int = pid, producer_epoch: int = epoch) -> Any:
        batch = build_batch(
            [(ctx.now, b"k", f"{seq}-{i}".encode()) for i in range(n)],
            producer_id=producer_id,
            producer_epoch=producer_epoch,
            base_sequence=seq,
        )
        r = ctx.raw.produce(t, 0, batch)
        return (error_name(r.error_code), r.base_offset)

    return [
        ("first", send(0)),
        ("duplicate", send(0)),
        ("next", send(2)),
        ("older-duplicate", send(0)),
        ("gap", send(7)),
        ("overlap", send(3)),
        ("next-after-errors", send(4)),
        ("newer-epoch-not-zero", send(6, producer_epoch=epoch + 1)),
        ("newer-epoch-zero", send(0, producer_epoch=epoch + 1)),
        ("old-epoch", send(6, producer_epoch=epoch)),
        ("unknown-producer-not-zero", send(5, producer_id=pid + 100_000, producer_epoch=0)),
        ("unknown-producer-zero", send(0, producer_id=pid + 100_001, producer_epoch=0)),
    ]


# Fetch


for _version in (4, 11, 12):

    @case(f"fetch-out-of-range-v{_version}", "OFFSET_OUT_OF_RANGE")
    def _fetch_range(ctx: Ctx, v: int = _version) -> Any:
        return {
            "past-end": fetch_obs(ctx, PLAIN, 100, v),
            "just-past-end": fetch_obs(ctx, PLAIN, 4, v),
            "negative": fetch_obs(ctx, PLAIN, -1, v),
            "at-end": fetch_obs(ctx, PLAIN, 3, v),
            "in-range": fetch_obs(ctx, PLAIN, 1, v),
        }


@case("fetch-error-partition-fields", "OFFSET_OUT_OF_RANGE")
def _fetch_error_fields(ctx: Ctx) -> Any:
    """What else an error partition of a Fetch response carries (Kafka: -1 everywhere)."""

    def detail(p: Any) -> Any:
        return (
            error_name(p.error_code),
            p.high_watermark,
            p.last_stable_offset,
            p.log_start_offset,
        )

    return {
        "out-of-range": detail(fetch_partition(ctx, PLAIN, 0, 100)),
        "unknown-partition": detail(fetch_partition(ctx, PLAIN, 5, 0)),
        "newer-leader-epoch": detail(fetch_partition(ctx, PLAIN, 0, 0, epoch=5)),
    }


@case("fetch-unknown", "UNKNOWN_TOPIC_OR_PARTITION")
def _fetch_unknown(ctx: Ctx) -> Any:
    by_id = ctx.raw.fetch("", 0, 0, version=16, topic_id=uuid.UUID(int=777))
    return {
        "missing-topic": error_name(
            fetch_partition(ctx, "interop-err-no-such-topic", 0, 0).error_code
        ),
        "missing-partition": error_name(fetch_partition(ctx, PLAIN, 5, 0).error_code),
        "unknown-topic-id": error_name(by_id.error_code),
    }


@case("fetch-leader-epoch", "UNKNOWN_LEADER_EPOCH")
def _fetch_epoch(ctx: Ctx) -> Any:
    return {
        name: error_name(fetch_partition(ctx, PLAIN, 0, 0, epoch=epoch).error_code)
        for name, epoch in (("current", 0), ("newer", 5), ("none", -1))
    }


# ListOffsets


@case("list-offsets-errors", "UNKNOWN_TOPIC_OR_PARTITION")
def _list_offsets_errors(ctx: Ctx) -> Any:
    return {
        "unknown-partition": list_offsets_obs(ctx, PLAIN, [(5, -1)]),
        "unknown-topic": list_offsets_obs(ctx, "interop-err-no-such-topic", [(0, -1)]),
        "max-timestamp-v6": list_offsets_obs(ctx, PLAIN, [(0, -3)], version=6),
        "earliest-local-v7": list_offsets_obs(ctx, PLAIN, [(0, -4)], version=7),
        "latest-tiered-v8": list_offsets_obs(ctx, PLAIN, [(0, -5)], version=8),
        "newer-epoch": list_offsets_obs(ctx, PLAIN, [(0, -1)], epoch=5),
        "current-epoch": list_offsets_obs(ctx, PLAIN, [(0, -1)], epoch=0),
    }


@case("list-offsets-unknown-negative-timestamp", "UNSUPPORTED_VERSION")
def _list_offsets_negative(ctx: Ctx) -> Any:
    return {ts: list_offsets_obs(ctx, PLAIN, [(0, ts)]) for ts in (-6, -7, -100)}


@case("list-offsets-duplicate-partition", "INVALID_REQUEST")
def _list_offsets_duplicate(ctx: Ctx) -> Any:
    return list_offsets_obs(ctx, PLAIN, [(0, -1), (0, -2)])


# CreateTopics, DeleteTopics, Metadata


@case("create-existing-topic", "TOPIC_ALREADY_EXISTS")
def _create_existing(ctx: Ctx) -> Any:
    return {
        "create": create_detail(ctx, create(topic(PLAIN))),
        "validate-only": create_detail(ctx, create(topic(PLAIN), validate_only=True)),
        "v2": create_detail(ctx, create(topic(PLAIN)), version=2),
    }


INVALID_CONFIGS: dict[str, dict[str, str]] = {
    "retention-abc": {"retention.ms": "abc"},
    "cleanup-bogus": {"cleanup.policy": "bogus"},
    "unknown-name": {"no.such.config": "1"},
    "segment-bytes-tiny": {"segment.bytes": "1"},
    "min-isr-zero": {"min.insync.replicas": "0"},
    "timestamp-type-bogus": {"message.timestamp.type": "Sometime"},
    "compression-bogus": {"compression.type": "brotli"},
    "empty-value": {"retention.ms": ""},
}


@case("create-invalid-configs", "INVALID_CONFIG")
def _invalid_configs(ctx: Ctx) -> Any:
    # the messages too: "Invalid value abc for configuration retention.ms: Not a number of type
    # LONG", "Unknown topic config name: no.such.config", ...
    return {
        name: create_detail(ctx, create(topic(f"interop-err-bad-{name}", configs=configs)))
        for name, configs in INVALID_CONFIGS.items()
    }


@case("create-invalid-counts", "INVALID_PARTITIONS")
def _invalid_counts(ctx: Ctx) -> Any:
    return {
        "zero-partitions": create_detail(ctx, create(topic("interop-err-p0", partitions=0))),
        "negative-partitions": create_detail(ctx, create(topic("interop-err-pneg", partitions=-5))),
        "zero-rf": create_detail(ctx, create(topic("interop-err-rf0", rf=0))),
        "rf-over-brokers": create_detail(ctx, create(topic("interop-err-rf3", rf=3))),
        "negative-rf": create_detail(ctx, create(topic("interop-err-rfneg", rf=-5))),
    }


INVALID_NAMES = {
    "slash": "bad/name",
    "dot": ".",
    "dotdot": "..",
    "too-long": "x" * 250,
    "space": "has space",
    "empty": "",
    "unicode": "тема",
}


@case("create-invalid-names", "INVALID_TOPIC_EXCEPTION")
def _invalid_names(ctx: Ctx) -> Any:
    return {k: create_obs(ctx, create(topic(v))) for k, v in INVALID_NAMES.items()}


@case("create-invalid-names-messages", "INVALID_TOPIC_EXCEPTION")
def _invalid_names_messages(ctx: Ctx) -> Any:
    return {k: create_detail(ctx, create(topic(v))) for k, v in INVALID_NAMES.items()}


@case("create-manual-assignments", "INVALID_REPLICA_ASSIGNMENT")
def _assignments(ctx: Ctx) -> Any:
    return {
        "with-counts": create_obs(
            ctx, create(assigned("interop-err-assigned", {0: [1]}, partitions=2))
        ),
        "unknown-broker": create_obs(ctx, create(assigned("interop-err-bad-broker", {0: [7]}))),
        "gap": create_obs(ctx, create(assigned("interop-err-gap", {0: [1], 2: [1]}))),
        "repeated-broker": create_obs(ctx, create(assigned("interop-err-twice", {0: [1, 1]}))),
        "empty-replicas": create_obs(ctx, create(assigned("interop-err-none", {0: []}))),
        "valid": create_obs(ctx, create(assigned("interop-err-assigned-ok", {0: [1], 1: [1]}))),
    }


@case("create-manual-assignments-messages", "INVALID_REPLICA_ASSIGNMENT")
def _assignments_messages(ctx: Ctx) -> Any:
    return {
        "with-counts": create_detail(
            ctx, create(assigned("interop-err-assigned", {0: [1]}, partitions=2))
        ),
        "unknown-broker": create_detail(ctx, create(assigned("interop-err-bad-broker", {0: [7]}))),
        "gap": create_detail(ctx, create(assigned("interop-err-gap", {0: [1], 2: [1]}))),
    }


@case("create-duplicate-topic-in-request", "INVALID_REQUEST")
def _duplicate(ctx: Ctx) -> Any:
    dup = topic("interop-err-dup")
    return create_detail(ctx, create(dup, dup, topic("interop-err-dup-other")))


@case("create-colliding-names-in-one-request", "NONE")
def _colliding(ctx: Ctx) -> Any:
    """'.' and '_' collide in metric names: Kafka refuses a topic colliding with an existing
    one, but not two colliding topics created by the same request."""
    return {
        "same-request": create_obs(
            ctx, create(topic("interop_err.coll"), topic("interop.err_coll"))
        ),
        "with-existing": create_obs(ctx, create(topic("interop_err_coll"))),
    }


@case("create-validate-only", "NONE")
def _validate_only(ctx: Ctx) -> Any:
    name = "interop-err-validate-only"
    created = create_obs(ctx, create(topic(name, partitions=2), validate_only=True))
    md = ctx.raw.metadata(name)
    return {"created": created, "metadata": [(t.name, error_name(t.error_code)) for t in md.topics]}


@case("delete-missing-topics", "UNKNOWN_TOPIC_OR_PARTITION")
def _delete_missing(ctx: Ctx) -> Any:
    by_name: DeleteTopicsResponse = ctx.raw.call(
        DeleteTopicsRequest(topic_names=["interop-err-never-was"], timeout_ms=10_000), 5
    )
    by_id: DeleteTopicsResponse = ctx.raw.call(
        DeleteTopicsRequest(
            topics=[DeleteTopicsRequest.DeleteTopicState(name=None, topic_id=uuid.UUID(int=99))],
            timeout_ms=10_000,
        ),
        6,
    )
    return {
        "by-name": [(r.name, error_name(r.error_code)) for r in by_name.responses],
        "by-id": [(r.name, error_name(r.error_code)) for r in by_id.responses],
    }


@case("metadata-invalid-topic", "INVALID_TOPIC_EXCEPTION")
def _metadata_invalid(ctx: Ctx) -> Any:
    md = ctx.raw.metadata("bad/name", auto_create=True)
    return [(t.name, error_name(t.error_code)) for t in md.topics]


@case("metadata-auto-create", "UNKNOWN_TOPIC_OR_PARTITION")
def _metadata_auto_create(ctx: Ctx) -> Any:
    """The first Metadata answer for a topic it auto-creates: Kafka creates it asynchronously
    and answers UNKNOWN_TOPIC_OR_PARTITION (clients ask again)."""
    auto = "interop-err-auto-created"
    first = ctx.raw.metadata(auto, auto_create=True)
    md = ctx.raw.wait_for_leaders(auto)
    return {
        "first-answer": [(t.name, error_name(t.error_code)) for t in first.topics],
        "partitions": [len(t.partitions) for t in md.topics],
    }


# -- the tests --------------------------------------------------------------------------------

#: Known rafka differences by case name: an ``xfail(strict=True)`` with the diagnosis.
RAFKA_BUGS: dict[str, str] = {
    "produce-corrupt-compressed-payload": (
        "rafka difference: a batch with a right CRC over gzip data that does not decompress gets "
        "CORRUPT_MESSAGE from rafka, UNKNOWN_SERVER_ERROR from Kafka (its decompression "
        "KafkaException is not an ApiException)"
    ),
    "produce-compressed-non-consecutive-offset-deltas": (
        "rafka difference: a compressed batch whose inner offset deltas are not 0..n-1 gets "
        "INVALID_RECORD from rafka, UNKNOWN_SERVER_ERROR from Kafka 4.1 (rebuilding it, its "
        "LogValidator reads a key its skip-key iterator did not keep: "
        "UnsupportedOperationException 'key is skipped in PartialDefaultRecord'); neither "
        "stores it"
    ),
    "metadata-auto-create": (
        "rafka difference: the Metadata request that auto-creates a topic is answered with the "
        "new topic (NONE) at once; Kafka creates it asynchronously and answers "
        "UNKNOWN_TOPIC_OR_PARTITION first (clients retry): handlers/metadata.py"
    ),
}


class Observed:
    """Each case's observation per target, computed once."""

    def __init__(self, targets: Mapping[str, Target]) -> None:
        self.targets = targets
        self._ctx: dict[str, Ctx] = {}
        self._memo = Memo()

    def ctx(self, target: str) -> Ctx:
        def setup() -> Ctx:
            t = self.targets[target]
            _setup(t)
            ctx = Ctx(t, RawClient(t.bootstrap), now_ms())
            self._ctx[target] = ctx
            return ctx

        ctx: Ctx = self._memo.get(("setup", target), setup)
        return ctx

    def get(self, name: str, target: str) -> Any:
        return self._memo.get((name, target), lambda: CASES[name][1](self.ctx(target)))

    def close(self) -> None:
        for ctx in self._ctx.values():
            ctx.raw.close()


@pytest.fixture(scope="module")
def observed(targets: Mapping[str, Target]) -> Iterator[Observed]:
    obs = Observed({k: v for k, v in targets.items() if k in ("kafka", "rafka")})
    try:
        yield obs
    finally:
        obs.close()


def _params() -> list[Any]:
    out = []
    for name in CASES:
        for target in ("kafka", "rafka"):
            reason = RAFKA_BUGS.get(name) if target == "rafka" else None
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(pytest.param(name, target, marks=marks, id=f"{name}-{target}"))
    return out


@pytest.mark.parametrize(("case_name", "target"), _params())
def test_error_parity(observed: Observed, case_name: str, target: str) -> None:
    expected, _ = CASES[case_name]
    got = observed.get(case_name, target)
    if target == "kafka":
        assert expected in repr(got), f"Kafka no longer answers {expected}: {got}"
    else:
        assert got == observed.get(case_name, "kafka")


# -- producing to a missing topic with auto-creation off --------------------------------------


def _missing_topic_obs(target: Target) -> Any:
    name = "interop-err-missing"
    out: dict[str, Any] = {}
    with RawClient(target.bootstrap) as raw:
        for version in (3, 9, 11, 12):
            r = raw.produce(name, 0, build_batch([(now_ms(), b"k", b"v")]), version=version)
            out[f"produce-v{version}"] = (error_name(r.error_code), r.base_offset)
        for version in (4, 9, 12):
            md = raw.metadata(name, auto_create=True, version=version)
            out[f"metadata-v{version}"] = [(t.name, error_name(t.error_code)) for t in md.topics]
        out["fetch"] = error_name(raw.fetch(name, 0, 0).error_code)
        out["list-offsets"] = error_name(raw.list_offsets(name, 0, -1).error_code)
    return out


@pytest.mark.parametrize("target", ["kafka", "rafka"])
def test_missing_topic_with_auto_create_off(
    noauto_targets: Mapping[str, Target], target: str
) -> None:
    got = _missing_topic_obs(noauto_targets[target])
    assert got["produce-v12"] == ("UNKNOWN_TOPIC_OR_PARTITION", -1)
    assert got["metadata-v12"] == [("interop-err-missing", "UNKNOWN_TOPIC_OR_PARTITION")]
    if target != "kafka":
        assert got == _missing_topic_obs(noauto_targets["kafka"])

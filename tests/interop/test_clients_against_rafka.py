"""Real Kafka clients against rafka, judged by what the same clients see from Apache Kafka.

Every scenario runs on three targets (see ``conftest.py``): the Apache Kafka reference broker,
a one-broker rafka cluster and a three-broker rafka cluster (replication factor 3), with each
client peer (kafka-clients, franz-go, confluent-kafka, kafka-python, aiokafka):

* round trip: each client produces keyed and unkeyed records with headers, a null value, an
  empty value, explicit old CreateTimes and a 1 MB value under every compression codec (one
  partition per client and codec), and every client consumes every partition back: the same
  records, in order, at the acknowledged offsets, with the acknowledged timestamps;
* what is on the wire: the batches each producer left (codec, idempotence, sequences) as a raw
  Fetch returns them, compared between rafka and Kafka;
* ``message.timestamp.type=LogAppendTime``: the broker's time replaces the producer's;
* Java's producer with no options at all (idempotent, acks=all, murmur2 partitioner);
* topic administration and client-visible errors: creating topics, creating one that exists,
  invalid configs, a record over ``max.message.bytes``, consuming past the end, producing to a
  missing topic with auto-creation off.

Expectations are absolute (what was produced) and relative (the same observation from Kafka).
Where rafka is known to differ, the case is marked ``xfail(strict=True)`` with the diagnosis in
:data:`RAFKA_BUGS`, so a fix shows up as an XPASS to remove the mark.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from tests.interop.conftest import TARGETS, Target
from tests.interop.raw import RawClient, batch_headers, leader_bootstrap
from tests.interop.scenarios import (
    Memo,
    Outcome,
    consumed_view,
    error_names,
    now_ms,
    run_all,
)
from tests.peers.clients import (
    ConsumedRecord,
    ConsumeResult,
    DriverClient,
    PeerClient,
    ProduceResult,
    Record,
    generated_records,
)
from tests.peers.kafka_fixtures import CLIENT_NAMES

CODECS: tuple[str, ...] = ("none", "gzip", "snappy", "lz4", "zstd")
CODEC_IDS = {name: i for i, name in enumerate(CODECS)}  # the batch attribute bits

#: A "1 MB" value: under every client's default maximum request (librdkafka's is 1,000,000
#: bytes for the whole message set, so producers get max_request_size=1 MiB) and under the
#: broker's default max.message.bytes (1 MiB + 12) even after a codec's overhead: random bytes
#: do not compress.
BIG_VALUE = random.Random(20240611).randbytes(1_000_000)
MAX_REQUEST = 1024 * 1024

#: Slack for comparing a client's clock with a broker's timestamps (same machine).
CLOCK_SLACK_MS = 2_000

DAY_MS = 86_400_000

#: rafka bugs these scenarios show, by (test, target, client) (``"*"`` matches any). Each is an
#: ``xfail(strict=True)``: when rafka is fixed the test XPASSes and the entry must go.
RAFKA_BUGS: dict[tuple[str, str, str], str] = {}


def rafka_bug(test: str, target: str, client: str) -> str | None:
    for (t, tg, c), reason in RAFKA_BUGS.items():
        if t == test and tg in (target, "*") and c in (client, "*"):
            return reason
    return None


def params(test: str, *dims: tuple[str, ...]) -> list[Any]:
    """pytest params over targets x ``dims`` (the first dim is the client), xfail where
    :data:`RAFKA_BUGS` says so."""
    import itertools

    out = []
    for combo in itertools.product(TARGETS, *dims):
        target = combo[0]
        client = combo[1] if len(combo) > 1 else "*"
        reason = None if target == "kafka" else rafka_bug(test, target, client)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(*combo, marks=marks, id="-".join(combo)))
    return out


def consumer_options(client: str) -> dict[str, Any]:
    """Consumer settings that make a broker failure show quickly rather than after a client's
    default request timeout (aiokafka's and kafka-python's are 40 s and 30 s)."""
    if client in ("aiokafka", "kafka-python"):
        return {"config": {"request_timeout_ms": 8_000}}
    return {}


def _available(peer_client: Callable[[str], PeerClient]) -> dict[str, PeerClient]:
    """The client peers this machine has (a missing one skips only its own tests; in CI
    ``peer_client`` fails instead)."""
    clients = {}
    for name in CLIENT_NAMES:
        try:
            clients[name] = peer_client(name)
        except pytest.skip.Exception:
            continue
    return clients


class Scenarios:
    """Lazily run, cached scenario results per (scenario, target, ...) key, so a rafka test
    can compare with the Kafka run of the same scenario whichever test ran first."""

    def __init__(
        self, targets: Mapping[str, Target], peer_client: Callable[[str], PeerClient]
    ) -> None:
        self.targets = targets
        self.peer_client = peer_client
        self.clients = _available(peer_client)
        self._memo = Memo()

    def client(self, name: str) -> PeerClient:
        return self.peer_client(name)  # skips (fails in CI) when unavailable

    def cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        return self._memo.get(key, compute)


@pytest.fixture(scope="module")
def scenarios(targets: Mapping[str, Target], peer_client: Callable[[str], PeerClient]) -> Scenarios:
    return Scenarios(targets, peer_client)


# -- round trip -------------------------------------------------------------------------------

ROUNDTRIP_TOPIC = "interop-roundtrip"


def rt_partition(client: str, codec: str) -> int:
    return CLIENT_NAMES.index(client) * len(CODECS) + CODECS.index(codec)


def roundtrip_records(client: str, partition: int, base_ts: int) -> list[Record]:
    """Keyed and unkeyed records, headers (empty, duplicate, non-ASCII, null where the client
    can send one), a null value, an empty value, explicit old CreateTimes and a 1 MB value."""
    null_header = None if client != "kafka-python" else b""  # kafka-python cannot send None
    records = [
        Record(b"key-0", b"value-0", (("h1", b"a"), ("h2", b"b"))),
        Record(None, b"unkeyed-1", (("h1", b"x"),)),
        Record(b"key-2", None, (("tombstone", b"yes"),)),
        Record(b"key-3", b"", (("empty", b""), ("dup", b"1"), ("dup", b"2"))),
        Record(b"key-4", b"v4", (("null", null_header), ("ключ", "значение".encode()))),
        Record(b"key-5", bytes(range(256)) * 40, timestamp=base_ts - 3 * DAY_MS),
        Record(None, b"unkeyed-6", timestamp=base_ts - DAY_MS),
        Record(b"key-7", BIG_VALUE, (("big", b"1"),)),
        Record(b"key-8", b"after-big"),
    ]
    return [replace(r, partition=partition) for r in records]


@dataclass
class RoundTrip:
    target: Target
    records: dict[tuple[str, str], list[Record]] = field(default_factory=dict)
    produced: dict[tuple[str, str], Outcome] = field(default_factory=dict)


def _run_roundtrip(scn: Scenarios, target: Target) -> RoundTrip:
    rt = RoundTrip(target)
    with RawClient(target.bootstrap) as raw:
        result = raw.create_topic(
            ROUNDTRIP_TOPIC,
            len(CLIENT_NAMES) * len(CODECS),
            target.replication_factor,
            {"message.timestamp.type": "CreateTime"},
        )
        assert result.error_code == 0, result
        raw.wait_for_leaders(ROUNDTRIP_TOPIC)
    base_ts = now_ms()
    jobs: dict[tuple[str, str], Callable[[], Any]] = {}
    for name, client in scn.clients.items():
        for codec in CODECS:
            records = roundtrip_records(name, rt_partition(name, codec), base_ts)
            rt.records[(name, codec)] = records
            jobs[(name, codec)] = _producer(client, target, records, codec)
    rt.produced = run_all(jobs)
    return rt


def _producer(
    client: PeerClient, target: Target, records: list[Record], codec: str
) -> Callable[[], ProduceResult]:
    def produce() -> ProduceResult:
        return client.produce(
            target.bootstrap,
            ROUNDTRIP_TOPIC,
            records,
            compression=codec,
            max_request_size=MAX_REQUEST,
            timeout=30,
        )

    return produce


def roundtrip(scn: Scenarios, target: str) -> RoundTrip:
    rt: RoundTrip = scn.cached(
        ("roundtrip", target), lambda: _run_roundtrip(scn, scn.targets[target])
    )
    return rt


def _check_deliveries(records: list[Record], outcome: Outcome) -> None:
    result: ProduceResult = outcome.get()
    result.check()
    assert [d.index for d in result.deliveries] == list(range(len(records)))
    assert [d.partition for d in result.deliveries] == [r.partition for r in records]
    assert [d.offset for d in result.deliveries] == list(range(len(records)))
    for record, d in zip(records, result.deliveries, strict=True):
        assert d.timestamp is not None
        if record.timestamp is not None:
            assert d.timestamp == record.timestamp, (record, d)
        else:
            low, high = outcome.started_ms - CLOCK_SLACK_MS, outcome.ended_ms + CLOCK_SLACK_MS
            assert low <= d.timestamp <= high, (d, outcome)


@pytest.mark.parametrize(("target", "client", "codec"), params("produce", CLIENT_NAMES, CODECS))
def test_roundtrip_produce(scenarios: Scenarios, target: str, client: str, codec: str) -> None:
    scenarios.client(client)
    rt = roundtrip(scenarios, target)
    _check_deliveries(rt.records[(client, codec)], rt.produced[(client, codec)])


def _expected(rt: RoundTrip) -> dict[int, list[tuple[Record, int, int]]]:
    """Per partition: (record, offset, timestamp) of every acknowledged record."""
    out: dict[int, list[tuple[Record, int, int]]] = {}
    for key, records in rt.records.items():
        outcome = rt.produced[key]
        if outcome.exception is not None:
            continue
        for record, d in zip(records, outcome.value.deliveries, strict=True):
            if d.ok:
                out.setdefault(d.partition, []).append((record, d.offset, d.timestamp))
    return out


def _consume_roundtrip(scn: Scenarios, target: str, consumer: str) -> Outcome:
    def compute() -> Outcome:
        rt = roundtrip(scn, target)
        client = scn.client(consumer)
        jobs = {
            0: lambda: client.consume(
                rt.target.bootstrap,
                ROUNDTRIP_TOPIC,
                partitions=list(range(len(CLIENT_NAMES) * len(CODECS))),
                timeout=40,
                **consumer_options(consumer),
            )
        }
        return run_all(jobs)[0]

    outcome: Outcome = scn.cached(("roundtrip-consume", target, consumer), compute)
    return outcome


@pytest.mark.parametrize(("target", "consumer"), params("consume", CLIENT_NAMES))
def test_roundtrip_consume(scenarios: Scenarios, target: str, consumer: str) -> None:
    """Every client consumes every (producer, codec) partition back exactly."""
    scenarios.client(consumer)
    rt = roundtrip(scenarios, target)
    result: ConsumeResult = _consume_roundtrip(scenarios, target, consumer).get()
    result.check()
    by_partition: dict[int, list[ConsumedRecord]] = {}
    for r in result.records:
        assert r.topic == ROUNDTRIP_TOPIC
        by_partition.setdefault(r.partition, []).append(r)
    expected = _expected(rt)
    assert sorted(by_partition) == sorted(expected)
    for partition, wanted in expected.items():
        got = by_partition[partition]
        assert [r.offset for r in got] == [offset for _, offset, _ in wanted], partition
        for r, (record, _, timestamp) in zip(got, wanted, strict=True):
            assert r.content == (record.key, record.value, record.headers), (partition, r.offset)
            assert (r.timestamp_type, r.timestamp) == ("CreateTime", timestamp), (partition, r)
    if target != "kafka":
        reference = _consume_roundtrip(scenarios, "kafka", consumer).get()
        assert consumed_view(result.records) == consumed_view(reference.records)


#: Fetch limits far below the records' sizes: every fetch must still make progress (a batch
#: larger than the limits is returned whole when it is the first one, KIP-74).
SMALL_FETCHES: dict[str, dict[str, Any]] = {
    "java": {"max_partition_fetch_bytes": 1024, "fetch_max_bytes": 4096},
    "franz-go": {"max_partition_fetch_bytes": 1024, "fetch_max_bytes": 4096},
    # librdkafka wants fetch.max.bytes >= message.max.bytes (here 4 KiB too)
    "confluent-kafka": {
        "config": {
            "max.partition.fetch.bytes": 1024,
            "fetch.max.bytes": 4096,
            "message.max.bytes": 4096,
        }
    },
    "kafka-python": {"config": {"max_partition_fetch_bytes": 1024, "fetch_max_bytes": 4096}},
    "aiokafka": {"config": {"max_partition_fetch_bytes": 1024, "fetch_max_bytes": 4096}},
}


def _consume_small_fetches(scn: Scenarios, target: str, consumer: str) -> Outcome:
    def compute() -> Outcome:
        rt = roundtrip(scn, target)
        client = scn.client(consumer)
        options = dict(SMALL_FETCHES[consumer])
        if "config" in options and consumer in ("kafka-python", "aiokafka"):
            options["config"] = {**options["config"], "request_timeout_ms": 8_000}
        partitions = [rt_partition(c, codec) for c in CLIENT_NAMES for codec in ("none", "zstd")]
        jobs = {
            0: lambda: client.consume(
                rt.target.bootstrap, ROUNDTRIP_TOPIC, partitions=partitions, timeout=40, **options
            )
        }
        return run_all(jobs)[0]

    outcome: Outcome = scn.cached(("roundtrip-small-fetches", target, consumer), compute)
    return outcome


@pytest.mark.parametrize(("target", "consumer"), params("small-fetches", CLIENT_NAMES))
def test_roundtrip_consume_small_fetches(scenarios: Scenarios, target: str, consumer: str) -> None:
    """With fetch limits of 1 KiB per partition and 4 KiB per request, each client still reads
    the uncompressed and zstd partitions (1 MB values included) whole and in order."""
    scenarios.client(consumer)
    rt = roundtrip(scenarios, target)
    result: ConsumeResult = _consume_small_fetches(scenarios, target, consumer).get()
    result.check()
    expected = _expected(rt)
    got = {(r.partition, r.offset): r for r in result.records}
    for codec in ("none", "zstd"):
        for client in CLIENT_NAMES:
            for record, offset, _ in expected.get(rt_partition(client, codec), []):
                r = got.pop((rt_partition(client, codec), offset))
                assert r.content == (record.key, record.value, record.headers)
    assert not got
    if target != "kafka":
        reference = _consume_small_fetches(scenarios, "kafka", consumer).get()
        assert consumed_view(result.records) == consumed_view(reference.records)


def _wire_view(target: Target, client: str) -> list[tuple[Any, ...]]:
    """Per codec partition of ``client``: what the stored batches say about the producer."""
    view = []
    for codec in CODECS:
        partition = rt_partition(client, codec)
        bootstrap = leader_bootstrap(target.bootstrap, ROUNDTRIP_TOPIC, partition)
        with RawClient(bootstrap) as raw:
            data = raw.fetch_all(ROUNDTRIP_TOPIC, partition)
        headers = list(batch_headers(data))
        idempotent = {h.producer_id >= 0 for h in headers}
        view.append(
            (
                codec,
                sorted({h.compression for h in headers}),
                sorted({h.timestamp_type for h in headers}),
                sorted(idempotent),
                # an idempotent producer's sequence starts at 0 with offset 0 on a new partition
                all(h.base_sequence == h.base_offset for h in headers if h.producer_id >= 0),
                sum(h.record_count for h in headers),
                all(h.last_offset_delta == h.record_count - 1 for h in headers),
            )
        )
    return view


@pytest.mark.parametrize(("target", "client"), params("wire", CLIENT_NAMES))
def test_roundtrip_stored_batches(scenarios: Scenarios, target: str, client: str) -> None:
    """The batches each producer sent are stored as sent: codec, producer id and sequences."""
    scenarios.client(client)
    rt = roundtrip(scenarios, target)
    for codec in CODECS:
        rt.produced[(client, codec)].get().check()
    view = scenarios.cached(("wire", target, client), lambda: _wire_view(rt.target, client))
    for codec, compressions, types, *_ in view:
        # Producers other than kafka-clients send a batch that would not shrink uncompressed
        # (how records fall into batches depends on timing, so which ones varies).
        expected = [CODEC_IDS[codec]] if client == "java" else [0, CODEC_IDS[codec]]
        assert set(compressions) <= set(expected), (codec, compressions)
        assert types == ["CreateTime"]
    if target != "kafka":
        roundtrip(scenarios, "kafka")
        kafka_target = scenarios.targets["kafka"]
        reference = scenarios.cached(
            ("wire", "kafka", client), lambda: _wire_view(kafka_target, client)
        )
        without_codecs = [(v[0], *v[2:]) for v in view]
        assert without_codecs == [(v[0], *v[2:]) for v in reference]


# -- acks 0 and 1 -----------------------------------------------------------------------------

ACKS_TOPIC = "interop-acks"
ACKS = ("0", "1")


def acks_partition(client: str, acks: str) -> int:
    return CLIENT_NAMES.index(client) * len(ACKS) + ACKS.index(acks)


@dataclass
class AcksRun:
    produced: dict[tuple[str, str], Outcome]
    consumed: dict[str, Outcome]


def _run_acks(scn: Scenarios, target: Target) -> AcksRun:
    with RawClient(target.bootstrap) as raw:
        result = raw.create_topic(
            ACKS_TOPIC, len(CLIENT_NAMES) * len(ACKS), target.replication_factor
        )
        assert result.error_code == 0, result
        raw.wait_for_leaders(ACKS_TOPIC)
    jobs: dict[tuple[str, str], Callable[[], Any]] = {}
    for name, client in scn.clients.items():
        for acks in ACKS:
            records = generated_records(
                6, keyed=True, headers=1, partition=acks_partition(name, acks)
            )
            jobs[(name, acks)] = _acks_producer(client, target, records, acks)
    produced = run_all(jobs)
    consumers: dict[str, Callable[[], Any]] = {}
    for name, client in scn.clients.items():
        parts = [acks_partition(name, acks) for acks in ACKS]
        consumers[name] = _acks_consumer(client, target, parts, name)
    return AcksRun(produced, run_all(consumers))


def _acks_producer(
    client: PeerClient, target: Target, records: list[Record], acks: str
) -> Callable[[], ProduceResult]:
    return lambda: client.produce(
        target.bootstrap, ACKS_TOPIC, records, acks=acks, compression="lz4", timeout=20
    )


def _acks_consumer(
    client: PeerClient, target: Target, partitions: list[int], name: str
) -> Callable[[], ConsumeResult]:
    return lambda: client.consume(
        target.bootstrap, ACKS_TOPIC, partitions=partitions, timeout=20, **consumer_options(name)
    )


def _acks_view(run: AcksRun, client: str) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for acks in ACKS:
        produced: ProduceResult = run.produced[(client, acks)].get()
        # At acks=0 the broker sends no response, so a reported offset is the client's own
        # invention (kafka-python numbers records within whatever batches it happened to make,
        # Java and librdkafka say -1): compare only what the broker decided.
        view[acks] = [
            (d.partition, d.offset if acks != "0" else None, d.error) for d in produced.deliveries
        ]
    acked = acks_partition(client, "1")
    records = run.consumed[client].get().records
    view["consumed"] = consumed_view(r for r in records if r.partition == acked)
    return view


@pytest.mark.parametrize(("target", "client"), params("acks", CLIENT_NAMES))
def test_acks_zero_and_one(scenarios: Scenarios, target: str, client: str) -> None:
    """acks=0 (no response at all) and acks=1 producers: records arrive in order at the right
    offsets, and the client reports the same deliveries as from Kafka.

    With acks=0 a producer that closes its connection right after writing may lose the tail
    (the kernel resets a socket closed with unread data, and the broker drops what it had not
    read yet) -- from Kafka as from rafka -- so that partition must hold a prefix of the
    records, not necessarily all of them.
    """
    scenarios.client(client)
    run: AcksRun = scenarios.cached(
        ("acks", target), lambda: _run_acks(scenarios, scenarios.targets[target])
    )
    for acks in ACKS:
        produced: ProduceResult = run.produced[(client, acks)].get().check()
        if acks == "1":
            assert [d.offset for d in produced.deliveries] == list(range(6))
    result: ConsumeResult = run.consumed[client].get().check()
    records = generated_records(6, keyed=True, headers=1)
    for acks in ACKS:
        got = [r for r in result.records if r.partition == acks_partition(client, acks)]
        if acks == "1":
            assert len(got) == len(records)
        assert [r.offset for r in got] == list(range(len(got)))
        assert [r.content for r in got] == [
            (r.key, r.value, r.headers) for r in records[: len(got)]
        ]
    if target != "kafka":
        reference: AcksRun = scenarios.cached(
            ("acks", "kafka"), lambda: _run_acks(scenarios, scenarios.targets["kafka"])
        )
        assert _acks_view(run, client) == _acks_view(reference, client)


# -- LogAppendTime ----------------------------------------------------------------------------

LAT_TOPIC = "interop-log-append-time"
LAT_CODECS = ("none", "gzip")


def lat_partition(client: str, codec: str) -> int:
    return CLIENT_NAMES.index(client) * len(LAT_CODECS) + LAT_CODECS.index(codec)


def lat_records(partition: int, base_ts: int) -> list[Record]:
    records = [
        Record(b"key-0", b"value-0", (("h", b"1"),)),
        Record(None, b"unkeyed-1"),
        Record(b"key-2", b"old-create-time", timestamp=base_ts - 2 * DAY_MS),
        Record(b"key-3", None),
    ]
    return [replace(r, partition=partition) for r in records]


@dataclass
class LogAppendTimeRun:
    target: Target
    records: dict[tuple[str, str], list[Record]] = field(default_factory=dict)
    produced: dict[tuple[str, str], Outcome] = field(default_factory=dict)
    consumed: dict[str, Outcome] = field(default_factory=dict)


def _run_lat(scn: Scenarios, target: Target) -> LogAppendTimeRun:
    run = LogAppendTimeRun(target)
    with RawClient(target.bootstrap) as raw:
        result = raw.create_topic(
            LAT_TOPIC,
            len(CLIENT_NAMES) * len(LAT_CODECS),
            target.replication_factor,
            {"message.timestamp.type": "LogAppendTime"},
        )
        assert result.error_code == 0, result
        raw.wait_for_leaders(LAT_TOPIC)
    base_ts = now_ms()
    jobs: dict[tuple[str, str], Callable[[], Any]] = {}
    for name, client in scn.clients.items():
        for codec in LAT_CODECS:
            records = lat_records(lat_partition(name, codec), base_ts)
            run.records[(name, codec)] = records
            jobs[(name, codec)] = _lat_producer(client, target, records, codec)
    run.produced = run_all(jobs)
    consumers: dict[str, Callable[[], Any]] = {}
    for name, client in scn.clients.items():
        parts = [lat_partition(name, codec) for codec in LAT_CODECS]
        consumers[name] = _lat_consumer(client, target, parts, name)
    run.consumed = run_all(consumers)
    return run


def _lat_producer(
    client: PeerClient, target: Target, records: list[Record], codec: str
) -> Callable[[], ProduceResult]:
    return lambda: client.produce(target.bootstrap, LAT_TOPIC, records, compression=codec)


def _lat_consumer(
    client: PeerClient, target: Target, partitions: list[int], name: str
) -> Callable[[], ConsumeResult]:
    return lambda: client.consume(
        target.bootstrap, LAT_TOPIC, partitions=partitions, timeout=30, **consumer_options(name)
    )


def _lat_view(run: LogAppendTimeRun, client: str) -> list[Any]:
    """Per codec: whether each delivery reported the stored timestamp, and what was consumed."""
    result: ConsumeResult = run.consumed[client].get()
    stored = {(r.partition, r.offset): r.timestamp for r in result.records}
    view: list[Any] = []
    for codec in LAT_CODECS:
        deliveries = run.produced[(client, codec)].get().deliveries
        view.append([stored.get((d.partition, d.offset)) == d.timestamp for d in deliveries])
    view.append(consumed_view(result.records))
    return view


@pytest.mark.parametrize(("target", "client"), params("log-append-time", CLIENT_NAMES))
def test_log_append_time(scenarios: Scenarios, target: str, client: str) -> None:
    """On a LogAppendTime topic the broker's clock stamps every record (one time per batch),
    whatever CreateTime the producer set; the consumer sees LogAppendTime."""
    scenarios.client(client)
    run: LogAppendTimeRun = scenarios.cached(
        ("lat", target), lambda: _run_lat(scenarios, scenarios.targets[target])
    )
    result: ConsumeResult = run.consumed[client].get()
    result.check()
    for codec in LAT_CODECS:
        outcome = run.produced[(client, codec)]
        produced: ProduceResult = outcome.get().check()
        records = run.records[(client, codec)]
        partition = lat_partition(client, codec)
        assert [d.offset for d in produced.deliveries] == list(range(len(records)))
        got = [r for r in result.records if r.partition == partition]
        assert [r.offset for r in got] == list(range(len(records)))
        for r, record in zip(got, records, strict=True):
            assert r.content == (record.key, record.value, record.headers)
            assert r.timestamp_type == "LogAppendTime"
            low, high = outcome.started_ms - CLOCK_SLACK_MS, outcome.ended_ms + CLOCK_SLACK_MS
            assert low <= r.timestamp <= high, (r, outcome)
    if target != "kafka":
        reference: LogAppendTimeRun = scenarios.cached(
            ("lat", "kafka"), lambda: _run_lat(scenarios, scenarios.targets["kafka"])
        )
        assert _lat_view(run, client) == _lat_view(reference, client)


# -- Java's default producer ------------------------------------------------------------------

JAVA_DEFAULT_TOPIC = "interop-java-default"


def _run_java_default(scn: Scenarios, target: Target) -> tuple[Any, ...]:
    java = scn.client("java")
    with RawClient(target.bootstrap) as raw:
        assert raw.create_topic(JAVA_DEFAULT_TOPIC, 3, target.replication_factor).error_code == 0
        raw.wait_for_leaders(JAVA_DEFAULT_TOPIC)
    records = generated_records(30, keyed=True, headers=1)
    produced = java.produce(target.bootstrap, JAVA_DEFAULT_TOPIC, records)  # no options at all
    consumed = java.consume(target.bootstrap, JAVA_DEFAULT_TOPIC)
    batches = []
    for partition in range(3):
        bootstrap = leader_bootstrap(target.bootstrap, JAVA_DEFAULT_TOPIC, partition)
        with RawClient(bootstrap) as raw:
            batches += list(batch_headers(raw.fetch_all(JAVA_DEFAULT_TOPIC, partition)))
    return records, produced, consumed, batches


@pytest.mark.parametrize("target", [p.values[0] for p in params("java-default")])
def test_java_default_producer(scenarios: Scenarios, target: str) -> None:
    """kafka-clients' producer unchanged (idempotent, acks=all, murmur2 keys) works."""
    records, produced, consumed, batches = scenarios.cached(
        ("java-default", target), lambda: _run_java_default(scenarios, scenarios.targets[target])
    )
    produced.check()
    consumed.check()
    assert batches and all(b.producer_id >= 0 and b.producer_epoch >= 0 for b in batches)
    assert all(b.base_sequence == b.base_offset for b in batches)
    placed = {(d.partition, d.offset): i for i, d in enumerate(produced.deliveries)}
    assert len(consumed.records) == len(records)
    for r in consumed.records:
        record = records[placed[(r.partition, r.offset)]]
        assert r.content == (record.key, record.value, record.headers)
    if target != "kafka":
        _, ref_produced, ref_consumed, _ = scenarios.cached(
            ("java-default", "kafka"),
            lambda: _run_java_default(scenarios, scenarios.targets["kafka"]),
        )
        where = [(d.partition, d.offset) for d in produced.deliveries]
        assert where == [(d.partition, d.offset) for d in ref_produced.deliveries]
        assert consumed_view(consumed.records) == consumed_view(ref_consumed.records)


# -- topic administration and client-visible errors -------------------------------------------

BAD_CONFIGS: dict[str, dict[str, str]] = {
    "retention-not-a-number": {"retention.ms": "abc"},
    "bogus-cleanup-policy": {"cleanup.policy": "bogus"},
}


def _created_topic(client: str) -> str:
    return f"interop-created-{client}"


def _run_admin(scn: Scenarios, target: Target) -> dict[tuple[str, str], Any]:
    rf = target.replication_factor
    first: dict[tuple[str, str], Callable[[], Any]] = {}
    for name, client in scn.clients.items():
        topic = _created_topic(name)
        configs = {"retention.ms": "3600000", "cleanup.policy": "compact"}
        first[(name, "create")] = _creator(client, target, topic, rf, configs)
        for case, bad in BAD_CONFIGS.items():
            first[(name, case)] = _creator(client, target, f"{topic}-{case}", rf, bad)
    outcomes: dict[tuple[str, str], Any] = dict(run_all(first))
    again = {
        (name, "exists"): _creator(client, target, _created_topic(name), rf, {})
        for name, client in scn.clients.items()
    }
    outcomes.update(run_all(again))
    with RawClient(target.bootstrap) as raw:
        for name in scn.clients:
            md = raw.metadata(
                _created_topic(name), *[f"{_created_topic(name)}-{c}" for c in BAD_CONFIGS]
            )
            outcomes[(name, "metadata")] = [
                (
                    t.name,
                    t.error_code,
                    sorted(
                        (p.partition_index, len(p.replica_nodes), p.leader_id >= 0)
                        for p in t.partitions
                    ),
                )
                for t in md.topics
            ]
    return outcomes


def _creator(
    client: PeerClient, target: Target, topic: str, rf: int, configs: dict[str, str]
) -> Callable[[], Any]:
    return lambda: client.create_topic(
        target.bootstrap, topic, partitions=3, replication_factor=rf, configs=configs, timeout=20
    )


def _admin_view(outcomes: dict[tuple[str, str], Any], client: str) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for case in ("create", "exists", *BAD_CONFIGS):
        result = outcomes[(client, case)].get()
        view[case] = result.error.error if result.error is not None else "NONE"
    view["metadata"] = outcomes[(client, "metadata")]
    return view


@pytest.mark.parametrize(("target", "client"), params("admin", CLIENT_NAMES))
def test_create_topics(scenarios: Scenarios, target: str, client: str) -> None:
    """Each client's admin API creates a topic (3 partitions, configs); creating it again gives
    TOPIC_ALREADY_EXISTS and invalid configs INVALID_CONFIG, as from Kafka."""
    scenarios.client(client)
    outcomes = scenarios.cached(
        ("admin", target), lambda: _run_admin(scenarios, scenarios.targets[target])
    )
    view = _admin_view(outcomes, client)
    rf = scenarios.targets[target].replication_factor
    assert view["create"] == "NONE"
    assert view["exists"] == "TOPIC_ALREADY_EXISTS"
    for case in BAD_CONFIGS:
        assert view[case] == "INVALID_CONFIG", case
    name = _created_topic(client)
    assert view["metadata"][0] == (name, 0, [(p, rf, True) for p in range(3)])
    assert [t[1] for t in view["metadata"][1:]] == [3] * len(BAD_CONFIGS)  # not created
    created = outcomes[(client, "create")].get()
    if isinstance(scenarios.client(client), DriverClient):
        assert created.topic_id  # Java and franz-go report the new topic's id
    if target != "kafka":
        ref = scenarios.cached(
            ("admin", "kafka"), lambda: _run_admin(scenarios, scenarios.targets["kafka"])
        )
        ref_view = _admin_view(ref, client)
        ref_view["metadata"] = [
            (t, e, [(p, rf, ok) for p, _, ok in parts]) for t, e, parts in ref_view["metadata"]
        ]
        assert view == ref_view


SMALL_MAX_TOPIC = "interop-small-max-message"
SHORT_TOPIC = "interop-short"
OVERSIZED_VALUE = random.Random(7).randbytes(4000)


def _run_client_errors(scn: Scenarios, target: Target) -> dict[tuple[str, str], Outcome]:
    from tests.interop.raw import build_batch

    rf = target.replication_factor
    with RawClient(target.bootstrap) as raw:
        created = raw.create_topic(SMALL_MAX_TOPIC, 1, rf, {"max.message.bytes": "1024"})
        assert created.error_code == 0, created
        assert raw.create_topic(SHORT_TOPIC, 1, rf).error_code == 0
        raw.wait_for_leaders(SHORT_TOPIC)
        raw.wait_for_leaders(SMALL_MAX_TOPIC)
    with RawClient(leader_bootstrap(target.bootstrap, SHORT_TOPIC, 0)) as raw:
        batch = build_batch([(now_ms(), b"k", f"v{i}".encode()) for i in range(3)])
        raw.produce_ok(SHORT_TOPIC, 0, batch)
    jobs: dict[tuple[str, str], Callable[[], Any]] = {}
    for name, client in scn.clients.items():
        jobs[(name, "oversized")] = _oversized_producer(client, target)
        jobs[(name, "out-of-range")] = _out_of_range_consumer(client, target, name)
    return run_all(jobs)


def _oversized_producer(client: PeerClient, target: Target) -> Callable[[], ProduceResult]:
    record = Record(b"key", OVERSIZED_VALUE, partition=0)
    return lambda: client.produce(
        target.bootstrap, SMALL_MAX_TOPIC, [record], compression="none", timeout=15
    )


def _out_of_range_consumer(
    client: PeerClient, target: Target, name: str
) -> Callable[[], ConsumeResult]:
    return lambda: client.consume(
        target.bootstrap,
        SHORT_TOPIC,
        partitions=[0],
        offset=10,
        count=1,
        timeout=6,
        **consumer_options(name),
    )


def _client_errors_view(outcomes: dict[tuple[str, str], Outcome], client: str) -> dict[str, Any]:
    oversized: ProduceResult = outcomes[(client, "oversized")].get()
    out_of_range: ConsumeResult = outcomes[(client, "out-of-range")].get()
    return {
        "oversized": error_names(oversized.errors),
        "out-of-range": (len(out_of_range.records), error_names(out_of_range.errors)),
    }


@pytest.mark.parametrize(("target", "client"), params("client-errors", CLIENT_NAMES))
def test_client_visible_errors(scenarios: Scenarios, target: str, client: str) -> None:
    """A record over the topic's max.message.bytes fails with MESSAGE_TOO_LARGE; a consumer
    positioned past the end (auto.offset.reset none) gets OFFSET_OUT_OF_RANGE -- as each
    client reports them from Kafka (franz-go clamps an exact offset into the log instead)."""
    scenarios.client(client)
    outcomes = scenarios.cached(
        ("client-errors", target), lambda: _run_client_errors(scenarios, scenarios.targets[target])
    )
    view = _client_errors_view(outcomes, client)
    assert view["oversized"] == ["MESSAGE_TOO_LARGE"]
    if client != "franz-go":
        assert view["out-of-range"] == (0, ["OFFSET_OUT_OF_RANGE"])
    if target != "kafka":
        ref = scenarios.cached(
            ("client-errors", "kafka"),
            lambda: _run_client_errors(scenarios, scenarios.targets["kafka"]),
        )
        assert view == _client_errors_view(ref, client)


MISSING_TOPIC = "interop-missing-topic"


def _run_missing(scn: Scenarios, target: Target) -> dict[tuple[str, str], Outcome]:
    jobs: dict[tuple[str, str], Callable[[], Any]] = {}
    for name, client in scn.clients.items():
        jobs[(name, "produce")] = _missing_producer(client, target)
        jobs[(name, "consume")] = _missing_consumer(client, target, name)
    outcomes = run_all(jobs, parallel=len(jobs))  # every call waits out its timeout
    with RawClient(target.bootstrap) as raw:
        md = raw.metadata(MISSING_TOPIC)
    outcomes[("*", "metadata")] = Outcome([(t.name, t.error_code) for t in md.topics], None, 0, 0)
    return outcomes


def _missing_producer(client: PeerClient, target: Target) -> Callable[[], ProduceResult]:
    return lambda: client.produce(target.bootstrap, MISSING_TOPIC, [Record(b"k", b"v")], timeout=4)


def _missing_consumer(client: PeerClient, target: Target, name: str) -> Callable[[], ConsumeResult]:
    return lambda: client.consume(
        target.bootstrap, MISSING_TOPIC, count=1, timeout=4, **consumer_options(name)
    )


def _missing_view(outcomes: dict[tuple[str, str], Outcome], client: str) -> dict[str, Any]:
    produced: ProduceResult = outcomes[(client, "produce")].get()
    consumed: ConsumeResult = outcomes[(client, "consume")].get()
    return {
        "produce": error_names(produced.errors),
        "consume": (len(consumed.records), error_names(consumed.errors)),
        "metadata": outcomes[("*", "metadata")].get(),
    }


@pytest.mark.parametrize(
    ("target", "client"),
    [p for p in params("missing-topic", CLIENT_NAMES) if p.values[0] != "rafka-3"],
)
def test_missing_topic_without_auto_create(
    noauto_targets: Mapping[str, Target],
    scenarios: Scenarios,
    target: str,
    client: str,
) -> None:
    """With auto.create.topics.enable=false, producing to or consuming from a missing topic
    fails as each client reports it from Kafka, and the topic is not created."""
    scenarios.client(client)
    outcomes = scenarios.cached(
        ("missing", target), lambda: _run_missing(scenarios, noauto_targets[target])
    )
    view = _missing_view(outcomes, client)
    assert view["metadata"] == [(MISSING_TOPIC, 3)]  # UNKNOWN_TOPIC_OR_PARTITION
    assert view["produce"], "producing to a missing topic cannot succeed"
    assert view["consume"][0] == 0 and view["consume"][1]
    if target != "kafka":
        ref = scenarios.cached(
            ("missing", "kafka"), lambda: _run_missing(scenarios, noauto_targets["kafka"])
        )
        assert view == _missing_view(ref, client)


# -- the topic's compression.type -------------------------------------------------------------

TOPIC_CODECS = ("uncompressed", "gzip", "snappy", "lz4", "zstd", "producer")


def _compression_topic(codec: str) -> str:
    return f"interop-compression-type-{codec}"


def _run_topic_compression(scn: Scenarios, target: Target) -> dict[str, Any]:
    """Per topic compression.type: a gzip batch sent raw and confluent-kafka's uncompressed
    records, then what is stored (codec per batch) and what kafka-python consumes."""
    from rafka.protocol.records.compression import Compression
    from tests.interop.raw import build_batch

    base = now_ms()
    with RawClient(target.bootstrap) as raw:
        for codec in TOPIC_CODECS:
            name = _compression_topic(codec)
            result = raw.create_topic(
                name, 1, target.replication_factor, {"compression.type": codec}
            )
            assert result.error_code == 0, result
            raw.wait_for_leaders(name)
    out: dict[str, Any] = {}
    confluent = scn.client("confluent-kafka")
    kafka_python = scn.client("kafka-python")
    for codec in TOPIC_CODECS:
        name = _compression_topic(codec)
        gzip = build_batch(
            [(base + i, f"k{i}".encode(), f"value-{i}".encode() * 20) for i in range(3)],
            compression=Compression.GZIP,
        )
        with RawClient(leader_bootstrap(target.bootstrap, name, 0)) as raw:
            raw.produce_ok(name, 0, gzip)
        records = [
            replace(r, timestamp=base + 10) for r in generated_records(4, keyed=True, headers=1)
        ]
        produced = confluent.produce(target.bootstrap, name, records, compression="none")
        with RawClient(leader_bootstrap(target.bootstrap, name, 0)) as raw:
            stored = [
                (h.base_offset, h.record_count, h.compression)
                for h in batch_headers(raw.fetch_all(name, 0))
            ]
        consumed = kafka_python.consume(target.bootstrap, name, **consumer_options("kafka-python"))
        out[codec] = (produced, stored, consumed)
    return out


def _per_offset(stored: list[tuple[int, int, int]]) -> list[int]:
    return [codec for _, count, codec in stored for _ in range(count)]


@pytest.mark.parametrize("target", [p.values[0] for p in params("topic-compression")])
def test_topic_compression_type(scenarios: Scenarios, target: str) -> None:
    """A topic's compression.type re-compresses what producers send (gzip, or nothing) unless
    it is ``producer``; offsets and records come out the same."""
    runs = scenarios.cached(
        ("topic-compression", target),
        lambda: _run_topic_compression(scenarios, scenarios.targets[target]),
    )
    expect_codec = {"uncompressed": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
    for codec, (produced, stored, consumed) in runs.items():
        produced.check()
        consumed.check()
        assert [r.offset for r in consumed.records] == list(range(7)), codec
        codecs = [c for _, _, c in stored]
        if codec == "producer":
            assert codecs[0] == 1 and set(codecs[1:]) == {0}
        else:
            assert set(codecs) == {expect_codec[codec]}, (codec, stored)
        assert sum(n for _, n, _ in stored) == 7
    if target != "kafka":
        ref = scenarios.cached(
            ("topic-compression", "kafka"),
            lambda: _run_topic_compression(scenarios, scenarios.targets["kafka"]),
        )
        for codec in TOPIC_CODECS:
            _, stored, consumed = runs[codec]
            _, ref_stored, ref_consumed = ref[codec]
            # the codec each offset is stored with (how a producer batches varies with timing)
            assert _per_offset(stored) == _per_offset(ref_stored), codec
            assert consumed_view(consumed.records) == consumed_view(ref_consumed.records), codec

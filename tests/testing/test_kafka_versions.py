"""Emulating older Apache Kafka releases: ``Cluster(kafka_version="2.8")``.

The table (``rafka/cluster/kafka_versions.py``) is generated from each release's kafka-clients
jar by ``tools/kafka_versions.py``; here it is spot-checked against the versions Kafka's
protocol guide lists per release, compared with the live 4.1.1 reference broker, and driven by
real clients, which must negotiate the emulated release's versions.
"""

from __future__ import annotations

import socket
import struct
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import rafka
from rafka import errors
from rafka.cluster.emulation import KafkaRelease, release_lines
from rafka.cluster.request import RequestContext
from rafka.protocol import framing
from rafka.protocol.messages import (
    ApiVersionsRequest,
    ApiVersionsResponse,
    MetadataRequest,
    RequestHeader,
)
from tests.peers.kafka_broker import KafkaBroker

PRODUCE, FETCH, METADATA, API_VERSIONS = 0, 1, 3, 18
DESCRIBE_CLUSTER, CONSUMER_GROUP_HEARTBEAT, DESCRIBE_TOPIC_PARTITIONS = 60, 68, 75
UNSUPPORTED_VERSION = 35


def send(bootstrap: str, header: RequestHeader, request: Any) -> bytes | None:
    """One request on a new connection; the response frame, None if the broker closed it."""
    host, port = bootstrap.split(",")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(framing.encode_request(header, request))
        data = b""
        while len(data) < 4:
            chunk = s.recv(4 - len(data))
            if not chunk:
                return None
            data += chunk
        size = struct.unpack(">i", data)[0]
        data = b""
        while len(data) < size:
            chunk = s.recv(size - len(data))
            if not chunk:
                return None
            data += chunk
    return data


def api_versions(bootstrap: str, version: int = 3) -> ApiVersionsResponse:
    request = ApiVersionsRequest("rafka-test", "1.0")
    frame = send(bootstrap, RequestHeader(API_VERSIONS, version, 1, "t"), request)
    assert frame is not None
    response = framing.decode_response(frame, API_VERSIONS, version)[1]
    assert isinstance(response, ApiVersionsResponse)
    return response


def ranges(response: ApiVersionsResponse) -> dict[int, tuple[int, int]]:
    return {k.api_key: (k.min_version, k.max_version) for k in response.api_keys}


# ------------------------------------------------------------------------------- the table


#: Max versions the protocol guide of each release lists (kafka.apache.org/<release>/protocol).
KNOWN_MAX = {
    "2.0": {PRODUCE: 6, FETCH: 8, METADATA: 6, API_VERSIONS: 2},
    "2.1": {PRODUCE: 7, FETCH: 10, METADATA: 7},
    "2.4": {API_VERSIONS: 3, METADATA: 9},  # KIP-511: ApiVersions v3
    "2.8": {PRODUCE: 9, FETCH: 12, METADATA: 11, DESCRIBE_CLUSTER: 0},  # KIP-700, KIP-516
    "3.1": {FETCH: 13},  # topic ids in Fetch
    "3.7": {FETCH: 16, CONSUMER_GROUP_HEARTBEAT: 0},
    "3.9": {FETCH: 17, API_VERSIONS: 4},
    "4.1": {PRODUCE: 13, FETCH: 18, METADATA: 13},
}


@pytest.mark.parametrize("line", sorted(KNOWN_MAX))
def test_table_matches_kafka_protocol_guide(line: str) -> None:
    release = KafkaRelease.of(line)
    for key, max_version in KNOWN_MAX[line].items():
        assert release.api_versions[key][1] == max_version, (line, key)


def test_table_covers_every_line_and_knows_kip_896() -> None:
    lines = release_lines()
    assert lines[0] == "2.0" and lines[-1] == "4.1" and len(lines) == 21
    assert KafkaRelease.of("3.9").api_versions[FETCH][0] == 0
    assert KafkaRelease.of("4.0").api_versions[FETCH][0] == 4  # KIP-896 removed v0-3
    assert DESCRIBE_CLUSTER not in KafkaRelease.of("2.7").api_versions
    assert DESCRIBE_TOPIC_PARTITIONS not in KafkaRelease.of("3.7").api_versions
    assert KafkaRelease.of("2.8").features == {}  # ZooKeeper mode
    assert KafkaRelease.of("3.3").features == {"metadata.version": (1, 7)}


def test_versions_name_their_line() -> None:
    assert KafkaRelease.of("3.6.0").line == KafkaRelease.of("3.6").line == "3.6"
    assert KafkaRelease.of("3.6").release == "3.6.2"
    for bad in ("1.1", "4.2", "3", "three.six", "3.6.x"):
        with pytest.raises(ValueError, match="release line"):
            KafkaRelease.of(bad)


# ----------------------------------------------------------------------- emulating brokers


@pytest.fixture(scope="module")
def cluster_28() -> Iterator[rafka.Cluster]:
    with rafka.Cluster(listen=True, kafka_version="2.8") as cluster:
        yield cluster


def test_api_versions_are_capped(cluster_28: rafka.Cluster) -> None:
    response = api_versions(cluster_28.bootstrap_servers)
    ours = ranges(response)
    table = KafkaRelease.of("2.8").api_versions
    for key, (lo, hi) in ours.items():
        assert table[key][0] <= lo <= hi <= table[key][1], key
    assert ours[METADATA][1] == 11
    assert ours[PRODUCE] == (3, 9)  # rafka serves 3+; 2.8 had up to 9
    assert ours[API_VERSIONS] == (0, 3)
    assert ours[DESCRIBE_CLUSTER] == (0, 0)
    for hidden in (CONSUMER_GROUP_HEARTBEAT, DESCRIBE_TOPIC_PARTITIONS):
        assert hidden not in ours
    assert (response.supported_features, response.finalized_features) == ([], [])


def test_newer_api_versions_request_gets_unsupported_version(cluster_28: rafka.Cluster) -> None:
    frame = send(
        cluster_28.bootstrap_servers,
        RequestHeader(API_VERSIONS, 4, 7, "t"),
        ApiVersionsRequest("rafka-test", "1.0"),
    )
    assert frame is not None
    response = framing.decode_response(frame, API_VERSIONS, 0)[1]
    assert isinstance(response, ApiVersionsResponse)
    assert response.error_code == UNSUPPORTED_VERSION
    assert ranges(response)[API_VERSIONS] == (0, 3)


def test_request_above_the_release_is_refused(cluster_28: rafka.Cluster) -> None:
    # On the wire Kafka closes the connection on a version it does not serve.
    header = RequestHeader(METADATA, 12, 3, "t")
    assert send(cluster_28.bootstrap_servers, header, MetadataRequest(topics=[])) is None
    assert send(
        cluster_28.bootstrap_servers, RequestHeader(METADATA, 11, 4, "t"), MetadataRequest([])
    )
    # In process the broker raises UNSUPPORTED_VERSION.
    broker = cluster_28.brokers[1]
    ctx = RequestContext(METADATA, 12, 1, "t")
    with pytest.raises(errors.UnsupportedVersionError):
        cluster_28.portal.call(broker.handle, ctx, MetadataRequest(topics=[]))


def test_kraft_release_caps_features() -> None:
    with rafka.Cluster(listen=True, kafka_version="3.6") as cluster:
        response = api_versions(cluster.bootstrap_servers)
    assert [(f.name, f.min_version, f.max_version) for f in response.supported_features] == [
        ("metadata.version", 1, 14)
    ]
    assert [(f.name, f.max_version_level) for f in response.finalized_features] == [
        ("metadata.version", 14)
    ]


# ----------------------------------------------------------------------------- real clients


def test_kafka_python_negotiates_28(cluster_28: rafka.Cluster) -> None:
    kafka = pytest.importorskip("kafka")
    bootstrap = cluster_28.bootstrap_servers
    seen: set[tuple[int, int]] = set()
    broker = cluster_28.brokers[1]
    handle = broker.handle

    async def spy(ctx: RequestContext, request: Any) -> Any:
        seen.add((ctx.api_key, ctx.api_version))
        return await handle(ctx, request)

    broker.handle = spy  # type: ignore[method-assign]
    try:
        topic = f"kp-{uuid.uuid4().hex[:8]}"
        producer = kafka.KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        try:
            assert producer.config["api_version"][:2] == (2, 8)  # inferred from ApiVersions
            for i in range(3):
                producer.send(topic, key=b"k", value=b"v%d" % i).get(timeout=30)
        finally:
            producer.close()
        consumer = kafka.KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=3000)
        try:
            consumer.assign([kafka.TopicPartition(topic, 0)])
            consumer.seek_to_beginning()
            assert [r.value for r in consumer] == [b"v0", b"v1", b"v2"]
        finally:
            consumer.close()
    finally:
        del broker.handle
    table = KafkaRelease.of("2.8").api_versions
    assert {key for key, _ in seen} >= {PRODUCE, FETCH, METADATA}
    for key, version in seen:
        assert version <= table[key][1], (key, version)


#: The release kafka-python infers from each emulated release's ApiVersions: its own table of
#: which API versions each release introduced, an independent judge of ours. It cannot tell
#: apart lines that added no API version it looks at (2.5-2.6, 3.3-3.4, 3.6).
KAFKA_PYTHON_INFERS = {
    **{line: tuple(int(p) for p in line.split(".")) for line in release_lines()},
    "2.5": (2, 4),
    "2.6": (2, 4),
    "3.3": (3, 2),
    "3.4": (3, 2),
    "3.6": (3, 5),
}


def test_kafka_python_recognises_every_release() -> None:
    kafka = pytest.importorskip("kafka")
    with rafka.Cluster(listen=True) as cluster:
        broker = cluster.brokers[1]
        inferred = {}
        for line in release_lines():
            broker.kafka_release = KafkaRelease.of(line)
            producer = kafka.KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
            inferred[line] = producer.config["api_version"][:2]
            producer.close()
    assert inferred == KAFKA_PYTHON_INFERS


def test_confluent_kafka_round_trip_on_28(cluster_28: rafka.Cluster) -> None:
    confluent = pytest.importorskip("confluent_kafka")
    bootstrap = cluster_28.bootstrap_servers
    seen: set[tuple[int, int]] = set()
    broker = cluster_28.brokers[1]
    handle = broker.handle

    async def spy(ctx: RequestContext, request: Any) -> Any:
        seen.add((ctx.api_key, ctx.api_version))
        return await handle(ctx, request)

    broker.handle = spy  # type: ignore[method-assign]
    try:
        topic = f"ck-{uuid.uuid4().hex[:8]}"
        producer = confluent.Producer({"bootstrap.servers": bootstrap, "acks": "all"})
        for i in range(3):
            producer.produce(topic, key=b"k", value=b"v%d" % i)
        assert producer.flush(30) == 0
        consumer = confluent.Consumer(
            {"bootstrap.servers": bootstrap, "group.id": "ck", "enable.auto.commit": False}
        )
        try:
            consumer.assign([confluent.TopicPartition(topic, 0, 0)])
            values = []
            for _ in range(60):
                message = consumer.poll(0.5)
                if message is not None and message.error() is None:
                    values.append(message.value())
                if len(values) == 3:
                    break
        finally:
            consumer.close()
        assert values == [b"v0", b"v1", b"v2"]
    finally:
        del broker.handle
    table = KafkaRelease.of("2.8").api_versions
    used = {key: max(v for k, v in seen if k == key) for key, _ in seen}
    assert used[PRODUCE] <= 9 and used[FETCH] <= 12 and used[METADATA] <= 11
    for key, version in used.items():
        assert version <= table[key][1], (key, version)


# ------------------------------------------------------------------- the reference broker


@pytest.mark.java
def test_41_matches_the_reference_broker(kafka_broker: KafkaBroker) -> None:
    kafka = api_versions(kafka_broker.bootstrap_servers, 4)
    live = ranges(kafka)
    table = KafkaRelease.of("4.1").api_versions
    assert live == dict(table)
    supported = {f.name: (f.min_version, f.max_version) for f in kafka.supported_features}
    assert supported == dict(KafkaRelease.of("4.1").features)
    with rafka.Cluster(listen=True, kafka_version="4.1") as cluster:
        ours = ranges(api_versions(cluster.bootstrap_servers, 4))
    for key, (lo, hi) in ours.items():
        klo, khi = live[key]
        assert hi == khi and lo >= klo, key

"""ApiVersions: rafka advertises only what it serves, within what Apache Kafka 4.1.1 does."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest

import rafka
from rafka.protocol import framing
from rafka.protocol.messages import ApiVersionsRequest, ApiVersionsResponse, RequestHeader
from tests.peers.kafka_broker import KafkaBroker

#: Kafka 4.1.1 keeps advertising Produce v0-2 for old clients' sake although it removed them
#: (KIP-896); rafka advertises what it really serves.
KAFKA_ONLY_LOWER_VERSIONS = {0: 3}


def api_versions(bootstrap: str) -> ApiVersionsResponse:
    host, port = bootstrap.split(",")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        request = ApiVersionsRequest("rafka-test", "1.0")
        s.sendall(framing.encode_request(RequestHeader(18, 4, 1, "t"), request))
        size = struct.unpack(">i", s.recv(4))[0]
        data = b""
        while len(data) < size:
            data += s.recv(size - len(data))
    response = framing.decode_response(data, 18, 4)[1]
    assert isinstance(response, ApiVersionsResponse)
    return response


@pytest.fixture(scope="module")
def rafka_versions() -> Iterator[ApiVersionsResponse]:
    with rafka.Cluster(listen=True) as cluster:
        yield api_versions(cluster.bootstrap_servers)


def test_ranges_match_kafka(rafka_versions: ApiVersionsResponse, kafka_broker: KafkaBroker) -> None:
    kafka = {
        k.api_key: (k.min_version, k.max_version)
        for k in api_versions(kafka_broker.bootstrap_servers).api_keys
    }
    ours = {k.api_key: (k.min_version, k.max_version) for k in rafka_versions.api_keys}
    for key, (lo, hi) in ours.items():
        assert key in kafka, f"rafka advertises API {key}, which Kafka 4.1.1 does not"
        klo, khi = kafka[key]
        assert (lo, hi) == (max(klo, KAFKA_ONLY_LOWER_VERSIONS.get(key, klo)), khi), key


def test_features_match_kafka_where_finalized(
    rafka_versions: ApiVersionsResponse, kafka_broker: KafkaBroker
) -> None:
    kafka = api_versions(kafka_broker.bootstrap_servers)
    supported = {f.name: (f.min_version, f.max_version) for f in kafka.supported_features}
    assert {f.name: (f.min_version, f.max_version) for f in rafka_versions.supported_features} == (
        supported
    )
    finalized = {f.name for f in rafka_versions.finalized_features}
    assert "metadata.version" in finalized
    assert all(f.max_version_level > 0 for f in rafka_versions.finalized_features)

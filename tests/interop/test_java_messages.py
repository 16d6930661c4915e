"""rafka's encoders agree byte for byte with Apache Kafka's own serializer.

For every API, request and response, at its lowest, a middle and its highest version, random
messages are serialized by kafka-clients (the pinned release, through the Java peer) and by
rafka; the bytes must be identical, and rafka must decode Kafka's bytes to the same message.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rafka.protocol._message import Message
from rafka.protocol.messages import API_SPECS
from rafka.protocol.messages.request_header import RequestHeader
from rafka.protocol.messages.response_header import ResponseHeader
from tests.kafka_json import to_kafka_json
from tests.peers.java import JavaCodec
from tests.strategies import message_strategy


def _sample_versions(lo: int, hi: int) -> list[int]:
    return sorted({lo, (lo + hi) // 2, hi})


CASES = [
    pytest.param(getattr(spec, kind), version, id=f"{spec.name}{kind[:-6].title()}-v{version}")
    for spec in API_SPECS.values()
    if spec.module is not None
    for kind in ("request_class", "response_class")
    for version in _sample_versions(spec.min_version, spec.max_version)
] + [
    pytest.param(cls, v, id=f"{cls.__name__}-v{v}")
    for cls in (RequestHeader, ResponseHeader)
    for v in range(cls.MIN_VERSION, cls.MAX_VERSION + 1)
]


@pytest.mark.parametrize(("cls", "version"), CASES)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bytes_match_kafka(
    java_codec: JavaCodec, cls: type[Message], version: int, data: Any
) -> None:
    message = data.draw(message_strategy(cls, version, unknown_tags=False))
    ours = message.encode(version)
    theirs = java_codec.encode_message(cls.NAME, version, to_kafka_json(message, version))
    assert ours.hex() == theirs.hex()
    assert cls.decode(theirs, version) == message


def test_same_versions_as_kafka(java_codec: JavaCodec) -> None:
    """The generated classes cover exactly the versions kafka-clients knows."""
    for spec in API_SPECS.values():
        if spec.module is None:
            continue
        for cls in (spec.request_class, spec.response_class):
            assert java_codec.message_versions(cls.NAME) == (cls.MIN_VERSION, cls.MAX_VERSION)

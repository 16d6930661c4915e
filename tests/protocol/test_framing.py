"""Frames and headers: header versions per API and version, size prefixes, frame splitting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rafka.errors import DecodeError
from rafka.protocol import framing
from rafka.protocol.messages import (
    API_BY_NAME,
    API_SPECS,
    ApiVersionsResponse,
    MetadataRequest,
    MetadataResponse,
    RequestHeader,
)


def test_header_versions_follow_flexibility() -> None:
    metadata = API_BY_NAME["Metadata"]
    assert metadata.request_header_version(8) == 1
    assert metadata.request_header_version(9) == 2
    assert metadata.response_header_version(8) == 0
    assert metadata.response_header_version(9) == 1
    api_versions = API_BY_NAME["ApiVersions"]
    assert api_versions.request_header_version(3) == 2
    assert api_versions.response_header_version(3) == 0  # always v0


def test_registry_facts() -> None:
    produce = API_SPECS[0]
    assert (produce.name, produce.min_version, produce.max_version) == ("Produce", 3, 13)
    assert produce.flexible_min == 9
    assert "broker" in produce.listeners
    assert API_SPECS[18].name == "ApiVersions"
    assert API_SPECS[7].module is None  # ControlledShutdown: no version left in 4.x


@pytest.mark.parametrize("version", [0, 8, 9, 13])
def test_request_round_trip(version: int) -> None:
    header = RequestHeader(3, version, 42, "client-1")
    body = MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name="t")])
    frame = framing.encode_request(header, body)
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    assert framing.peek_request(bytes(frame[4:])) == (3, version, 42)
    got_header, got_body = framing.decode_request(bytes(frame[4:]))
    assert got_header == header
    assert got_body == body


def test_response_round_trip() -> None:
    body = MetadataResponse(throttle_time_ms=7, cluster_id="c")
    frame = framing.encode_response(3, 12, 99, body)
    header, decoded = framing.decode_response(bytes(frame[4:]), 3, 12)
    assert header.correlation_id == 99
    assert decoded == body
    # ApiVersions responses carry header v0 even at flexible versions: no tag byte.
    frame = framing.encode_response(18, 3, 5, ApiVersionsResponse())
    assert frame[4:8] == b"\x00\x00\x00\x05"
    assert ApiVersionsResponse.decode(bytes(frame[8:]), 3) == ApiVersionsResponse()


def test_trailing_bytes_after_a_request_are_ignored_as_kafka_does() -> None:
    # librdkafka 2.16's AdminClient.list_topics(): Metadata v13 with 3 bytes after the body.
    frame = bytes.fromhex("0003000d00000003000772646b61666b610000000000010000")
    header, body = framing.decode_request(frame)
    assert (header.request_api_key, header.request_api_version) == (3, 13)
    assert isinstance(body, MetadataRequest) and body.topics is None


def test_truncated_request_is_rejected() -> None:
    frame = framing.encode_request(RequestHeader(3, 12, 1, "c"), MetadataRequest(topics=[]))
    with pytest.raises(DecodeError):
        framing.decode_request(bytes(frame[4:-2]))


def test_unknown_api_key() -> None:
    with pytest.raises(LookupError):
        framing.decode_request(b"\x03\xe7\x00\x00\x00\x00\x00\x01\x00\x00")


@given(chunks=st.lists(st.integers(1, 7), min_size=1, max_size=40))
def test_frame_reader_any_split(chunks: list[int]) -> None:
    payloads = [b"a" * 3, b"", b"hello world", bytes(range(40))]
    stream = b"".join(len(p).to_bytes(4, "big") + p for p in payloads)
    reader = framing.FrameReader(max_size=100)
    got: list[bytes] = []
    pos = 0
    i = 0
    while pos < len(stream):
        step = chunks[i % len(chunks)]
        reader.feed(stream[pos : pos + step])
        pos += step
        i += 1
        while (frame := reader.next_frame()) is not None:
            got.append(frame)
    assert got == payloads
    assert reader.buffered == 0


def test_frame_reader_refuses_oversized_frames_before_buffering() -> None:
    reader = framing.FrameReader(max_size=1024)
    reader.feed(b"\x7f\xff\xff\xff")
    with pytest.raises(framing.FrameTooLarge):
        reader.next_frame()
    reader = framing.FrameReader(max_size=1024)
    reader.feed(b"\xff\xff\xff\xff")
    with pytest.raises(framing.FrameTooLarge):
        reader.next_frame()

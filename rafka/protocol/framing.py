"""Kafka frames: size-prefixed requests and responses with their headers. Sans-I/O.

Wire layout::

    frame    := int32 size, then `size` bytes
    request  := RequestHeader (v1, or v2 for flexible API versions), then the request body
    response := ResponseHeader (v0, or v1 for flexible API versions; ApiVersions always v0),
                then the response body

A response does not say which API it answers: the reader must know the API key and version of
the request with the same correlation id.

:class:`FrameReader` splits a byte stream into frames and refuses a size over its limit before
buffering it (Kafka's ``socket.request.max.bytes``), so a hostile length cannot make anyone
allocate.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from rafka.errors._base import DecodeError
from rafka.protocol._codec import INT16, INT32
from rafka.protocol.messages import API_SPECS
from rafka.protocol.messages.request_header import RequestHeader
from rafka.protocol.messages.response_header import ResponseHeader

if TYPE_CHECKING:
    from rafka.protocol._message import Message
    from rafka.protocol.api import ApiSpec

_SIZE_PLACEHOLDER = b"\x00\x00\x00\x00"


class FrameTooLarge(DecodeError):
    """A frame's size field is over the reader's limit (or negative)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"frame of {size} bytes is over the limit of {limit} bytes")
        self.size = size
        self.limit = limit


def api_spec(api_key: int) -> ApiSpec:
    """The registry entry for ``api_key``; :class:`LookupError` if Kafka defines no such API."""
    spec = API_SPECS.get(api_key)
    if spec is None:
        raise LookupError(f"unknown API key {api_key}")
    return spec


def _finish(out: bytearray, size_prefix: bool) -> bytearray:
    if size_prefix:
        out[0:4] = INT32.pack(len(out) - 4)
    return out


def encode_request(header: RequestHeader, body: Message, *, size_prefix: bool = True) -> bytearray:
    """Header and body of a request, with the int32 size in front unless ``size_prefix=False``."""
    spec = api_spec(header.request_api_key)
    version = header.request_api_version
    out = bytearray(_SIZE_PLACEHOLDER if size_prefix else b"")
    header.encode_into(out, spec.request_header_version(version))
    body.encode_into(out, version)
    return _finish(out, size_prefix)


def encode_response(
    api_key: int,
    version: int,
    correlation_id: int,
    body: Message,
    *,
    size_prefix: bool = True,
) -> bytearray:
    """A response to a request of ``api_key``/``version`` with the given correlation id."""
    spec = api_spec(api_key)
    out = bytearray(_SIZE_PLACEHOLDER if size_prefix else b"")
    ResponseHeader(correlation_id).encode_into(out, spec.response_header_version(version))
    body.encode_into(out, version)
    return _finish(out, size_prefix)


def peek_request(frame: bytes) -> tuple[int, int, int]:
    """``(api_key, api_version, correlation_id)`` of a request frame (without its size prefix).

    These three fields sit at fixed offsets in every request header version, so a server can
    answer an unknown API or version with the right correlation id before decoding anything.
    """
    if len(frame) < 8:
        raise DecodeError(f"request of {len(frame)} bytes is shorter than a request header")
    api_key, api_version = INT16.unpack_from(frame, 0)[0], INT16.unpack_from(frame, 2)[0]
    return api_key, api_version, INT32.unpack_from(frame, 4)[0]


def decode_request_header(frame: bytes) -> tuple[RequestHeader, int]:
    """The request header and the offset where the body starts."""
    api_key, api_version, _ = peek_request(frame)
    header_version = api_spec(api_key).request_header_version(api_version)
    return RequestHeader.decode_from(frame, 0, header_version)


def decode_request(frame: bytes) -> tuple[RequestHeader, Message]:
    """Decode a request frame (without its size prefix).

    Bytes after the body are ignored, as Apache Kafka's parser ignores them: some clients
    send them (librdkafka 2.16 adds three to its Metadata v13 requests).
    """
    header, pos = decode_request_header(frame)
    spec = api_spec(header.request_api_key)
    body, _ = spec.request_class.decode_from(frame, pos, header.request_api_version)
    return header, body


def decode_response(frame: bytes, api_key: int, version: int) -> tuple[ResponseHeader, Message]:
    """Decode a response frame (without its size prefix) to a request of ``api_key``/``version``."""
    spec = api_spec(api_key)
    header, pos = ResponseHeader.decode_from(frame, 0, spec.response_header_version(version))
    body, _ = spec.response_class.decode_from(frame, pos, version)
    return header, body


class FrameReader:
    """Split a byte stream into frames (payloads without the size prefix).

    Received chunks are kept as they came; a frame is sliced out of one chunk when it fits
    (the common case) and joined once otherwise, so a large frame arriving in many small
    reads is copied once, not once per read.

    >>> r = FrameReader(max_size=100)
    >>> r.feed(b"\\x00\\x00\\x00\\x02hi\\x00\\x00")
    >>> r.next_frame(), r.next_frame()
    (b'hi', None)
    """

    def __init__(self, max_size: int = 100 * 1024 * 1024) -> None:
        self.max_size = max_size
        self._chunks: deque[bytes] = deque()
        self._pos = 0  # read position in the first chunk
        self._buffered = 0
        self._need = -1  # payload size of the frame being read, -1 while reading the size

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as frames."""
        return self._buffered

    def feed(self, data: bytes) -> None:
        if data:
            self._chunks.append(data)
            self._buffered += len(data)

    def _take(self, n: int) -> bytes:
        if n == 0:
            return b""
        chunks, pos = self._chunks, self._pos
        self._buffered -= n
        first = chunks[0]
        if len(first) - pos >= n:
            out = first[pos : pos + n]
            pos += n
            if pos == len(first):
                chunks.popleft()
                pos = 0
            self._pos = pos
            return out
        parts = []
        while n:
            chunk = chunks[0]
            avail = len(chunk) - pos
            if avail <= n:
                parts.append(chunk[pos:] if pos else chunk)
                chunks.popleft()
                pos = 0
                n -= avail
            else:
                parts.append(chunk[pos : pos + n])
                pos += n
                n = 0
        self._pos = pos
        return b"".join(parts)

    def next_frame(self) -> bytes | None:
        """The next whole frame, or None until more bytes arrive.

        Raises :class:`FrameTooLarge` as soon as a size over ``max_size`` is read.
        """
        if self._need < 0:
            if self._buffered < 4:
                return None
            size = INT32.unpack(self._take(4))[0]
            if size < 0 or size > self.max_size:
                raise FrameTooLarge(size, self.max_size)
            self._need = size
        if self._buffered < self._need:
            return None
        frame = self._take(self._need)
        self._need = -1
        return frame

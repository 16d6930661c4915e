"""The TCP listener: framing limits, closing rules, abrupt clients, idle connections, stop."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

import anyio
import pytest

import rafka
from rafka.protocol import framing
from rafka.protocol.messages import ApiVersionsRequest, ApiVersionsResponse, RequestHeader


@pytest.fixture
def cluster() -> Iterator[rafka.Cluster]:
    config = {"socket.request.max.bytes": 1024 * 1024, "connections.max.idle.ms": 300}
    with rafka.Cluster(listen=True, config=config) as c:
        yield c


def _connect(cluster: rafka.Cluster) -> socket.socket:
    host, port = cluster.bootstrap_servers.split(",")[0].split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def _api_versions(sock: socket.socket, version: int = 3, correlation: int = 1) -> bytes:
    request = ApiVersionsRequest("rafka-test", "1.0")
    sock.sendall(framing.encode_request(RequestHeader(18, version, correlation, "t"), request))
    size = struct.unpack(">i", _recv_exact(sock, 4))[0]
    return _recv_exact(sock, size)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, TimeoutError):
        return True


def test_abrupt_clients_do_not_stop_the_listener(cluster: rafka.Cluster) -> None:
    for _ in range(50):
        s = _connect(cluster)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # RST right after connect
    with _connect(cluster) as s:
        assert _api_versions(s)


def test_pipelined_requests_are_answered_in_order(cluster: rafka.Cluster) -> None:
    with _connect(cluster) as s:
        frames = b"".join(
            framing.encode_request(RequestHeader(18, 3, cid, "t"), ApiVersionsRequest("a", "1"))
            for cid in range(20)
        )
        s.sendall(frames)
        for cid in range(20):
            size = struct.unpack(">i", _recv_exact(s, 4))[0]
            assert struct.unpack(">i", _recv_exact(s, size)[:4])[0] == cid


def test_oversized_frame_closes_connection(cluster: rafka.Cluster) -> None:
    with _connect(cluster) as s:
        s.sendall(struct.pack(">i", 2**31 - 1) + b"x" * 100)
        assert _closed(s)
    with _connect(cluster) as s:
        assert _api_versions(s)


def test_unknown_api_key_closes_connection(cluster: rafka.Cluster) -> None:
    with _connect(cluster) as s:
        body = struct.pack(">hhi", 999, 0, 1) + b"\x00\x01t"
        s.sendall(struct.pack(">i", len(body)) + body)
        assert _closed(s)


def test_newer_api_versions_request_gets_v0_answer(cluster: rafka.Cluster) -> None:
    with _connect(cluster) as s:
        body = struct.pack(">hhi", 18, 99, 5) + b"\x00\x01t" + b"garbage"
        s.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", _recv_exact(s, 4))[0]
        payload = _recv_exact(s, size)
        assert struct.unpack(">i", payload[:4])[0] == 5
        response = ApiVersionsResponse.decode(payload[4:], 0)
        assert response.error_code == 35
        assert any(k.api_key == 0 for k in response.api_keys)


def test_idle_connections_are_closed(cluster: rafka.Cluster) -> None:
    with _connect(cluster) as s:
        assert _api_versions(s)
        time.sleep(1.0)
        assert _closed(s)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_stop_ends_an_accept_that_missed_the_close(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """anyio's accept() can miss a concurrent aclose(): when aclose() runs while accept() is
    between its "closed?" check and its wait, accept() waits on the closed socket forever
    (seen under load: a cluster's stop hung). Stopping a broker must still end its listener."""
    from anyio._backends import _asyncio

    async def accept_that_misses_the_close(self: object) -> object:
        await anyio.sleep_forever()  # as that accept(): the close does not wake it

    monkeypatch.setattr(_asyncio.TCPSocketListener, "accept", accept_that_misses_the_close)
    async with rafka.AsyncCluster(listen=True) as cluster:
        with anyio.fail_after(10):
            await cluster.stop_broker(1)
            await cluster.start_broker(1)
            await cluster.isolate_broker(1, "refuse")
            await cluster.heal_broker(1)
    # (leaving the block stopped the listener again)

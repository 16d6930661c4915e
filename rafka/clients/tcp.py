"""The Kafka wire protocol over TCP: one pipelined connection per node.

A connection negotiates versions with ApiVersions when it opens (falling back to the v0
answer a broker gives to a version it does not know), then pipelines requests: each gets a
correlation id and waits for its response, which a reader task matches by that id. A request
that times out closes its connection (as Kafka's clients do), failing the others in flight
with :class:`TransportError`; the next request to that node reconnects, after a backoff that
doubles from ``reconnect.backoff.ms`` to ``reconnect.backoff.max.ms``.
"""

from __future__ import annotations

import itertools
import math
import random
from types import TracebackType

import anyio
import anyio.abc

from rafka import errors
from rafka._version import __version__
from rafka.clients.transport import (
    Node,
    TransportError,
    broker_of,
    choose_version,
    coordinator_node,
)
from rafka.protocol import framing
from rafka.protocol._message import Message
from rafka.protocol.messages import API_SPECS, ApiVersionsRequest, ApiVersionsResponse
from rafka.protocol.messages.request_header import RequestHeader

__all__ = ["TcpTransport", "parse_bootstrap"]

API_VERSIONS = 18
RECEIVE_SIZE = 256 * 1024
SOFTWARE_NAME = "rafka"


def parse_bootstrap(servers: str | list[str]) -> list[tuple[str, int]]:
    items = servers.split(",") if isinstance(servers, str) else list(servers)
    out = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not port.isdigit():
            raise errors.ConfigError(f"bootstrap server {item!r} is not host:port")
        out.append((host.strip("[]"), int(port)))
    if not out:
        raise errors.ConfigError("bootstrap_servers lists no server")
    return out


class _Pending:
    __slots__ = ("api_key", "done", "error", "response", "version")

    def __init__(self, api_key: int, version: int) -> None:
        self.api_key = api_key
        self.version = version
        self.done = anyio.Event()
        self.response: Message | None = None
        self.error: BaseException | None = None


class _Connection:
    """One open connection to one node."""

    def __init__(self, node_id: int, stream: anyio.abc.ByteStream, client_id: str) -> None:
        self.node_id = node_id
        self.stream = stream
        self.client_id = client_id
        self.versions: dict[int, tuple[int, int]] = {}
        self.closed = False
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._send_lock = anyio.Lock()

    async def read_loop(self) -> None:
        reader = framing.FrameReader(max_size=2**31 - 1)
        try:
            while True:
                data = await self.stream.receive(RECEIVE_SIZE)
                reader.feed(data)
                while (frame := reader.next_frame()) is not None:
                    self._dispatch(frame)
        except (
            anyio.EndOfStream,
            anyio.BrokenResourceError,
            anyio.ClosedResourceError,
            OSError,
        ) as exc:
            await self.close(TransportError(f"connection to node {self.node_id} lost: {exc}"))
        except errors.DecodeError as exc:
            await self.close(TransportError(f"bad response from node {self.node_id}: {exc}"))

    def _dispatch(self, frame: bytes) -> None:
        correlation_id = int.from_bytes(frame[:4], "big", signed=True)
        pending = self._pending.pop(correlation_id, None)
        if pending is None:
            return  # a response to a request that timed out
        try:
            pending.response = framing.decode_response(frame, pending.api_key, pending.version)[1]
        except errors.DecodeError as exc:
            pending.error = exc
        pending.done.set()

    async def request(
        self, request: Message, version: int, expect_response: bool, timeout: float
    ) -> Message | None:
        if self.closed:
            raise TransportError(f"connection to node {self.node_id} is closed")
        api_key = request.API_KEY  # type: ignore[attr-defined]
        correlation_id = next(self._ids)
        header = RequestHeader(api_key, version, correlation_id, self.client_id)
        frame = framing.encode_request(header, request)
        pending = _Pending(api_key, version)
        if expect_response:
            self._pending[correlation_id] = pending
        try:
            async with self._send_lock:
                await self.stream.send(frame)  # type: ignore[arg-type]
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            self._pending.pop(correlation_id, None)
            await self.close(TransportError(f"cannot send to node {self.node_id}: {exc}"))
            raise TransportError(f"cannot send to node {self.node_id}: {exc}") from None
        if not expect_response:
            return None
        with anyio.move_on_after(timeout if math.isfinite(timeout) else None):
            await pending.done.wait()
        if not pending.done.is_set():
            self._pending.pop(correlation_id, None)
            await self.close(TransportError(f"node {self.node_id}: request timed out"))
            raise errors.RequestTimedOutError(
                f"no response from node {self.node_id} to {API_SPECS[api_key].name} "
                f"within {timeout:.1f} s"
            )
        if pending.error is not None:
            raise pending.error
        return pending.response

    async def close(self, reason: BaseException | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        failure = reason or TransportError(f"connection to node {self.node_id} closed")
        for pending in self._pending.values():
            pending.error = failure
            pending.done.set()
        self._pending.clear()
        with anyio.CancelScope(shield=True):
            await self.stream.aclose()


class TcpTransport:
    """A :class:`~rafka.clients.transport.Transport` over TCP. Use as ``async with``."""

    def __init__(
        self,
        bootstrap_servers: str | list[str],
        *,
        client_id: str = "rafka",
        connect_timeout: float = 10.0,
        reconnect_backoff_ms: int = 50,
        reconnect_backoff_max_ms: int = 1000,
    ) -> None:
        self.client_id = client_id
        self.connect_timeout = connect_timeout
        self._backoff = (reconnect_backoff_ms, reconnect_backoff_max_ms)
        self._addresses: dict[int, tuple[str, int]] = {
            -(i + 1): address for i, address in enumerate(parse_bootstrap(bootstrap_servers))
        }
        self._connections: dict[int, _Connection] = {}
        self._connecting: dict[int, anyio.Lock] = {}
        self._failures: dict[int, tuple[int, float]] = {}  # node -> (count, retry-after time)
        self._tg: anyio.abc.TaskGroup | None = None
        self._closed = False

    async def __aenter__(self) -> TcpTransport:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        await self.close()
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        return await self._tg.__aexit__(exc_type, exc, tb)

    def bootstrap_nodes(self) -> list[int]:
        return sorted((n for n in self._addresses if n < 0), reverse=True)

    def update_nodes(self, nodes: list[Node]) -> None:
        for node in nodes:
            old = self._addresses.get(node.node_id)
            self._addresses[node.node_id] = (node.host, node.port)
            if old is not None and old != (node.host, node.port):
                for node_id in (node.node_id, coordinator_node(node.node_id)):
                    conn = self._connections.pop(node_id, None)
                    if conn is not None and self._tg is not None:
                        self._tg.start_soon(conn.close)

    async def _connection(self, node_id: int) -> _Connection:
        conn = self._connections.get(node_id)
        if conn is not None and not conn.closed:
            return conn
        if self._closed:
            raise TransportError("the client is closed")
        lock = self._connecting.setdefault(node_id, anyio.Lock())
        async with lock:
            conn = self._connections.get(node_id)
            if conn is not None and not conn.closed:
                return conn
            return await self._connect(node_id)

    async def _connect(self, node_id: int) -> _Connection:
        address = self._addresses.get(broker_of(node_id))
        if address is None:
            raise TransportError(f"no address known for node {node_id}")
        failures, retry_at = self._failures.get(node_id, (0, 0.0))
        wait = retry_at - anyio.current_time()
        if wait > 0:
            await anyio.sleep(wait)
        try:
            with anyio.fail_after(self.connect_timeout):
                stream = await anyio.connect_tcp(*address)
        except (OSError, TimeoutError) as exc:
            lo, hi = self._backoff
            delay = min(hi, lo * 2**failures) * random.uniform(0.8, 1.2) / 1000
            self._failures[node_id] = (failures + 1, anyio.current_time() + delay)
            raise TransportError(f"cannot connect to {address[0]}:{address[1]}: {exc}") from None
        self._failures.pop(node_id, None)
        conn = _Connection(node_id, stream, self.client_id)
        assert self._tg is not None, "use TcpTransport as `async with`"
        self._tg.start_soon(conn.read_loop)
        try:
            await self._negotiate(conn)
        except BaseException:  # failed, timed out or cancelled: the socket must not leak
            await conn.close()
            raise
        self._connections[node_id] = conn
        return conn

    async def _negotiate(self, conn: _Connection) -> None:
        request = ApiVersionsRequest(SOFTWARE_NAME, __version__.replace("+", "-"))
        version = API_SPECS[API_VERSIONS].max_version
        response = await conn.request(request, version, True, self.connect_timeout)
        assert isinstance(response, ApiVersionsResponse)
        if response.error_code == errors.UnsupportedVersionError.code and response.api_keys:
            # The broker answered at v0 with its versions; ask again at the best common one.
            broker = {k.api_key: (k.min_version, k.max_version) for k in response.api_keys}
            version = choose_version(API_VERSIONS, broker.get(API_VERSIONS), None)
            response = await conn.request(request, version, True, self.connect_timeout)
            assert isinstance(response, ApiVersionsResponse)
        if response.error_code:
            await conn.close()
            raise errors.for_code(response.error_code)("ApiVersions failed")
        conn.versions = {k.api_key: (k.min_version, k.max_version) for k in response.api_keys}

    async def api_versions(self, node_id: int) -> dict[int, tuple[int, int]]:
        return (await self._connection(node_id)).versions

    async def request(
        self,
        node_id: int,
        request: Message,
        *,
        version: int | None = None,
        expect_response: bool = True,
        timeout: float = 30.0,
    ) -> Message | None:
        conn = await self._connection(node_id)
        api_key = request.API_KEY  # type: ignore[attr-defined]
        if version is None:
            broker = conn.versions.get(api_key)
            if broker is None:
                raise errors.UnsupportedVersionError(
                    f"node {node_id} does not serve {API_SPECS[api_key].name}"
                )
            version = choose_version(api_key, broker, None)
        return await conn.request(request, version, expect_response, timeout)

    async def close(self) -> None:
        self._closed = True
        for conn in list(self._connections.values()):
            await conn.close()
        self._connections.clear()

"""A broker's TCP listener: Kafka frames in, responses out, in order, per connection.

Like Kafka's network layer, a connection's requests are served one at a time in arrival order
(clients pipeline them; responses come back in the same order). A frame whose size is over
``socket.request.max.bytes`` closes the connection before anything is buffered; so does a
request Kafka would refuse to parse (unknown API, disabled version, bytes that do not decode).
Connections idle for ``connections.max.idle.ms`` are closed. :meth:`Listener.stop` stops
accepting, lets every in-flight request finish and its response go out, then closes.
"""

from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING

import anyio
import anyio.abc

from rafka.cluster.faults.effects import DropResponse, MangledResponse
from rafka.protocol.framing import FrameReader, FrameTooLarge

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

__all__ = ["Listener"]

log = logging.getLogger("rafka.server")

RECEIVE_SIZE = 256 * 1024


class _Connection:
    __slots__ = ("busy", "id", "last_active", "muted", "receive_scope", "stream")

    def __init__(self, conn_id: str, stream: anyio.abc.SocketStream, now: float) -> None:
        self.id = conn_id
        self.stream = stream
        self.last_active = now
        self.busy = False
        #: A fault plan dropped a response: as responses are ordered, the connection
        #: answers nothing more (a hung broker) until the client gives up on it.
        self.muted = False
        self.receive_scope: anyio.CancelScope | None = None


class Listener:
    """Serves one broker on ``host:port`` (port 0 picks a free one)."""

    def __init__(self, broker: Broker, host: str = "127.0.0.1", port: int = 0) -> None:
        self.broker = broker
        self.host = host
        self.requested_port = port
        self.port = -1
        self._listener: anyio.abc.Listener[anyio.abc.SocketStream] | None = None
        self._connections: dict[str, _Connection] = {}
        self._ids = itertools.count()
        self._stopping = False
        self._done = anyio.Event()
        self._tasks: anyio.abc.TaskGroup | None = None
        self._accepting: anyio.CancelScope | None = None

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    async def bind(self) -> int:
        """Open the socket; returns the port actually bound."""
        listener = await anyio.create_tcp_listener(
            local_host=self.host, local_port=self.requested_port, reuse_port=False
        )
        self._listener = listener
        self.port = int(listener.extra(anyio.abc.SocketAttribute.local_port))
        return self.port

    async def serve(
        self,
        *,
        task_status: anyio.abc.TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Accept and serve connections until :meth:`stop`."""
        if self._listener is None:
            await self.bind()
        assert self._listener is not None
        async with anyio.create_task_group() as tg:
            self._tasks = tg
            tg.start_soon(self._sweep_idle)
            task_status.started(self.port)
            with anyio.CancelScope() as self._accepting:
                try:
                    await self._listener.serve(self._serve_connection, task_group=tg)
                except* (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    pass  # stop() closed the socket
            # Stopping: wait for connections to drain, then end the sweeper.
            while self._connections:
                await anyio.sleep(0.005)
            tg.cancel_scope.cancel()
        self._done.set()

    async def stop(self) -> None:
        """Stop accepting; finish in-flight requests; close every connection."""
        if self._stopping:
            return
        self._stopping = True
        await self._close_socket()
        for conn in list(self._connections.values()):
            if conn.receive_scope is not None and not conn.busy:
                conn.receive_scope.cancel()
        if self._tasks is not None:
            await self._done.wait()

    async def abort(self) -> None:
        """Stop at once, as a crashed process would: close the socket and every connection
        without finishing in-flight requests."""
        self._stopping = True
        await self._close_socket()
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()
            await self._done.wait()

    async def _close_socket(self) -> None:
        if self._listener is not None:
            await self._listener.aclose()
        # Closing the socket does not always end the accept loop: an accept() that was
        # between its "closed?" check and its wait when aclose() ran waits on the closed
        # socket forever (anyio 4.x on asyncio). Nothing is left to accept: end it.
        if self._accepting is not None:
            self._accepting.cancel()

    async def _sweep_idle(self) -> None:
        idle_ms = int(self.broker.config.get("connections.max.idle.ms"))
        if idle_ms < 0:
            return
        interval = min(max(idle_ms / 4000, 0.01), 1.0)
        while True:
            await anyio.sleep(interval)
            now = anyio.current_time()
            for conn in list(self._connections.values()):
                if not conn.busy and (now - conn.last_active) * 1000 > idle_ms:
                    log.debug("closing idle connection %s", conn.id)
                    if conn.receive_scope is not None:
                        conn.receive_scope.cancel()

    async def _serve_connection(self, stream: anyio.abc.SocketStream) -> None:
        # Nothing may escape: an exception here would end the listener's task group and with
        # it every connection and the accept loop.
        try:
            await self._serve_connection_inner(stream)
        except BaseException as exc:
            if isinstance(exc, anyio.get_cancelled_exc_class()):
                raise
            log.exception("connection handler failed")

    async def _serve_connection_inner(self, stream: anyio.abc.SocketStream) -> None:
        try:
            remote = stream.extra(anyio.abc.SocketAttribute.remote_address)
        except OSError:  # the client is already gone
            with anyio.CancelScope(shield=True):
                await stream.aclose()
            return
        host, rport = (remote[0], remote[1]) if isinstance(remote, tuple) else (str(remote), 0)
        conn = _Connection(
            f"{self.host}:{self.port}-{host}:{rport}-{next(self._ids)}",
            stream,
            anyio.current_time(),
        )
        if self._stopping:
            await stream.aclose()
            return
        self._connections[conn.id] = conn
        max_size = int(self.broker.config.get("socket.request.max.bytes"))
        reader = FrameReader(max_size=max_size)
        try:
            await self._loop(conn, reader, host)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass
        except FrameTooLarge as exc:
            log.info("closing %s: %s", conn.id, exc)
        except Exception as exc:  # CloseConnection and the unexpected alike close it
            from rafka.cluster.broker import CloseConnection

            if not isinstance(exc, CloseConnection):
                log.exception("closing %s after an unexpected error", conn.id)
            else:
                log.info("closing %s: %s", conn.id, exc)
        finally:
            self._connections.pop(conn.id, None)
            with anyio.CancelScope(shield=True):
                await stream.aclose()

    async def _loop(self, conn: _Connection, reader: FrameReader, host: str) -> None:
        broker = self.broker
        stream = conn.stream
        while not self._stopping:
            with anyio.CancelScope() as scope:
                conn.receive_scope = scope
                data = await stream.receive(RECEIVE_SIZE)
            conn.receive_scope = None
            if scope.cancel_called:
                return
            conn.last_active = anyio.current_time()
            reader.feed(data)
            while (frame := reader.next_frame()) is not None:
                if conn.muted:
                    continue
                conn.busy = True
                try:
                    response = await broker.handle_frame(frame, conn.id, host)
                    if response is not None:
                        # The transports take any bytes-like object; no copy to bytes.
                        await stream.send(response)  # type: ignore[arg-type]
                except DropResponse:
                    conn.muted = True
                except MangledResponse as exc:
                    await stream.send(exc.frame())
                finally:
                    conn.busy = False
                    conn.last_active = anyio.current_time()
                if self._stopping:
                    return

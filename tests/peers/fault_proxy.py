"""rafka's fault plans in front of a real Kafka broker: a fault-injecting TCP proxy.

To show that a client reacts to a rafka fault as it reacts to the same fault on a real cluster,
the fault tests run each scenario twice: against a rafka cluster, and against Apache Kafka
through this proxy, which applies the *same* plans with rafka's own code (plan matching and
triggers, :func:`~rafka.cluster.faults.responses.build_error_response`, ``set_throttle``,
``mangle_frame``) to Kafka's real responses::

    client --TCP--> FaultProxy (127.0.0.1:P) --TCP--> Kafka broker (advertises 127.0.0.1:P)

The broker advertises the proxy's address, so the clients' every connection (bootstrap,
leader, coordinator) goes through it. Like a Kafka broker, and like rafka's listener, the
proxy handles one request at a time per connection, in order: read a request, apply the plans,
forward it (unless it is answered or refused here), relay the answer. Effects, as rafka's:

- ``error``: answered here with rafka's error response; a Produce whose every partition is
  picked never reaches Kafka (nothing is appended), Metadata and partly picked requests are
  forwarded without the picked items and the error is added to Kafka's answer;
- ``delay``: sleeps before forwarding; ``throttle_ms``: sets ``throttle_time_ms`` in Kafka's
  answer; ``drop``: forwarded, the answer is never sent and the connection answers nothing
  more; ``close``: the connection closes, the request is not forwarded; ``corrupt``: Kafka's
  answer is cut short or overwritten;
- ``set_latency(s)``: every request is delayed; ``isolate("hang")``: every request is
  forwarded and never answered; ``isolate("refuse")``: the listener and every connection
  close (connections are refused) until :meth:`FaultProxy.heal` listens again on the same port.

Anything not acted on passes through byte for byte. The proxy keeps a journal of the requests
it saw (:meth:`FaultProxy.requests`), with the fields the tests read from rafka's journal; its
entries name the broker behind the proxy (``node_id``), so the journals of the proxies in front
of a multi-broker cluster (tests/peers/kafka_cluster.py) merge into one like rafka's.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import threading
import time
from collections.abc import Coroutine, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar

import attrs

from rafka.cluster.faults import FaultHandle, FaultInjector, FaultPlan
from rafka.cluster.faults.effects import mangle_frame
from rafka.cluster.faults.inspect import request_items
from rafka.cluster.faults.plan import glob_match
from rafka.cluster.faults.responses import build_error_response, set_throttle
from rafka.cluster.request import load_handlers
from rafka.errors._base import DecodeError
from rafka.protocol import framing
from rafka.protocol._message import Message
from rafka.protocol.messages import API_SPECS

__all__ = ["FaultProxy", "ProxyEntry", "TopicNames"]

T = TypeVar("T")

_PRODUCE, _METADATA = 0, 3
#: The node id of a single proxied broker (tests/peers/kafka_broker.py runs node 1).
NODE_ID = 1


@attrs.define
class ProxyEntry:
    """One request the proxy saw (named as rafka's :class:`~rafka.faults.JournalEntry`).

    :attr:`response` is the broker's answer as the proxy passed it on, decoded on first use
    (with any error or throttle time a plan put in; before a ``drop`` or ``corrupt`` effect,
    as rafka's journal records the broker's answer); None while unanswered or for acks=0.
    """

    api: str
    api_key: int
    api_version: int
    client_id: str | None
    connection_id: str
    start: float  # time.time() when the request arrived
    topics: frozenset[str]
    faults: list[str] = attrs.Factory(list)
    outcome: str = "pending"  # response, dropped, closed, corrupted, no response
    end: float | None = None  # time.time() when the answer was sent
    broker: int = NODE_ID
    #: The answer's bytes after the size prefix (decoded by :attr:`response`).
    answer: bytes | None = attrs.field(default=None, repr=False)
    _response: Message | None = attrs.field(default=None, repr=False, alias="response")

    @property
    def response(self) -> Message | None:
        if self._response is None and self.answer is not None:
            _, self._response = framing.decode_response(self.answer, self.api_key, self.api_version)
        return self._response

    def answered(self, response: Message | None) -> None:
        """Record the broker's answer, already decoded."""
        self._response = response


@attrs.define
class TopicNames:
    """Topic names and ids, learnt from the Metadata answers passing through (the proxies in
    front of one cluster share theirs: a client may learn a topic id from one broker and send
    it to another). Copy on write: a reader never sees a dict change under it, whichever
    proxy's thread learns."""

    by_id: dict[Any, str] = attrs.Factory(dict)
    by_name: dict[str, Any] = attrs.Factory(dict)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)

    def name_of(self, topic_id: Any) -> str | None:
        return self.by_id.get(topic_id)

    def id_of(self, name: str) -> Any:
        return self.by_name.get(name)

    def learn(self, response: Message) -> None:
        learnt = [
            (topic.topic_id, topic.name)
            for topic in getattr(response, "topics", None) or ()
            if topic.name and getattr(topic, "topic_id", None) is not None
        ]
        if all(self.by_id.get(tid) == name for tid, name in learnt):
            return
        with self._lock:
            by_id, by_name = dict(self.by_id), dict(self.by_name)
            for tid, name in learnt:
                by_id[tid] = name
                by_name[name] = tid
            self.by_id, self.by_name = by_id, by_name


@attrs.frozen
class _Named:
    name: str
    topic_id: Any


class _Image:
    def __init__(self, topics: TopicNames) -> None:
        self._topics = topics

    @property
    def topics_by_id(self) -> dict[Any, _Named]:
        return {tid: _Named(name, tid) for tid, name in self._topics.by_id.items()}

    @property
    def topics(self) -> dict[str, _Named]:
        return {name: _Named(name, tid) for name, tid in self._topics.by_name.items()}


@functools.cache
def _handlers() -> dict[int, Any]:
    return dict(load_handlers())


class _FakeBroker:
    """What :func:`build_error_response` asks of a broker: its node id, topic names, and
    rafka's request handlers (only their pure ``error_response``: per group, per resource)."""

    def __init__(self, topics: TopicNames, node_id: int) -> None:
        self.node_id = node_id
        self.handlers = _handlers()
        self.controller = self
        self.image = _Image(topics)


@attrs.frozen
class _Context:
    """What the fault code asks of a request's context."""

    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None


class _Closed(Exception):
    """The client or the upstream connection went away."""


class FaultProxy:
    """A fault-injecting proxy on ``127.0.0.1:port`` in front of ``upstream`` (host, port).

    Runs its own event loop on a daemon thread; every method is called from the test's thread.
    ``upstream`` may be set after the proxy listens (the broker must know the proxy's port
    before it starts, to advertise it). ``node_id`` is the proxied broker's: the fault plans
    see it (a plan's ``broker``) and the journal's entries carry it. ``topics`` is the topic
    names learnt so far, shared by the proxies in front of one cluster.
    """

    def __init__(
        self,
        upstream: tuple[str, int] | None = None,
        *,
        seed: int = 1234,
        node_id: int = NODE_ID,
        topics: TopicNames | None = None,
    ) -> None:
        self.upstream = upstream
        self.node_id = node_id
        #: The broker behind the proxy, when the fixture that made it says (for restarts).
        self.broker: Any = None
        self.faults = FaultInjector(seed=seed)
        self.topics = topics if topics is not None else TopicNames()
        self._broker = _FakeBroker(self.topics, node_id)
        self._journal: list[ProxyEntry] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._isolated: str | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._server: asyncio.AbstractServer | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.port = 0
        self._call(self._listen())

    # -------------------------------------------------------------------------------- control

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add(self, plan: FaultPlan | Mapping[str, Any]) -> FaultHandle:
        """Add a fault plan (a :class:`FaultPlan` or its dict form), as ``cluster.faults.add``."""
        return self.faults.add(plan)

    def requests(
        self, api: str | None = None, *, topic: str | None = None, client_id: str | None = None
    ) -> list[ProxyEntry]:
        """The journal's entries matching every criterion given (``client_id`` may be a glob)."""
        with self._lock:
            entries = list(self._journal)
        return [
            e
            for e in entries
            if (api is None or e.api.lower() == api.lower())
            and (topic is None or topic in e.topics)
            and (client_id is None or glob_match(client_id, e.client_id))
        ]

    def set_latency(self, seconds: float | None) -> None:
        """Delay every request by ``seconds`` (None or 0: no delay)."""
        plan = FaultPlan(delay=seconds, name="broker latency") if seconds else None
        self.faults.set_broker_plan("latency", self.node_id, plan)

    def isolate(self, mode: str) -> None:
        """``"refuse"``: close the listener and every connection; ``"hang"``: never answer."""
        if mode not in ("refuse", "hang"):
            raise ValueError(f"unknown isolation mode {mode!r}")
        self.heal()
        self._isolated = mode
        if mode == "refuse":
            self._call(self._close_all())
        else:
            plan = FaultPlan(drop=True, name="broker hangs")
            self.faults.set_broker_plan("hang", self.node_id, plan)

    def heal(self) -> None:
        """Undo :meth:`isolate`."""
        mode, self._isolated = self._isolated, None
        if mode == "refuse":
            self._call(self._listen())
        elif mode == "hang":
            self.faults.set_broker_plan("hang", self.node_id, None)

    def reset(self) -> None:
        """Between tests: no plans, no latency, healed, an empty journal, no open connection."""
        self.heal()
        self.faults.clear()
        self.set_latency(None)
        self._call(self._drop_connections())
        with self._lock:
            self._journal.clear()

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._call(self._close_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------ internals

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(30)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _drop_connections(self) -> None:
        for writer in list(self._connections):
            writer.transport.abort()
        self._connections.clear()

    async def _close_all(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self._drop_connections()
        if server is not None:
            await server.wait_closed()

    def _record(self, entry: ProxyEntry) -> None:
        with self._lock:
            self._journal.append(entry)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection_id = f"proxy-{next(self._ids)}"
        self._connections.add(writer)
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            if self.upstream is None:
                return
            up_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
            self._connections.add(upstream_writer)
            muted = False
            while True:
                frame = await _read_frame(reader)
                if muted:
                    continue  # after a dropped answer this connection answers nothing more
                outcome = await self._handle(
                    frame, connection_id, writer, up_reader, upstream_writer
                )
                if outcome == "closed":
                    return
                muted = outcome == "dropped"
        except (_Closed, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for w in (writer, upstream_writer):
                if w is not None:
                    self._connections.discard(w)
                    w.transport.abort()

    async def _handle(
        self,
        frame: bytes,
        connection_id: str,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> str:
        try:
            header, request = framing.decode_request(frame)
        except (DecodeError, KeyError):  # unknown to rafka: relay untouched
            return await self._relay(frame, True, writer, up_reader, up_writer)
        key, version = header.request_api_key, header.request_api_version
        spec = API_SPECS[key]
        items = request_items(request, version, self.topics.name_of)
        entry = ProxyEntry(
            spec.name,
            key,
            version,
            header.client_id,
            connection_id,
            time.time(),
            frozenset(t for t, _ in items if t),
            broker=self.node_id,
        )
        self._record(entry)
        expects_answer = not (key == _PRODUCE and getattr(request, "acks", -1) == 0)
        ctx = _Context(key, version, header.correlation_id, header.client_id)
        broker: Any = self._broker
        delay, throttle, terminal = self.faults.verdict(broker, ctx, request, entry.faults)  # type: ignore[arg-type]
        if delay:
            await asyncio.sleep(delay)
        if terminal is not None and terminal.close:
            entry.outcome = "closed"
            return "closed"
        if terminal is not None and terminal.error is not None:

            async def serve(_ctx: Any, message: Message) -> Message | None:
                out = bytes(framing.encode_request(header, message, size_prefix=False))
                answer = await self._exchange(out, expects_answer, up_reader, up_writer)
                return None if answer is None else framing.decode_response(answer, key, version)[1]

            response = await build_error_response(broker, ctx, request, terminal, serve)  # type: ignore[arg-type]
            entry.outcome = "response" if response is not None else "no response"
            entry.answered(response)
            if response is not None:
                writer.write(framing.encode_response(key, version, header.correlation_id, response))
                await writer.drain()
                entry.end = time.time()
            return "served"
        answer = await self._exchange(frame, expects_answer, up_reader, up_writer)
        if answer is None:
            entry.outcome = "no response"
            return "served"
        entry.outcome = "response"
        entry.answer = answer
        if key == _METADATA or throttle is not None:
            response = framing.decode_response(answer, key, version)[1]
            if key == _METADATA:
                self.topics.learn(response)
            entry.answered(response)
            if throttle is not None:
                set_throttle(response, version, throttle)
                answer = bytes(
                    framing.encode_response(
                        key, version, header.correlation_id, response, size_prefix=False
                    )
                )
        if terminal is not None and terminal.drop:
            entry.outcome = "dropped"
            return "dropped"
        out = len(answer).to_bytes(4, "big") + answer
        if terminal is not None and terminal.corrupt is not None:
            header_size = 4 if spec.response_header_version(version) == 0 else 5
            out = mangle_frame(out, header_size, terminal.corrupt)
            entry.outcome = "corrupted"
        writer.write(out)
        await writer.drain()
        entry.end = time.time()
        return "served"

    async def _relay(
        self,
        frame: bytes,
        expects_answer: bool,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> str:
        answer = await self._exchange(frame, expects_answer, up_reader, up_writer)
        if answer is not None:
            writer.write(len(answer).to_bytes(4, "big") + answer)
            await writer.drain()
        return "served"

    async def _exchange(
        self,
        frame: bytes,
        expects_answer: bool,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> bytes | None:
        up_writer.write(len(frame).to_bytes(4, "big") + frame)
        await up_writer.drain()
        if not expects_answer:
            return None
        return await _read_frame(up_reader)


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    size = int.from_bytes(await reader.readexactly(4), "big", signed=True)
    if size < 0 or size > 100 * 1024 * 1024:
        raise _Closed(f"bad frame size {size}")
    return await reader.readexactly(size)

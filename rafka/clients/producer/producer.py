"""rafka's asynchronous producer.

    async with AsyncProducer(bootstrap_servers="localhost:9092", linger_ms=5) as producer:
        metadata = await (await producer.send("orders", b"value", key=b"k"))
        # or: future = await producer.send(...); future.add_done_callback(...)

``send`` returns once the record is in a batch (it waits only for topic metadata the first
time, and for room when ``buffer.memory`` is full, up to ``max.block.ms``); the returned
:class:`DeliveryFuture` completes when the broker acknowledges it. ``flush()`` waits for every
record sent so far; ``close()`` flushes, then stops.

Defaults are Kafka's: acks=all, idempotence on (unless acks or retries rule it out and it was
not asked for explicitly), linger.ms=5, batch.size=16384, murmur2 partitioning of keys as
Java's producer does, sticky partitioning of keyless records.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

import anyio
import anyio.abc

from rafka import errors
from rafka.clients.config import PRODUCER_KEYS, ClientConfig
from rafka.clients.metadata import MetadataManager
from rafka.clients.partitioner import StickyPartitioner, partition_for_key
from rafka.clients.producer.accumulator import RecordAccumulator
from rafka.clients.producer.delivery import DeliveryFuture, RecordMetadata
from rafka.clients.producer.sender import Sender
from rafka.clients.tcp import TcpTransport
from rafka.clients.transport import Transport
from rafka.protocol.records import Compression, estimate_record_size

#: The clients' interval clock (seconds); a cheap call, unlike anyio.current_time().
_now = time.monotonic

__all__ = ["AsyncProducer"]

Header = tuple[str, bytes | None]
Serializer = Callable[[Any], bytes | None]
_ACKS = {"all": -1, "-1": -1, "0": 0, "1": 1}


def _as_bytes(value: Any, serializer: Serializer | None, what: str) -> bytes | None:
    if serializer is not None:
        value = serializer(value)
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    raise TypeError(
        f"the record's {what} is a {type(value).__name__}: give bytes or str, or set "
        f"{what}_serializer"
    )


class AsyncProducer:
    """Produces records to a Kafka cluster (rafka's or any other). Use as ``async with``."""

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        transport: Transport | None = None,
        **kwargs: Any,
    ) -> None:
        self.config = cfg = ClientConfig(PRODUCER_KEYS, config, kwargs, "producer")
        if cfg["transactional.id"] is not None:
            raise errors.ConfigError(
                "transactional.id: rafka's producer does not support transactions yet"
            )
        acks = _ACKS[cfg["acks"]]
        idempotent = bool(cfg["enable.idempotence"])
        conflicts = (
            acks != -1 or cfg["retries"] == 0 or cfg["max.in.flight.requests.per.connection"] > 5
        )
        if idempotent and conflicts:
            if cfg.is_set("enable.idempotence"):
                raise errors.ConfigError(
                    "enable.idempotence=true needs acks=all, retries > 0 and "
                    "max.in.flight.requests.per.connection <= 5"
                )
            idempotent = False  # as Kafka: implicit idempotence yields to explicit settings
        linger = cfg["linger.ms"]
        if cfg["delivery.timeout.ms"] < linger + cfg["request.timeout.ms"]:
            raise errors.ConfigError(
                "delivery.timeout.ms must be at least linger.ms + request.timeout.ms"
            )
        if transport is None:
            servers = cfg["bootstrap.servers"]
            if not servers:
                raise errors.ConfigError(
                    "bootstrap_servers is required (or use cluster.producer())"
                )
            transport = TcpTransport(
                servers,
                client_id=cfg["client.id"] or "rafka-producer",
                connect_timeout=cfg["socket.connection.setup.timeout.ms"] / 1000,
                reconnect_backoff_ms=cfg["reconnect.backoff.ms"],
                reconnect_backoff_max_ms=cfg["reconnect.backoff.max.ms"],
            )
        self.transport = transport
        self.metadata = MetadataManager(
            transport,
            max_age_ms=cfg["metadata.max.age.ms"],
            request_timeout=cfg["request.timeout.ms"] / 1000,
            retry_backoff_ms=cfg["retry.backoff.ms"],
        )
        compression = Compression[cfg["compression.type"].upper()]
        levels = {
            Compression.GZIP: "compression.gzip.level",
            Compression.LZ4: "compression.lz4.level",
            Compression.ZSTD: "compression.zstd.level",
        }
        level = cfg[levels[compression]] if compression in levels else None
        if compression == Compression.GZIP and level == -1:
            level = None
        self.accumulator = RecordAccumulator(
            batch_size=cfg["batch.size"],
            linger_s=linger / 1000,
            compression=compression,
            compression_level=level,
            delivery_timeout_s=cfg["delivery.timeout.ms"] / 1000,
        )
        self.sender = Sender(
            transport,
            self.metadata,
            self.accumulator,
            acks=acks,
            idempotent=idempotent,
            retries=cfg["retries"],
            request_timeout_s=cfg["request.timeout.ms"] / 1000,
            retry_backoff_s=cfg["retry.backoff.ms"] / 1000,
            retry_backoff_max_s=cfg["retry.backoff.max.ms"] / 1000,
            max_in_flight=cfg["max.in.flight.requests.per.connection"],
            max_request_size=cfg["max.request.size"],
        )
        self.idempotent = idempotent
        self._sticky = StickyPartitioner()
        self._key_serializer: Serializer | None = cfg["key.serializer"]
        self._value_serializer: Serializer | None = cfg["value.serializer"]
        self._max_request = cfg["max.request.size"]
        self._buffer_memory = cfg["buffer.memory"]
        self._max_block = cfg["max.block.ms"] / 1000
        self._ignore_keys = bool(cfg["partitioner.ignore.keys"])
        self._pending_size = 0
        #: Wakes the sender; the sync facade replaces it with a thread-safe version.
        self.poke: Callable[[], None] = self.sender.poke
        self._tg: anyio.abc.TaskGroup | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._closed = False
        self._started = False

    # ---------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Open connections and start the sender (``async with`` does this)."""
        if self._started:
            return
        self._started = True
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            if isinstance(self.transport, TcpTransport):
                await stack.enter_async_context(self.transport)
            self._tg = await stack.enter_async_context(anyio.create_task_group())
            self._tg.start_soon(self.sender.run, self._tg)
        except BaseException:
            await stack.__aexit__(None, None, None)
            raise
        self._stack = stack

    async def __aenter__(self) -> AsyncProducer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self, timeout: float | None = None) -> None:
        """Send what is buffered (waiting up to ``timeout`` seconds), then stop."""
        if self._closed:
            return
        self._closed = True
        if not self._started:
            return
        with anyio.move_on_after(timeout):
            await self.flush()
        self.accumulator.closing = True
        self.sender.poke()
        assert self._tg is not None and self._stack is not None
        self._tg.cancel_scope.cancel()
        await self._stack.__aexit__(None, None, None)  # the sender, then the connections
        for batch in list(self.accumulator.pending_batches()):
            batch.outcome.fail(errors.ClientClosedError("the producer was closed"))

    # -------------------------------------------------------------------------------- send

    async def send(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        headers: Sequence[Header] | Mapping[str, bytes | None] | None = None,
        partition: int | None = None,
        timestamp: int | None = None,
        *,
        on_delivery: Callable[[DeliveryFuture], Any] | None = None,
    ) -> DeliveryFuture:
        """Queue one record; returns its :class:`DeliveryFuture` (await it for the metadata)."""
        future = self.try_send(topic, value, key, headers, partition, timestamp, on_delivery)
        if future is not None:
            return future
        # Slow path: learn the topic's metadata, or wait for room in buffer.memory.
        await self.metadata.topic(topic, self._max_block)
        while True:
            future = self.try_send(topic, value, key, headers, partition, timestamp, on_delivery)
            if future is not None:
                return future
            await self._wait_for_room(self._pending_size)

    def try_send(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        headers: Sequence[Header] | Mapping[str, bytes | None] | None = None,
        partition: int | None = None,
        timestamp: int | None = None,
        on_delivery: Callable[[DeliveryFuture], Any] | None = None,
    ) -> DeliveryFuture | None:
        """:meth:`send` without waiting: None when it would have to wait (unknown topic, or
        ``buffer.memory`` full). Safe from another thread once :attr:`poke` is thread-safe
        (the sync facade arranges it)."""
        if self._closed:
            raise errors.ClientClosedError("send() on a closed producer")
        if not self._started:
            raise RuntimeError("use the producer as `async with AsyncProducer(...) as p:`")
        if self.sender.fatal is not None:
            raise self.sender.fatal
        info = self.metadata.cache.topics.get(topic)
        if info is None:
            return None
        # Fast paths for the common cases; _as_bytes handles serializers and other types.
        key_bytes = (
            key
            if key is None or (type(key) is bytes and not self._key_serializer)
            else (_as_bytes(key, self._key_serializer, "key"))
        )
        value_bytes = (
            value
            if (value is None or type(value) is bytes) and not (self._value_serializer)
            else _as_bytes(value, self._value_serializer, "value")
        )
        if headers is None:
            header_list: Sequence[Header] = ()
        elif isinstance(headers, Mapping):
            header_list = list(headers.items())
        else:
            header_list = headers
        size = estimate_record_size(key_bytes, value_bytes, header_list)
        if size > self._max_request or size > self._buffer_memory:
            raise errors.MessageTooLargeError(
                f"the record is {size} bytes when serialized, over max.request.size "
                f"({self._max_request}) or buffer.memory ({self._buffer_memory})"
            )
        accumulator = self.accumulator
        count = len(info.partitions)
        if partition is not None and not 0 <= partition < count:
            raise errors.UnknownTopicOrPartitionError(
                f"partition {partition} of {topic!r} does not exist (it has {count})"
            )
        if timestamp is None:
            timestamp = time.time_ns() // 1_000_000
        with accumulator.lock:
            if accumulator.buffered_bytes + size > self._buffer_memory:
                self._pending_size = size
                return None
            sticky = False
            if partition is None:
                if key_bytes is not None and not self._ignore_keys:
                    partition = partition_for_key(key_bytes, count)
                else:
                    partition = self._sticky.partition(topic, count)
                    sticky = True
            batch, delta, opened = accumulator.append(
                (topic, partition), timestamp, key_bytes, value_bytes, header_list, size, _now()
            )
            if opened and sticky and len(accumulator.batches[(topic, partition)]) > 1:
                self._sticky.on_new_batch(topic, count, partition)
            full = not opened and batch.builder.estimated_size() >= accumulator.batch_size
        future = DeliveryFuture(
            batch.outcome,
            delta,
            timestamp,
            -1 if key_bytes is None else len(key_bytes),
            -1 if value_bytes is None else len(value_bytes),
        )
        if on_delivery is not None:
            future.add_done_callback(on_delivery)
        if opened or full:
            self.poke()
        return future

    async def send_and_wait(self, topic: str, value: Any = None, **kwargs: Any) -> RecordMetadata:
        """Send one record and wait until it is acknowledged."""
        return await (await self.send(topic, value, **kwargs))

    async def _wait_for_room(self, size: int) -> None:
        with anyio.move_on_after(self._max_block):
            while self.accumulator.buffered_bytes + size > self._buffer_memory:
                self.sender.poke()
                await self.sender.progress.wait()
            return
        raise errors.ClientTimeoutError(
            f"buffer.memory ({self._buffer_memory} bytes) stayed full for max.block.ms"
        )

    async def flush(self) -> None:
        """Wait until every record sent so far is acknowledged or failed."""
        if not self._started:
            return
        self.accumulator.flushing += 1
        try:
            while not self.sender.idle:
                progress = self.sender.progress
                self.sender.poke()
                await progress.wait()
        finally:
            self.accumulator.flushing -= 1

    async def partitions_for(self, topic: str) -> list[int]:
        """The partition ids of ``topic`` (fetching its metadata if needed)."""
        info = await self.metadata.topic(topic, self._max_block)
        return sorted(info.partitions)

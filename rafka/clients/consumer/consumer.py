"""rafka's asynchronous consumer.

    async with AsyncConsumer(bootstrap_servers="localhost:9092",
                             auto_offset_reset="earliest") as consumer:
        consumer.assign([("orders", 0)])
        async for record in consumer:
            ...

``poll()`` returns buffered records at once when there are any, else waits up to ``timeout``
for the next fetch; the fetcher keeps the next fetch in flight while the application works.
Positions start at ``auto.offset.reset`` (earliest/latest) unless seeked.

Not yet: ``subscribe()`` and commits need group membership (the group coordinator is being
added to rafka's broker); they raise :class:`~rafka.errors.IllegalStateError` for now.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

import anyio
import anyio.abc

from rafka import errors
from rafka.clients.config import CONSUMER_KEYS, ClientConfig
from rafka.clients.consumer.fetcher import EARLIEST, LATEST, Fetcher
from rafka.clients.consumer.records import ConsumerRecord
from rafka.clients.consumer.subscription import SubscriptionState
from rafka.clients.metadata import MetadataManager
from rafka.clients.tcp import TcpTransport
from rafka.clients.transport import Transport
from rafka.clients.types import OffsetAndTimestamp, TopicPartition
from rafka.protocol.messages import ListOffsetsRequest, ListOffsetsResponse

__all__ = ["AsyncConsumer"]

Deserializer = Callable[[bytes | None], Any]


class AsyncConsumer:
    """Consumes records from a Kafka cluster (rafka's or any other). Use as ``async with``."""

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        transport: Transport | None = None,
        **kwargs: Any,
    ) -> None:
        self.config = cfg = ClientConfig(CONSUMER_KEYS, config, kwargs, "consumer")
        if transport is None:
            servers = cfg["bootstrap.servers"]
            if not servers:
                raise errors.ConfigError(
                    "bootstrap_servers is required (or use cluster.consumer())"
                )
            transport = TcpTransport(
                servers,
                client_id=cfg["client.id"] or "rafka-consumer",
                connect_timeout=cfg["socket.connection.setup.timeout.ms"] / 1000,
                reconnect_backoff_ms=cfg["reconnect.backoff.ms"],
                reconnect_backoff_max_ms=cfg["reconnect.backoff.max.ms"],
            )
        self.transport = transport
        self.request_timeout_s = cfg["request.timeout.ms"] / 1000
        self.metadata = MetadataManager(
            transport,
            max_age_ms=cfg["metadata.max.age.ms"],
            allow_auto_create=bool(cfg["allow.auto.create.topics"]),
            request_timeout=self.request_timeout_s,
            retry_backoff_ms=cfg["retry.backoff.ms"],
        )
        self.subscriptions = SubscriptionState(cfg["auto.offset.reset"])
        self.fetcher = Fetcher(
            transport,
            self.metadata,
            self.subscriptions,
            min_bytes=cfg["fetch.min.bytes"],
            max_bytes=cfg["fetch.max.bytes"],
            max_wait_ms=cfg["fetch.max.wait.ms"],
            partition_max_bytes=cfg["max.partition.fetch.bytes"],
            read_committed=cfg["isolation.level"] == "read_committed",
            request_timeout_s=self.request_timeout_s,
            retry_backoff_s=cfg["retry.backoff.ms"] / 1000,
        )
        self.max_poll_records = cfg["max.poll.records"]
        self._key_deserializer: Deserializer | None = cfg["key.deserializer"]
        self._value_deserializer: Deserializer | None = cfg["value.deserializer"]
        self._stack: contextlib.AsyncExitStack | None = None
        self._closed = False

    # ---------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        if self._stack is not None:
            return
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            if isinstance(self.transport, TcpTransport):
                await stack.enter_async_context(self.transport)
            tg = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(tg.cancel_scope.cancel)
            tg.start_soon(self.fetcher.run, tg)
        except BaseException:
            await stack.__aexit__(None, None, None)
            raise
        self._stack = stack

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.__aexit__(None, None, None)

    async def __aenter__(self) -> AsyncConsumer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise errors.ClientClosedError("the consumer is closed")
        if self._stack is None:
            raise RuntimeError("use the consumer as `async with AsyncConsumer(...) as c:`")

    # ---------------------------------------------------------------------------- assignment

    def assign(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Read exactly these partitions (no group)."""
        self._check_open()
        self.subscriptions.assign(partitions)
        for tp in self.subscriptions.needing_position():
            self.subscriptions.request_reset(tp)
        self.fetcher.poke()

    def assignment(self) -> set[TopicPartition]:
        return set(self.subscriptions.assignment)

    def subscribe(self, topics: Iterable[str] | str, **callbacks: Any) -> None:
        raise errors.IllegalStateError(
            "subscribe() needs consumer groups, which rafka's consumer does not support yet: "
            "use assign()"
        )

    # --------------------------------------------------------------------------------- poll

    async def poll(
        self, timeout: float = 1.0, max_records: int | None = None
    ) -> list[ConsumerRecord]:
        """Records from the assigned partitions: at once if any are buffered, else waiting up
        to ``timeout`` seconds."""
        self._check_open()
        limit = max_records or self.max_poll_records
        with anyio.move_on_after(timeout):
            while True:
                self._raise_failure()
                records = self.fetcher.take(limit)
                if records:
                    return self._deserialize(records)
                arrived = self.fetcher.arrived
                self.fetcher.poke()
                await arrived.wait()
        self._raise_failure()
        return self._deserialize(self.fetcher.take(limit))

    def _raise_failure(self) -> None:
        failure, self.fetcher.failure = self.fetcher.failure, None
        if failure is not None:
            raise failure

    def _deserialize(self, records: list[ConsumerRecord]) -> list[ConsumerRecord]:
        if self._key_deserializer is None and self._value_deserializer is None:
            return records
        kd, vd = self._key_deserializer, self._value_deserializer
        out = []
        for r in records:
            out.append(
                ConsumerRecord(
                    r.topic,
                    r.partition,
                    r.offset,
                    r.timestamp,
                    r.timestamp_type,
                    kd(r.key) if kd else r.key,
                    vd(r.value) if vd else r.value,
                    r.headers,
                    r.leader_epoch,
                )
            )
        return out

    def __aiter__(self) -> AsyncIterator[ConsumerRecord]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[ConsumerRecord]:
        while True:
            for record in await self.poll(timeout=60.0):
                yield record

    # ---------------------------------------------------------------------------- positions

    def seek(self, tp: tuple[str, int], offset: int) -> None:
        """Read ``tp`` from ``offset`` next."""
        self.subscriptions.seek(tp, offset)
        self.fetcher.poke()

    def seek_to_beginning(self, *partitions: tuple[str, int]) -> None:
        for tp in partitions or tuple(self.subscriptions.assignment):
            self.subscriptions.request_reset(tp, "earliest")
        self.fetcher.poke()

    def seek_to_end(self, *partitions: tuple[str, int]) -> None:
        for tp in partitions or tuple(self.subscriptions.assignment):
            self.subscriptions.request_reset(tp, "latest")
        self.fetcher.poke()

    async def position(self, tp: tuple[str, int], timeout: float = 30.0) -> int:
        """The offset of the next record ``poll`` will return for ``tp``."""
        self._check_open()
        state = self.subscriptions.state(tp)
        with anyio.fail_after(timeout):
            while state.position is None:
                self._raise_failure()
                arrived = self.fetcher.arrived
                self.fetcher.poke()
                await arrived.wait()
        return state.position

    def pause(self, *partitions: tuple[str, int]) -> None:
        self.subscriptions.pause(partitions)

    def resume(self, *partitions: tuple[str, int]) -> None:
        self.subscriptions.resume(partitions)
        self.fetcher.poke()

    def paused(self) -> set[TopicPartition]:
        return self.subscriptions.paused()

    # ------------------------------------------------------------------------------ lookups

    async def offsets_for_times(
        self, timestamps: Mapping[tuple[str, int], int]
    ) -> dict[TopicPartition, OffsetAndTimestamp | None]:
        """The first offset at or after each timestamp (None where there is none)."""
        return await self._list_offsets(timestamps)

    async def beginning_offsets(
        self, partitions: Iterable[tuple[str, int]]
    ) -> dict[TopicPartition, int]:
        found = await self._list_offsets({tp: EARLIEST for tp in partitions})
        return {tp: o.offset for tp, o in found.items() if o is not None}

    async def end_offsets(self, partitions: Iterable[tuple[str, int]]) -> dict[TopicPartition, int]:
        found = await self._list_offsets({tp: LATEST for tp in partitions})
        return {tp: o.offset for tp, o in found.items() if o is not None}

    async def _list_offsets(
        self, timestamps: Mapping[tuple[str, int], int]
    ) -> dict[TopicPartition, OffsetAndTimestamp | None]:
        self._check_open()
        wanted = {TopicPartition(*tp): ts for tp, ts in timestamps.items()}
        result: dict[TopicPartition, OffsetAndTimestamp | None] = {}
        with anyio.fail_after(self.request_timeout_s):
            while len(result) < len(wanted):
                pending = [tp for tp in wanted if tp not in result]
                for topic in {tp.topic for tp in pending}:
                    await self.metadata.topic(topic, self.request_timeout_s)
                by_leader: dict[int, list[TopicPartition]] = {}
                for tp in pending:
                    leader = self.metadata.cache.leader(*tp)
                    if leader is None:
                        raise errors.UnknownTopicOrPartitionError(f"{tp.topic}-{tp.partition}")
                    by_leader.setdefault(leader, []).append(tp)
                retry = False
                for leader, tps in by_leader.items():
                    retry |= await self._list_offsets_at(leader, tps, wanted, result)
                if retry:
                    await self.metadata.refresh()
        return result

    async def _list_offsets_at(
        self,
        leader: int,
        tps: list[TopicPartition],
        wanted: dict[TopicPartition, int],
        result: dict[TopicPartition, OffsetAndTimestamp | None],
    ) -> bool:
        by_topic: dict[str, list[ListOffsetsRequest.ListOffsetsPartition]] = {}
        for tp in tps:
            by_topic.setdefault(tp.topic, []).append(
                ListOffsetsRequest.ListOffsetsPartition(tp.partition, -1, wanted[tp])
            )
        request = ListOffsetsRequest(
            replica_id=-1,
            isolation_level=1 if self.fetcher.read_committed else 0,
            topics=[ListOffsetsRequest.ListOffsetsTopic(t, ps) for t, ps in by_topic.items()],
        )
        response = await self.transport.request(leader, request, timeout=self.request_timeout_s)
        assert isinstance(response, ListOffsetsResponse)
        retry = False
        for topic in response.topics:
            for part in topic.partitions:
                tp = TopicPartition(topic.name, part.partition_index)
                if part.error_code in (
                    errors.NotLeaderOrFollowerError.code,
                    errors.LeaderNotAvailableError.code,
                    errors.UnknownTopicOrPartitionError.code,
                ):
                    retry = True
                    continue
                if part.error_code:
                    raise errors.for_code(part.error_code)(f"{tp.topic}-{tp.partition}")
                result[tp] = (
                    None
                    if part.offset < 0
                    else OffsetAndTimestamp(
                        part.offset,
                        part.timestamp,
                        part.leader_epoch if part.leader_epoch >= 0 else None,
                    )
                )
        return retry

"""rafka's asynchronous consumer.

    async with AsyncConsumer(bootstrap_servers="localhost:9092",
                             auto_offset_reset="earliest") as consumer:
        consumer.assign([("orders", 0)])
        async for record in consumer:
            ...

``poll()`` returns buffered records at once when there are any, else waits up to ``timeout``
for the next fetch; the fetcher keeps the next fetch in flight while the application works.
Positions start at ``auto.offset.reset`` (earliest/latest) unless seeked.

With a ``group_id`` the consumer can ``subscribe()`` to topics (or a pattern) and share
them with the group's other members -- rafka's, Java's, librdkafka's -- through Kafka's
classic group protocol (``group_protocol="classic"``, the default: :mod:`.coordinator`) or
the consumer group protocol of KIP-848 (``group_protocol="consumer"``:
:mod:`.consumer_group`), and commit offsets (automatically every
``auto.commit.interval.ms``, or with :meth:`AsyncConsumer.commit`). Partitions start at the
group's committed offset, else at ``auto.offset.reset``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

import anyio
import anyio.abc

from rafka import errors
from rafka.clients.config import CONSUMER_KEYS, ClientConfig
from rafka.clients.consumer.consumer_group import ConsumerGroupMember
from rafka.clients.consumer.coordinator import GroupCoordinator
from rafka.clients.consumer.fetcher import EARLIEST, LATEST, Fetcher
from rafka.clients.consumer.group import Callback, GroupClient
from rafka.clients.consumer.records import ConsumerRecord
from rafka.clients.consumer.subscription import SubscriptionState
from rafka.clients.metadata import MetadataManager
from rafka.clients.tcp import TcpTransport
from rafka.clients.transport import Transport, TransportError
from rafka.clients.types import OffsetAndTimestamp, TopicPartition
from rafka.protocol.messages import ListOffsetsRequest, ListOffsetsResponse

__all__ = ["AsyncConsumer"]

log = logging.getLogger("rafka.consumer")

Deserializer = Callable[[bytes | None], Any]

#: Settings each group protocol rejects when they are set, as Java's ConsumerConfig does (the
#: consumer protocol's coordinator assigns partitions and sets the session timeout and the
#: heartbeat interval; the classic protocol has no server-side assignor).
UNSUPPORTED_BY_PROTOCOL = {
    "classic": ("group.remote.assignor",),
    "consumer": ("partition.assignment.strategy", "heartbeat.interval.ms", "session.timeout.ms"),
}
_HINT = {
    "classic": "group.remote.assignor applies to group_protocol='consumer' only",
    "consumer": (
        "with group_protocol='consumer' the group coordinator assigns the partitions (pick "
        "its assignor with group_remote_assignor) and sets the session timeout and heartbeat "
        "interval (the broker's group.consumer.* settings)"
    ),
}


def _check_group_protocol(cfg: ClientConfig) -> str:
    """The group protocol, refusing settings that do not apply to it."""
    protocol = str(cfg["group.protocol"]).lower()
    invalid = [
        name
        for name in UNSUPPORTED_BY_PROTOCOL[protocol]
        if cfg.is_set(name) and cfg[name] not in (None, "", [])
    ]
    if invalid:
        raise errors.ConfigError(
            f"{', '.join(invalid)} cannot be set when group.protocol={protocol.upper()} "
            f"({_HINT[protocol]})"
        )
    return protocol


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
        self.coordinator: GroupClient | None = None
        protocol = _check_group_protocol(cfg)
        if cfg["group.id"] and protocol == "consumer":
            self.coordinator = ConsumerGroupMember(
                transport,
                self.metadata,
                self.subscriptions,
                self.fetcher,
                group_id=cfg["group.id"],
                instance_id=cfg["group.instance.id"],
                rebalance_timeout_ms=cfg["max.poll.interval.ms"],
                server_assignor=cfg["group.remote.assignor"] or None,
                auto_commit=bool(cfg["enable.auto.commit"]),
                auto_commit_interval_ms=cfg["auto.commit.interval.ms"],
                request_timeout_s=self.request_timeout_s,
                retry_backoff_s=cfg["retry.backoff.ms"] / 1000,
                retry_backoff_max_s=cfg["retry.backoff.max.ms"] / 1000,
                client_id=cfg["client.id"] or "rafka-consumer",
            )
        elif cfg["group.id"]:
            self.coordinator = GroupCoordinator(
                transport,
                self.metadata,
                self.subscriptions,
                self.fetcher,
                group_id=cfg["group.id"],
                instance_id=cfg["group.instance.id"],
                session_timeout_ms=cfg["session.timeout.ms"],
                rebalance_timeout_ms=cfg["max.poll.interval.ms"],
                heartbeat_interval_ms=cfg["heartbeat.interval.ms"],
                assignors=cfg["partition.assignment.strategy"],
                auto_commit=bool(cfg["enable.auto.commit"]),
                auto_commit_interval_ms=cfg["auto.commit.interval.ms"],
                request_timeout_s=self.request_timeout_s,
                retry_backoff_s=cfg["retry.backoff.ms"] / 1000,
                client_id=cfg["client.id"] or "rafka-consumer",
            )
        self._manual_assignment = False
        self._key_deserializer: Deserializer | None = cfg["key.deserializer"]
        self._value_deserializer: Deserializer | None = cfg["value.deserializer"]
        self.default_api_timeout_s = cfg["default.api.timeout.ms"] / 1000
        self._stack: contextlib.AsyncExitStack | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
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
            self._task_group = tg
            tg.start_soon(self.fetcher.run, tg)
            if self.coordinator is not None:
                tg.start_soon(self.coordinator.run)
        except BaseException:
            await stack.__aexit__(None, None, None)
            raise
        self._stack = stack

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._stack is not None:
            if self.coordinator is not None:
                await self._leave_group()
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
        """Read exactly these partitions, outside any group's assignment. With a ``group_id``
        they start at the group's committed offsets and commits go to that group."""
        self._check_open()
        if self.coordinator is not None and self.coordinator.subscribed:
            raise errors.IllegalStateError(
                "the consumer is subscribed: unsubscribe() before assign()"
            )
        partitions = [TopicPartition(*tp) for tp in partitions]
        self._manual_assignment = bool(partitions)
        self.subscriptions.assign(partitions)
        fresh = self.subscriptions.needing_position()
        if self.coordinator is not None and fresh and self._task_group is not None:
            self._task_group.start_soon(self._start_from_committed, fresh)
        else:
            for tp in fresh:
                self.subscriptions.request_reset(tp)
        self.fetcher.poke()

    async def _start_from_committed(self, partitions: list[TopicPartition]) -> None:
        assert self.coordinator is not None
        try:
            committed = await self.coordinator.committed(partitions, self.request_timeout_s)
        except errors.RafkaError as exc:
            self.fetcher.failure = exc
            return
        for tp in partitions:
            state = self.subscriptions.assignment.get(tp)
            if state is None or state.position is not None or state.reset is not None:
                continue  # unassigned or seeked meanwhile
            if tp in committed:
                self.subscriptions.seek(tp, committed[tp])
            else:
                self.subscriptions.request_reset(tp)
        self.fetcher.poke()

    def assignment(self) -> set[TopicPartition]:
        return set(self.subscriptions.assignment)

    def subscribe(
        self,
        topics: Iterable[str] | str = (),
        *,
        pattern: str | None = None,
        on_assign: Callback | None = None,
        on_revoke: Callback | None = None,
    ) -> None:
        """Join the consumer's group (``group_id``) for ``topics``, or for every topic whose
        name matches the regular expression ``pattern`` (a topic name starting with ``^`` is
        taken as a pattern too, as librdkafka does). The group's members share the topics'
        partitions; ``poll`` returns records from this member's share.

        ``on_assign(partitions)`` runs after each rebalance with the partitions this member
        now owns (positions are already set: seek there to override), ``on_revoke`` before
        a rebalance with those it gives up (commit there if you commit by hand). Either may
        be a coroutine function. The classic protocol revokes every partition before each
        rebalance and assigns the whole new set; with ``group_protocol="consumer"`` both see
        only what changes (``on_assign`` runs after every reconciliation, maybe with no
        partitions), and ``subscription()`` of a pattern lists the topics of this member's
        assignment (the group coordinator matches the pattern).
        """
        self._check_open()
        if self.coordinator is None:
            raise errors.IllegalStateError(
                "subscribe() needs a group: set group_id (or use assign())"
            )
        if self._manual_assignment:
            raise errors.IllegalStateError(
                "partitions were assigned by hand: assign([]) before subscribe()"
            )
        names = [topics] if isinstance(topics, str) else list(topics)
        regexes = [t for t in names if t.startswith("^")]
        if regexes:
            if pattern is not None or len(names) > 1:
                raise errors.IllegalStateError(
                    "subscribe to one pattern or to a list of topic names, not both"
                )
            pattern, names = regexes[0], []
        if not names and pattern is None:
            self.unsubscribe()
            return
        self.coordinator.on_assign = on_assign
        self.coordinator.on_revoke = on_revoke
        self.coordinator.subscribe(names, pattern)

    def subscription(self) -> set[str]:
        """The topics subscribed to (for a pattern, those it currently matches)."""
        if self.coordinator is None:
            return set()
        return self.coordinator.subscribed_topics()

    def unsubscribe(self) -> None:
        """Leave the group's assignment and stop reading every partition."""
        self._check_open()
        self._manual_assignment = False
        if self.coordinator is not None and self.coordinator.subscribed:
            self.coordinator.unsubscribe()
        else:
            self.subscriptions.assign([])

    # ------------------------------------------------------------------------------ commits

    def _group(self) -> GroupClient:
        self._check_open()
        if self.coordinator is None:
            raise errors.IllegalStateError("committing offsets needs a group: set group_id")
        return self.coordinator

    async def commit(
        self,
        offsets: Mapping[tuple[str, int], int] | None = None,
        *,
        metadata: str = "",
        timeout: float | None = None,
    ) -> None:
        """Commit, for the group, the next offset to read per partition: ``offsets``, or
        the position of every assigned partition (all records ``poll`` returned so far).

        Raises :class:`~rafka.errors.CommitFailedError` when the group rebalanced since the
        partitions were assigned.
        """
        group = self._group()
        if offsets is None:
            wanted = {
                tp: s.position
                for tp, s in self.subscriptions.assignment.items()
                if s.position is not None
            }
        else:
            wanted = {TopicPartition(*tp): offset for tp, offset in offsets.items()}
        if wanted:
            await group.commit(wanted, metadata, timeout or self.default_api_timeout_s)

    async def committed(
        self, partitions: Iterable[tuple[str, int]], *, timeout: float | None = None
    ) -> dict[TopicPartition, int]:
        """The group's committed offsets for ``partitions`` (those without one are left
        out)."""
        group = self._group()
        return await group.committed(
            [TopicPartition(*tp) for tp in partitions], timeout or self.default_api_timeout_s
        )

    async def _leave_group(self) -> None:
        """On close: commit (when auto-committing), hand the partitions back, leave."""
        assert self.coordinator is not None
        group = self.coordinator
        with anyio.move_on_after(self.request_timeout_s, shield=True):
            try:
                if group.auto_commit and (group.in_group or not group.subscribed):
                    await group.commit_positions(self.request_timeout_s)
                if group.subscribed or group.leave_pending:
                    await group.revoke_and_leave()
            except errors.RafkaError as exc:
                log.warning("closing the consumer of group %s: %s", group.group_id, exc)

    # --------------------------------------------------------------------------------- poll

    async def poll(
        self, timeout: float = 1.0, max_records: int | None = None
    ) -> list[ConsumerRecord]:
        """Records from the assigned partitions: at once if any are buffered, else waiting up
        to ``timeout`` seconds."""
        self._check_open()
        limit = max_records or self.max_poll_records
        group = self.coordinator
        if group is None:
            return await self._poll(timeout, limit)
        group.polled()
        group.polling = True
        try:
            return await self._poll(timeout, limit)
        finally:
            group.polling = False
            group.polled()

    async def _poll(self, timeout: float, limit: int) -> list[ConsumerRecord]:
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
        if failure is None and self.coordinator is not None:
            failure, self.coordinator.failure = self.coordinator.failure, None
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
        self, timestamps: Mapping[tuple[str, int], int], timeout: float | None = None
    ) -> dict[TopicPartition, OffsetAndTimestamp | None]:
        """ListOffsets at each partition's leader, retrying through leader moves and broken
        connections for up to ``timeout`` (``default.api.timeout.ms``)."""
        self._check_open()
        wanted = {TopicPartition(*tp): ts for tp, ts in timestamps.items()}
        result: dict[TopicPartition, OffsetAndTimestamp | None] = {}
        limit = self.default_api_timeout_s if timeout is None else timeout
        deadline = anyio.current_time() + limit
        last: BaseException | None = None
        with anyio.move_on_after(limit):
            while len(result) < len(wanted):
                pending = [tp for tp in wanted if tp not in result]
                for topic in {tp.topic for tp in pending}:
                    await self.metadata.topic(topic, max(0.0, deadline - anyio.current_time()))
                by_leader: dict[int, list[TopicPartition]] = {}
                for tp in pending:
                    leader = self.metadata.cache.leader(*tp)
                    if leader is None:
                        raise errors.UnknownTopicOrPartitionError(f"{tp.topic}-{tp.partition}")
                    by_leader.setdefault(leader, []).append(tp)
                retry = False
                for leader, tps in by_leader.items():
                    try:
                        retry |= await self._list_offsets_at(leader, tps, wanted, result)
                    except (TransportError, errors.RequestTimedOutError) as exc:
                        last, retry = exc, True
                if retry:
                    await anyio.sleep(self.fetcher.retry_backoff_s)
                    self.metadata.mark_stale()
            return result
        raise errors.ClientTimeoutError(
            f"listing offsets of {sorted(wanted)} took over {limit:g} s (last error: {last})"
        )

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

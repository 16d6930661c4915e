"""What a consumer needs of its group, whichever group protocol it speaks.

:class:`GroupClient` is the part the classic protocol (:mod:`.coordinator`) and the consumer
protocol of KIP-848 (:mod:`.consumer_group`) share: finding the group's coordinator
(FindCoordinator), committing offsets (OffsetCommit) and reading them back (OffsetFetch),
retrying through coordinator moves, and the rebalance callbacks. A subclass keeps the member
in its group and says who is committing: the classic protocol's generation and member id, or
the consumer protocol's member epoch and member id.

The interface :class:`~rafka.clients.consumer.consumer.AsyncConsumer` uses::

    run()                      the task that keeps the member in the group (until cancelled)
    subscribe(topics, pattern) join (or change the subscription); unsubscribe() leaves
    polled()                   the application polled (max.poll.interval.ms starts again)
    commit(offsets, ...)       commit for the group; committed(partitions) reads back
    commit_positions(timeout)  commit every assigned partition's position
    revoke_and_leave()         on close: hand the partitions back (on_revoke) and leave
    subscribed, in_group, leave_pending, subscribed_topics(), on_assign, on_revoke, failure
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

import anyio

from rafka import errors
from rafka.clients.consumer.fetcher import Fetcher
from rafka.clients.consumer.subscription import SubscriptionState
from rafka.clients.metadata import MetadataManager
from rafka.clients.transport import (
    Node,
    Transport,
    TransportError,
    choose_version,
    coordinator_node,
)
from rafka.clients.types import TopicPartition
from rafka.protocol.messages import (
    FindCoordinatorRequest,
    FindCoordinatorResponse,
    OffsetCommitRequest,
    OffsetCommitResponse,
    OffsetFetchRequest,
    OffsetFetchResponse,
)

__all__ = ["RETRY_COORDINATOR", "Callback", "GroupClient", "call_listener", "now"]

log = logging.getLogger("rafka.consumer.group")

#: Errors that mean "find the coordinator again, then retry".
RETRY_COORDINATOR = frozenset(
    {
        errors.CoordinatorNotAvailableError.code,
        errors.NotCoordinatorError.code,
        errors.CoordinatorLoadInProgressError.code,
    }
)
Callback = Callable[[list[TopicPartition]], Any]
T = TypeVar("T")
now = time.monotonic


async def call_listener(callback: Callback, partitions: list[TopicPartition]) -> None:
    """Run a rebalance callback (a plain function or a coroutine function)."""
    result = callback(partitions)
    if hasattr(result, "__await__"):
        await result


class GroupClient(abc.ABC):
    """A consumer's membership of its group, and the group's offsets."""

    def __init__(
        self,
        transport: Transport,
        metadata: MetadataManager,
        subscriptions: SubscriptionState,
        fetcher: Fetcher,
        *,
        group_id: str,
        instance_id: str | None,
        rebalance_timeout_ms: int,
        auto_commit: bool,
        auto_commit_interval_ms: int,
        request_timeout_s: float,
        retry_backoff_s: float,
        client_id: str,
    ) -> None:
        self.transport = transport
        self.metadata = metadata
        self.subs = subscriptions
        self.fetcher = fetcher
        self.group_id = group_id
        self.instance_id = instance_id
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.auto_commit = auto_commit
        self.auto_commit_s = auto_commit_interval_ms / 1000
        self.request_timeout_s = request_timeout_s
        self.retry_backoff_s = retry_backoff_s
        self.client_id = client_id
        self.coordinator: int | None = None
        self.member_id = ""
        self.on_assign: Callback | None = None
        self.on_revoke: Callback | None = None
        self.last_poll = now()
        #: Inside ``poll()``: the application is not busy elsewhere (Java's consumer resets its
        #: poll timer on every round of a long poll, too).
        self.polling = False
        self.max_poll_s = rebalance_timeout_ms / 1000
        self.wake = anyio.Event()
        #: Raised from the application's next poll.
        self.failure: BaseException | None = None

    # ------------------------------------------------------------------------- membership

    @property
    def subscribed(self) -> bool:
        return bool(self.subs.topics) or self.subs.pattern is not None

    @property
    @abc.abstractmethod
    def in_group(self) -> bool:
        """Whether the member belongs to the group now (commits carry its identity)."""

    @property
    def leave_pending(self) -> bool:
        """Whether an unsubscribe has yet to be sent to the coordinator."""
        return False

    @abc.abstractmethod
    async def run(self) -> None:
        """Keep the member in its group (and auto-commit) until cancelled."""

    @abc.abstractmethod
    def subscribe(self, topics: Iterable[str] | None, pattern: str | None) -> None: ...

    @abc.abstractmethod
    def unsubscribe(self) -> None: ...

    @abc.abstractmethod
    def polled(self) -> None: ...

    def poll_overdue(self) -> bool:
        """The application has not called ``poll()`` for ``max.poll.interval.ms``."""
        return not self.polling and now() - self.last_poll > self.max_poll_s

    @abc.abstractmethod
    def subscribed_topics(self) -> set[str]: ...

    @abc.abstractmethod
    async def revoke_and_leave(self) -> None:
        """Give up the assignment (running ``on_revoke``) and leave the group."""

    # ------------------------------------------------------------------------ coordinator

    async def _send(
        self,
        api_key: int,
        build: Callable[[int], Any],
        node: int | None = None,
        extra_timeout: float = 0.0,
    ) -> Any:
        """Build the request for the version the node speaks, send it, return the answer."""
        if node is None:
            node = await self._coordinator_node()
        versions = await self.transport.api_versions(node)
        version = choose_version(api_key, versions.get(api_key), None)
        return await self.transport.request(
            node, build(version), version=version, timeout=self.request_timeout_s + extra_timeout
        )

    async def _coordinator_node(self) -> int:
        while self.coordinator is None:
            await self._find_coordinator()
        return self.coordinator

    async def _find_coordinator(self) -> None:
        nodes = sorted(self.metadata.cache.brokers) or self.transport.bootstrap_nodes()

        def build(version: int) -> FindCoordinatorRequest:
            if version >= 4:
                return FindCoordinatorRequest(key_type=0, coordinator_keys=[self.group_id])
            return FindCoordinatorRequest(key=self.group_id, key_type=0)

        response = await self._send(10, build, node=nodes[0])
        assert isinstance(response, FindCoordinatorResponse)
        if response.coordinators:  # v4+: one answer per key
            found = response.coordinators[0]
            code, node_id, host, port = found.error_code, found.node_id, found.host, found.port
        else:
            code, node_id = response.error_code, response.node_id
            host, port = response.host, response.port
        if code:
            self.metadata.mark_stale()
            raise errors.for_code(code)(f"finding the coordinator of {self.group_id!r}")
        self.transport.update_nodes([Node(node_id, host, port)])
        self.coordinator = coordinator_node(node_id)

    # ---------------------------------------------------------------------------- offsets

    def _commit_identity(self) -> tuple[int, str]:
        """(generation id or member epoch, member id) that OffsetCommit carries."""
        return -1, ""

    def _fetch_identity(self) -> tuple[str | None, int]:
        """(member id, member epoch) that OffsetFetch v9+ carries (None, -1: not checked)."""
        return None, -1

    def _commit_failed(self, code: int) -> bool:
        """Whether an OffsetCommit error means the group moved on without this member
        (raised as :class:`~rafka.errors.CommitFailedError`); may note that a rejoin is due."""
        return False

    def _retriable(self, exc: errors.KafkaError) -> bool:
        return exc.retriable

    def positions(self) -> dict[TopicPartition, int]:
        """Every assigned partition's position (what committing "everything consumed" means)."""
        return {tp: s.position for tp, s in self.subs.assignment.items() if s.position is not None}

    async def commit_positions(self, timeout: float) -> None:
        positions = self.positions()
        if positions:
            await self.commit(positions, "", timeout)

    async def _commit_positions(self) -> None:
        positions = self.positions()
        if positions:
            await self._commit_once(positions, "")

    async def _retrying(self, what: str, attempt: Callable[[], Awaitable[T]], timeout: float) -> T:
        """``attempt()`` until it succeeds, retrying through coordinator moves and retriable
        errors for up to ``timeout`` seconds."""
        last: BaseException | None = None
        with anyio.move_on_after(timeout):
            while True:
                try:
                    return await attempt()
                except (TransportError, errors.RequestTimedOutError) as exc:
                    self.coordinator, last = None, exc
                except errors.KafkaError as exc:
                    if exc.code in RETRY_COORDINATOR:
                        self.coordinator = None
                    elif not self._retriable(exc):
                        raise
                    last = exc
                await anyio.sleep(self.retry_backoff_s)
        raise errors.ClientTimeoutError(f"{what}: gave up after {timeout:g}s (last error: {last})")

    async def commit(
        self, offsets: Mapping[TopicPartition, int], metadata: str = "", timeout: float = 60.0
    ) -> None:
        """Commit ``offsets`` (the next offset to read, per partition) for this group, retrying
        through coordinator moves for up to ``timeout`` seconds."""
        await self._retrying(
            f"committing offsets of group {self.group_id!r}",
            lambda: self._commit_once(offsets, metadata),
            timeout,
        )

    async def _commit_once(self, offsets: Mapping[TopicPartition, int], metadata: str) -> None:
        by_topic: dict[str, list[OffsetCommitRequest.OffsetCommitRequestPartition]] = {}
        for tp, offset in offsets.items():
            by_topic.setdefault(tp[0], []).append(
                OffsetCommitRequest.OffsetCommitRequestPartition(
                    partition_index=tp[1], committed_offset=offset, committed_metadata=metadata
                )
            )
        topics = [
            OffsetCommitRequest.OffsetCommitRequestTopic(name=t, partitions=ps)
            for t, ps in by_topic.items()
        ]
        epoch, member_id = self._commit_identity()
        response = await self._send(
            8,
            lambda version: OffsetCommitRequest(
                group_id=self.group_id,
                generation_id_or_member_epoch=epoch,
                member_id=member_id,
                group_instance_id=self.instance_id,
                topics=topics,
            ),
        )
        assert isinstance(response, OffsetCommitResponse)
        for topic in response.topics:
            for part in topic.partitions:
                code = part.error_code
                if code == 0:
                    continue
                if code in RETRY_COORDINATOR:
                    self.coordinator = None
                cause = errors.for_code(code)(f"committing {topic.name}-{part.partition_index}")
                if self._commit_failed(code):
                    raise errors.CommitFailedError(
                        f"commit failed ({cause.name}): the group rebalanced"
                    ) from cause
                raise cause

    async def committed(
        self, partitions: Iterable[tuple[str, int]], timeout: float = 60.0
    ) -> dict[TopicPartition, int]:
        """The group's committed offsets (partitions without one are left out)."""
        wanted = list(partitions)
        return await self._retrying(
            f"fetching committed offsets of group {self.group_id!r}",
            lambda: self._committed_once(wanted),
            timeout,
        )

    async def _committed_once(self, partitions: list[tuple[str, int]]) -> dict[TopicPartition, int]:
        by_topic: dict[str, list[int]] = {}
        for topic, partition in partitions:
            by_topic.setdefault(topic, []).append(partition)
        F = OffsetFetchRequest
        member_id, member_epoch = self._fetch_identity()

        def build(version: int) -> OffsetFetchRequest:
            if version >= 8:
                return F(
                    groups=[
                        F.OffsetFetchRequestGroup(
                            self.group_id,
                            member_id=member_id if version >= 9 else None,
                            member_epoch=member_epoch if version >= 9 else -1,
                            topics=[
                                F.OffsetFetchRequestTopics(t, partition_indexes=ps)
                                for t, ps in by_topic.items()
                            ],
                        )
                    ],
                    require_stable=True,
                )
            return F(
                group_id=self.group_id,
                topics=[F.OffsetFetchRequestTopic(t, ps) for t, ps in by_topic.items()],
                require_stable=version >= 7,
            )

        response = await self._send(9, build)
        assert isinstance(response, OffsetFetchResponse)
        out: dict[TopicPartition, int] = {}
        if response.groups:
            group = response.groups[0]
            if group.error_code:
                raise errors.for_code(group.error_code)(f"fetching offsets of {self.group_id!r}")
            entries = [
                (t.name, p.partition_index, p.committed_offset, p.error_code)
                for t in group.topics
                for p in t.partitions
            ]
        else:
            if response.error_code:
                raise errors.for_code(response.error_code)(f"fetching offsets of {self.group_id!r}")
            entries = [
                (t.name, p.partition_index, p.committed_offset, p.error_code)
                for t in response.topics
                for p in t.partitions
            ]
        for topic, partition, offset, code in entries:
            if code:
                raise errors.for_code(code)(f"committed offset of {topic}-{partition}")
            if offset >= 0:
                out[TopicPartition(topic, partition)] = offset
        return out

    async def _call(self, callback: Callback | None, partitions: list[TopicPartition]) -> None:
        if callback is not None:
            await call_listener(callback, partitions)

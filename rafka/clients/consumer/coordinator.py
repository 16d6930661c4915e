"""The consumer's side of the classic group protocol (eager rebalancing).

One task (:meth:`GroupCoordinator.run`) keeps the member in its group::

    find the coordinator     FindCoordinator (retry on COORDINATOR_NOT_AVAILABLE)
    join                     revoke the current assignment (commit first when auto-committing),
                             JoinGroup (again with the member id on MEMBER_ID_REQUIRED);
                             the leader assigns every member's partitions with the chosen
                             assignor; SyncGroup; take the assignment and the committed offsets
    stay                     Heartbeat every heartbeat.interval.ms; REBALANCE_IN_PROGRESS means
                             rejoin, UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION mean rejoin as a
                             new member, FENCED_INSTANCE_ID is fatal; auto-commit every
                             auto.commit.interval.ms; a poll gap over max.poll.interval.ms
                             leaves the group until the next poll
    leave                    on close (dynamic members only): LeaveGroup

Partitions' starting positions come from the group's committed offsets, else from
``auto.offset.reset``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import anyio

from rafka import errors
from rafka.clients.consumer.assignors import ASSIGNORS, assignor_names
from rafka.clients.consumer.fetcher import Fetcher
from rafka.clients.consumer.group import RETRY_COORDINATOR, Callback, GroupClient, call_listener
from rafka.clients.consumer.group import now as _now
from rafka.clients.consumer.protocol import (
    PROTOCOL_TYPE,
    decode_assignment,
    decode_subscription,
    encode_assignment,
    encode_subscription,
)
from rafka.clients.consumer.subscription import SubscriptionState
from rafka.clients.metadata import MetadataManager
from rafka.clients.transport import Transport, TransportError
from rafka.clients.types import TopicPartition
from rafka.protocol.messages import (
    HeartbeatRequest,
    HeartbeatResponse,
    JoinGroupRequest,
    JoinGroupResponse,
    LeaveGroupRequest,
    SyncGroupRequest,
    SyncGroupResponse,
)

__all__ = ["Callback", "GroupCoordinator"]

log = logging.getLogger("rafka.consumer.group")

_REJOIN_AS_NEW = {errors.UnknownMemberIdError.code, errors.IllegalGenerationError.code}


class GroupCoordinator(GroupClient):
    """The consumer's side of the classic group protocol (see the module docstring)."""

    def __init__(
        self,
        transport: Transport,
        metadata: MetadataManager,
        subscriptions: SubscriptionState,
        fetcher: Fetcher,
        *,
        group_id: str,
        instance_id: str | None,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        heartbeat_interval_ms: int,
        assignors: list[str],
        auto_commit: bool,
        auto_commit_interval_ms: int,
        request_timeout_s: float,
        retry_backoff_s: float,
        client_id: str,
    ) -> None:
        super().__init__(
            transport,
            metadata,
            subscriptions,
            fetcher,
            group_id=group_id,
            instance_id=instance_id,
            rebalance_timeout_ms=rebalance_timeout_ms,
            auto_commit=auto_commit,
            auto_commit_interval_ms=auto_commit_interval_ms,
            request_timeout_s=request_timeout_s,
            retry_backoff_s=retry_backoff_s,
            client_id=client_id,
        )
        self.session_timeout_ms = session_timeout_ms
        self.heartbeat_s = heartbeat_interval_ms / 1000
        self.assignors = assignor_names(assignors)
        self.generation = -1
        self.protocol: str | None = None
        self.rejoin_needed = False  # until subscribe()
        self.joined = anyio.Event()
        self._assigned_counts: dict[str, int] | None = None  # the leader's last view
        self._matched: set[str] | None = None
        self._leave_requested = False
        self._listed_at = -1e9  # when topics were last listed for a pattern

    @property
    def in_group(self) -> bool:
        return self.generation >= 0

    # ---------------------------------------------------------------------------- triggers

    def subscribe(self, topics: Iterable[str] | None, pattern: str | None) -> None:
        self.subs.topics = set(topics or ())
        self.subs.pattern = pattern
        self._matched = None
        self.rejoin_needed = self.subscribed
        self.wake.set()

    def subscribed_topics(self) -> set[str]:
        return self._subscribed_topics() if self.subscribed else set()

    def unsubscribe(self) -> None:
        """Stop being subscribed: the run loop revokes and leaves the group."""
        self.subs.topics, self.subs.pattern = set(), None
        self._leave_requested = True
        self.rejoin_needed = False
        self.wake.set()

    def polled(self) -> None:
        self.last_poll = _now()
        if self.rejoin_needed:
            self.wake.set()

    def _subscribed_topics(self) -> set[str]:
        if self.subs.pattern is None:
            return set(self.subs.topics)
        regex = re.compile(self.subs.pattern)
        return {
            t
            for t, info in self.metadata.cache.topics.items()
            if regex.fullmatch(t) and not info.is_internal
        }

    # ------------------------------------------------------------------------------- loop

    async def run(self) -> None:
        next_commit = _now() + self.auto_commit_s
        while True:
            self.wake = anyio.Event()
            try:
                if self._leave_requested:
                    self._leave_requested = False
                    await self.revoke_and_leave()
                if self.poll_overdue() and self.generation >= 0:
                    log.warning("poll interval exceeded max.poll.interval.ms: leaving group")
                    await self.leave()
                    self.rejoin_needed = True
                await self._refresh_metadata()
                self._check_metadata()
                if self.rejoin_needed and not self.poll_overdue():
                    await self._join()
                elif self.generation >= 0:
                    await self._heartbeat()
                # a subscribed member commits only while it is in the group; an assign()ing
                # consumer with a group.id commits as a "simple" group (generation -1)
                if (
                    self.auto_commit
                    and _now() >= next_commit
                    and (self.generation >= 0 or not self.subscribed)
                ):
                    next_commit = _now() + self.auto_commit_s
                    await self._commit_positions()
            except (TransportError, errors.RequestTimedOutError) as exc:
                log.debug("group %s: %s", self.group_id, exc)
                self.coordinator = None
                await anyio.sleep(self.retry_backoff_s)
                continue
            except (_Rejoin, errors.CommitFailedError):
                self.rejoin_needed = True
                continue
            except errors.KafkaError as exc:
                if exc.code in RETRY_COORDINATOR:
                    self.coordinator = None
                    await anyio.sleep(self.retry_backoff_s)
                    continue
                if exc.retriable:
                    await anyio.sleep(self.retry_backoff_s)
                    continue
                self.failure = exc
                await anyio.sleep(self.retry_backoff_s)
                continue
            with anyio.move_on_after(self.heartbeat_s):
                await self.wake.wait()

    async def _refresh_metadata(self) -> None:
        """Keep the subscribed topics' metadata fresh; a pattern needs every topic's name, so
        it is matched against a full listing at least every ``metadata.max.age.ms``."""
        if self.subs.pattern is not None:
            if self.metadata.needs_refresh or _now() - self._listed_at > self.metadata.max_age:
                await self.metadata.refresh(all_topics=True)
                self._listed_at = _now()
        elif self.subscribed and self.metadata.needs_refresh:
            await self.metadata.refresh()

    def _check_metadata(self) -> None:
        """Rejoin when the topics a pattern matches change, or (as the leader) when a
        subscribed topic's partition count differs from the one it assigned."""
        if self.subs.pattern is not None:
            topics = self._subscribed_topics()
            if topics != self._matched:
                self._matched = topics
                self.metadata.want(topics)
                self.rejoin_needed = True
        if self._assigned_counts is not None and not self.rejoin_needed:
            now = self._partition_counts(set(self._assigned_counts))
            if {t: now.get(t, 0) for t in self._assigned_counts} != self._assigned_counts:
                log.info("group %s: partitions changed, rebalancing", self.group_id)
                self.rejoin_needed = True

    def _partition_counts(self, topics: set[str]) -> dict[str, int]:
        return {
            t: info.partition_count
            for t, info in self.metadata.cache.topics.items()
            if t in topics and info.error_code == 0
        }

    # ------------------------------------------------------------------------------- join

    async def _join(self) -> None:
        if self.subs.assignment:
            # after a failed heartbeat or leaving for a slow poll the partitions are already
            # lost: hand them back without committing (Java's onPartitionsLost)
            await self._revoke(commit=self.generation >= 0)
        topics = self._subscribed_topics()
        self.metadata.want(topics)
        protocols = [
            JoinGroupRequest.JoinGroupRequestProtocol(
                name, encode_subscription(topics, rack_id=None)
            )
            for name in self.assignors
        ]
        while True:

            def build_join(version: int, member_id: str = self.member_id) -> JoinGroupRequest:
                return JoinGroupRequest(
                    group_id=self.group_id,
                    session_timeout_ms=self.session_timeout_ms,
                    rebalance_timeout_ms=self.rebalance_timeout_ms if version >= 1 else -1,
                    member_id=member_id,
                    group_instance_id=self.instance_id,
                    protocol_type=PROTOCOL_TYPE,
                    protocols=protocols,
                )

            response = await self._send(
                11, build_join, extra_timeout=self.rebalance_timeout_ms / 1000
            )
            assert isinstance(response, JoinGroupResponse)
            code = response.error_code
            if code == errors.MemberIdRequiredError.code:
                self.member_id = response.member_id
                continue
            if code in _REJOIN_AS_NEW:
                self.member_id = ""
                continue
            if code == errors.RebalanceInProgressError.code:
                await anyio.sleep(self.retry_backoff_s)
                continue
            if code:
                if code in RETRY_COORDINATOR:
                    self.coordinator = None
                raise errors.for_code(code)(f"joining group {self.group_id!r}")
            break
        self.member_id = response.member_id
        self.generation = response.generation_id
        self.protocol = response.protocol_name
        self._assigned_counts = None
        assignments: list[SyncGroupRequest.SyncGroupRequestAssignment] = []
        if response.leader == response.member_id:
            assignments = await self._assign(response)

        def build_sync(version: int) -> SyncGroupRequest:
            return SyncGroupRequest(
                group_id=self.group_id,
                generation_id=self.generation,
                member_id=self.member_id,
                group_instance_id=self.instance_id,
                protocol_type=PROTOCOL_TYPE if version >= 5 else None,
                protocol_name=self.protocol if version >= 5 else None,
                assignments=assignments,
            )

        sync_response = await self._send(14, build_sync)
        assert isinstance(sync_response, SyncGroupResponse)
        if sync_response.error_code:
            if sync_response.error_code in _REJOIN_AS_NEW:
                self.member_id = ""
            self.generation = -1
            raise _Rejoin()
        await self._assigned(decode_assignment(sync_response.assignment))
        self.rejoin_needed = False
        self.joined.set()

    async def _assign(
        self, response: JoinGroupResponse
    ) -> list[SyncGroupRequest.SyncGroupRequestAssignment]:
        subscriptions = {
            m.member_id: decode_subscription(m.metadata).topics for m in response.members
        }
        topics = {t for ts in subscriptions.values() for t in ts}
        self.metadata.want(topics)
        await self.metadata.refresh()
        counts = self._partition_counts(topics)
        self._assigned_counts = {t: counts.get(t, 0) for t in topics}
        assign = ASSIGNORS[response.protocol_name or self.assignors[0]]
        plan = assign(subscriptions, counts)
        return [
            SyncGroupRequest.SyncGroupRequestAssignment(member, encode_assignment(tps))
            for member, tps in plan.items()
        ]

    async def _assigned(self, partitions: list[TopicPartition]) -> None:
        self.subs.assign(partitions)
        # on_assign runs in the background here, while poll() goes on
        try:
            with self.subs.awaiting_callback(partitions):
                if partitions:
                    committed = await self.committed(partitions)
                    for tp in partitions:
                        offset = committed.get(tp)
                        if offset is not None:
                            self.subs.seek(tp, offset)
                        else:
                            self.subs.request_reset(tp)
                if self.on_assign is not None:
                    await call_listener(self.on_assign, list(partitions))
        finally:
            self.fetcher.poke()

    async def _revoke(self, commit: bool = True) -> None:
        revoked = list(self.subs.assignment)
        if self.auto_commit and commit:
            try:
                await self._commit_positions()
            except (errors.RafkaError, errors.CommitFailedError) as exc:
                log.info("commit before revocation failed: %s", exc)
        if self.on_revoke is not None:
            await call_listener(self.on_revoke, revoked)
        self.subs.assign([])

    # -------------------------------------------------------------------------- heartbeat

    async def _heartbeat(self) -> None:
        response = await self._send(
            12,
            lambda version: HeartbeatRequest(
                group_id=self.group_id,
                generation_id=self.generation,
                member_id=self.member_id,
                group_instance_id=self.instance_id,
            ),
        )
        assert isinstance(response, HeartbeatResponse)
        code = response.error_code
        if code == 0:
            return
        if code == errors.RebalanceInProgressError.code:
            self.rejoin_needed = True
        elif code in _REJOIN_AS_NEW:
            self.member_id, self.generation = "", -1
            self.rejoin_needed = True
        elif code in RETRY_COORDINATOR:
            self.coordinator = None
        else:
            raise errors.for_code(code)(f"heartbeat of group {self.group_id!r}")

    async def revoke_and_leave(self) -> None:
        """Give up the assignment (running ``on_revoke``) and leave the group."""
        if self.subs.assignment:
            await self._revoke(commit=False)
        await self.leave()
        self.rejoin_needed = self.subscribed

    async def leave(self) -> None:
        if self.generation < 0 or self.instance_id is not None or self.coordinator is None:
            return

        def build(version: int) -> LeaveGroupRequest:
            if version >= 3:
                return LeaveGroupRequest(
                    group_id=self.group_id,
                    members=[
                        LeaveGroupRequest.MemberIdentity(
                            self.member_id,
                            None,
                            "the consumer is leaving" if version >= 5 else None,
                        )
                    ],
                )
            return LeaveGroupRequest(group_id=self.group_id, member_id=self.member_id)

        with anyio.move_on_after(self.request_timeout_s):
            try:
                await self._send(13, build)
            except (TransportError, errors.KafkaError) as exc:
                log.debug("leave failed: %s", exc)
        self.member_id, self.generation = "", -1

    # ---------------------------------------------------------------------------- offsets

    def _commit_identity(self) -> tuple[int, str]:
        return self.generation, self.member_id

    def _commit_failed(self, code: int) -> bool:
        if code in _REJOIN_AS_NEW or code == errors.RebalanceInProgressError.code:
            self.rejoin_needed = True
            return True
        return False


class _Rejoin(errors.RafkaError):
    """SyncGroup failed: join again."""

    retriable = True

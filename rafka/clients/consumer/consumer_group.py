"""The consumer's side of the consumer group protocol (KIP-848, ``group.protocol=consumer``).

:class:`ConsumerGroupMember` drives a :class:`~.membership.Membership` (the state machine)
from one task, :meth:`ConsumerGroupMember.run`::

    heartbeat       ConsumerGroupHeartbeat to the coordinator: at once when joining (epoch 0,
                    every field), acknowledging or leaving, else every heartbeat interval the
                    coordinator gives; on failure again after retry.backoff.ms (doubling up
                    to retry.backoff.max.ms), every field included
    reconcile       a new target assignment (topic ids, named through Metadata) is applied
                    in a task of its own, so heartbeats go on meanwhile: pause the partitions
                    that go, commit every position (enable.auto.commit), on_revoke(those that
                    go), drop them; add the new ones at their committed offsets (else
                    auto.offset.reset), on_assign(the new ones, maybe none); acknowledge with
                    the next heartbeat
    fenced          FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID: every partition is lost
                    (on_revoke, no commit); join again with epoch 0
    poll timeout    no poll for max.poll.interval.ms: leave (epoch -1, static members -2),
                    lose the partitions, join again on the next poll
    leave           unsubscribe()/close(): on_revoke(everything), then a heartbeat with epoch
                    -1 (-2 for a static member, whose assignment the coordinator keeps for
                    its session timeout)
    fatal           any other error stops the member: raised from the next poll

Offsets are committed with the member id and epoch (OffsetCommit v9+); a commit the
coordinator refuses for a stale epoch or an unknown member raises
:class:`~rafka.errors.CommitFailedError`. Not yet: rack-aware assignment (``client.rack``),
client-side assignors (KIP-848's ``ClientAssignors``), CloseOptions' REMAIN_IN_GROUP.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import anyio
import anyio.abc

from rafka import errors
from rafka.clients.consumer.fetcher import Fetcher
from rafka.clients.consumer.group import (
    RETRY_COORDINATOR,
    Callback,
    GroupClient,
    call_listener,
    now,
)
from rafka.clients.consumer.membership import Membership, MemberState, Reconciliation
from rafka.clients.consumer.subscription import SubscriptionState
from rafka.clients.metadata import MetadataManager
from rafka.clients.transport import Transport, TransportError, choose_version
from rafka.clients.types import TopicPartition
from rafka.protocol.messages import ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse

__all__ = ["NOT_SUPPORTED", "ConsumerGroupMember"]

log = logging.getLogger("rafka.consumer.group")

S = MemberState
HEARTBEAT = ConsumerGroupHeartbeatRequest.API_KEY
NOT_SUPPORTED = (
    "The cluster does not support the new CONSUMER group protocol. Set group.protocol=classic "
    "on the consumer configs to revert to the CLASSIC protocol until the cluster is upgraded."
)
_FIND_AGAIN = {errors.NotCoordinatorError.code, errors.CoordinatorNotAvailableError.code}
_REJOIN = {errors.FencedMemberEpochError.code, errors.UnknownMemberIdError.code}
_COMMIT_FAILED = {errors.UnknownMemberIdError.code, errors.StaleMemberEpochError.code}
_MAX_WAIT_S = 1.0  # re-check metadata and timers at least this often


class ConsumerGroupMember(GroupClient):
    """A member of a consumer group speaking KIP-848's protocol (see the module docstring)."""

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
        server_assignor: str | None,
        auto_commit: bool,
        auto_commit_interval_ms: int,
        request_timeout_s: float,
        retry_backoff_s: float,
        retry_backoff_max_s: float,
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
        self.membership = Membership(
            group_id,
            instance_id=instance_id,
            rebalance_timeout_ms=rebalance_timeout_ms,
            server_assignor=server_assignor,
        )
        self.member_id = self.membership.member_id
        self.retry_backoff_max_s = max(retry_backoff_max_s, retry_backoff_s)
        self._interval_s = 0.0  # the coordinator's heartbeat interval
        self._next_heartbeat = 0.0
        self._backoff_until = 0.0
        self._failed_attempts = 0
        self._next_commit = now() + self.auto_commit_s
        self._next_resolve = 0.0
        self._next_reconcile = 0.0
        self._next_positions = 0.0
        self._initializing = False
        self._joined_once = False
        self._leave_requested = False
        self._left = anyio.Event()
        self._rejoin_stale = False
        self._callbacks = anyio.Lock()  # the application's callbacks run one at a time
        self._tg: anyio.abc.TaskGroup | None = None

    # ------------------------------------------------------------------ the consumer's API

    @property
    def in_group(self) -> bool:
        return self.membership.in_group

    @property
    def generation(self) -> int:
        """The member epoch while in the group, else -1 (the classic protocol's meaning)."""
        return self.membership.member_epoch if self.in_group else -1

    @property
    def leave_pending(self) -> bool:
        return self._leave_requested or self.membership.leaving

    def subscribe(self, topics: Iterable[str] | None, pattern: str | None) -> None:
        self.subs.topics = set(topics or ())
        self.subs.pattern = pattern
        self.metadata.want(self.subs.topics)
        self.wake.set()

    def unsubscribe(self) -> None:
        """Stop being subscribed: the run loop revokes and leaves the group."""
        self.subs.topics, self.subs.pattern = set(), None
        self._request_leave()

    def _request_leave(self) -> None:
        if not self._leave_requested:
            self._leave_requested = True
            self._left = anyio.Event()
        self.wake.set()

    def polled(self) -> None:
        self.last_poll = now()
        if self.membership.state is S.STALE:
            self._rejoin_stale = True
            self.wake.set()

    def subscribed_topics(self) -> set[str]:
        """The topics subscribed to; for a pattern (matched by the coordinator), the topics
        of this member's assignment."""
        if self.subs.pattern is not None:
            return {tp.topic for tp in self.subs.assignment}
        return set(self.subs.topics)

    async def revoke_and_leave(self) -> None:
        """On close: hand the partitions back (on_revoke) and leave the group."""
        if self._tg is None:
            return
        self.subs.topics, self.subs.pattern = set(), None
        self._request_leave()
        await self._left.wait()

    # -------------------------------------------------------------------------- offsets

    def _commit_identity(self) -> tuple[int, str]:
        m = self.membership
        if m.in_group:
            return m.member_epoch, m.member_id
        return -1, m.member_id if self._joined_once else ""

    def _fetch_identity(self) -> tuple[str | None, int]:
        m = self.membership
        return (m.member_id, m.member_epoch) if m.in_group else (None, -1)

    def _commit_failed(self, code: int) -> bool:
        return code in _COMMIT_FAILED

    def _retriable(self, exc: errors.KafkaError) -> bool:
        # a fetch racing a new epoch: retry with the epoch the next heartbeat brings
        stale = exc.code == errors.StaleMemberEpochError.code and self.membership.in_group
        return exc.retriable or stale

    # ----------------------------------------------------------------------------- loop

    async def run(self) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            try:
                await self._loop()
            finally:
                self._tg = None
                self._left.set()

    async def _loop(self) -> None:
        while True:
            self.wake = anyio.Event()
            try:
                await self._step()
            except (TransportError, errors.RequestTimedOutError) as exc:
                log.debug("group %s: %s", self.group_id, exc)
                self.coordinator = None
                self.membership.heartbeat_failed()
                self._back_off()
            except errors.KafkaError as exc:
                if exc.code in RETRY_COORDINATOR:
                    self.coordinator = None
                elif not exc.retriable:
                    self.failure = exc
                log.debug("group %s: %s", self.group_id, exc)
                self._back_off()
            with anyio.move_on_after(self._wait_s()):
                await self.wake.wait()

    async def _step(self) -> None:
        m = self.membership
        if self._leave_requested:
            self._leave_requested, left = False, self._left
            try:
                await self._leave()
            finally:
                left.set()
        if m.state is S.FENCED:
            await self._release("lost (fenced)")
            m.clear_assignment()
            m.rejoin_after_fence()
        if m.state is S.STALE and self._rejoin_stale:
            self._rejoin_stale = False
            m.rejoin_stale()
        if self.subscribed and not self._leave_requested:
            topics, pattern = frozenset(self.subs.topics), self.subs.pattern
            if m.state is S.UNSUBSCRIBED or (m.topics, m.pattern) != (topics, pattern):
                m.subscribe(topics, pattern)
        if not m.skips_heartbeats and not m.leaving and self.poll_overdue():
            await self._leave_for_poll_timeout()
            return
        if self.subscribed and self.metadata.needs_refresh:
            await self.metadata.refresh()
        await self._maybe_reconcile()
        if self._heartbeat_due():
            await self._heartbeat()
        if m.state is S.FENCED:
            self.wake.set()  # release and rejoin at once
        await self._maybe_auto_commit()
        self._maybe_init_positions()

    def _wait_s(self) -> float:
        m, t = self.membership, now()
        deadline = t + _MAX_WAIT_S
        if self.auto_commit:
            deadline = min(deadline, self._next_commit)
        if not m.skips_heartbeats:
            due = self._backoff_until if m.heartbeat_now else self._next_heartbeat
            deadline = min(deadline, max(due, self._backoff_until))
            if not m.leaving and not self.polling:
                deadline = min(deadline, self.last_poll + self.max_poll_s)
        if m.state is S.RECONCILING and not m.reconciling:
            deadline = min(deadline, max(t + self.retry_backoff_s, self._next_reconcile))
        return max(0.0, deadline - t)

    def _back_off(self) -> None:
        self._failed_attempts += 1
        delay = self.retry_backoff_s * 2 ** min(self._failed_attempts - 1, 30)
        self._backoff_until = now() + min(delay, self.retry_backoff_max_s)

    # ------------------------------------------------------------------------ heartbeats

    def _heartbeat_due(self) -> bool:
        m, t = self.membership, now()
        if m.skips_heartbeats or t < self._backoff_until:
            return False
        return m.heartbeat_now or t >= self._next_heartbeat

    async def _heartbeat_version(self, node: int) -> int:
        span = (await self.transport.api_versions(node)).get(HEARTBEAT)
        if span is None:
            raise errors.UnsupportedVersionError(NOT_SUPPORTED)
        return choose_version(HEARTBEAT, span, None)

    async def _heartbeat(self) -> None:
        m = self.membership
        node = await self._coordinator_node()
        try:
            version = await self._heartbeat_version(node)
            request = m.heartbeat_request(version)
        except errors.UnsupportedVersionError as exc:
            await self._fatal(exc)
            return
        m.heartbeat_sent()
        self._next_heartbeat = now() + self._interval_s
        response = await self.transport.request(
            node, request, version=version, timeout=self.request_timeout_s
        )
        assert isinstance(response, ConsumerGroupHeartbeatResponse)
        await self._handle(response)

    async def _handle(self, response: ConsumerGroupHeartbeatResponse) -> None:
        m, code = self.membership, response.error_code
        if code == 0:
            self._failed_attempts, self._backoff_until = 0, 0.0
            interval = max(response.heartbeat_interval_ms / 1000, self.retry_backoff_s)
            if interval != self._interval_s:
                self._interval_s = interval
                self._next_heartbeat = now() + interval
            m.heartbeat_succeeded(response)
            self.member_id = m.member_id
            self._joined_once |= m.in_group
            return
        m.heartbeat_failed()
        self._next_heartbeat = now()
        error = errors.for_code(code)(response.error_message or None)
        log.info("group %s: heartbeat of %s failed: %s", self.group_id, m.member_id, error)
        if code in _FIND_AGAIN:
            self.coordinator = None  # find it, then heartbeat at once
        elif code in _REJOIN:
            m.fenced()  # the loop releases the partitions and joins again at once
        elif code == errors.CoordinatorLoadInProgressError.code:
            self._back_off()
        elif code == errors.TopicAuthorizationFailedError.code:
            self.failure = error  # stays in the group: the ACLs may be fixed
            self._back_off()
        elif code == errors.UnsupportedVersionError.code:
            await self._fatal(errors.UnsupportedVersionError(NOT_SUPPORTED))
        else:
            await self._fatal(error)

    async def _fatal(self, exc: BaseException) -> None:
        log.error("group %s: member %s failed: %s", self.group_id, self.membership.member_id, exc)
        self.failure = exc
        if self.membership.fatal():
            await self._release("lost (failed)")
            self.membership.clear_assignment()

    async def _send_leave(self) -> None:
        """The heartbeat that leaves: sent once, its answer only logged."""
        m = self.membership
        try:
            node = await self._coordinator_node()
            version = await self._heartbeat_version(node)
            request = m.heartbeat_request(version)
        except (TransportError, errors.RafkaError) as exc:
            log.info("group %s: could not leave: %s", self.group_id, exc)
            m.heartbeat_sent()  # out of the group all the same
            return
        m.heartbeat_sent()
        try:
            with anyio.fail_after(self.request_timeout_s):
                response = await self.transport.request(
                    node, request, version=version, timeout=self.request_timeout_s
                )
        except (TransportError, errors.RafkaError, TimeoutError) as exc:
            log.info("group %s: leave heartbeat failed: %s", self.group_id, exc)
            return
        assert isinstance(response, ConsumerGroupHeartbeatResponse)
        if response.error_code:
            log.info(
                "group %s: leave heartbeat: %s",
                self.group_id,
                errors.for_code(response.error_code)(response.error_message or None),
            )

    async def _leave(self) -> None:
        m = self.membership
        if m.prepare_leaving():
            await self._release("revoked" if m.in_group else "lost")
            m.clear_assignment()
            m.send_leave()
            if m.state is S.LEAVING:
                await self._send_leave()
        self._interval_s = 0.0

    async def _leave_for_poll_timeout(self) -> None:
        log.warning(
            "group %s: poll() was not called for max.poll.interval.ms (%d ms): leaving the "
            "group; the next poll joins again",
            self.group_id,
            self.rebalance_timeout_ms,
        )
        m = self.membership
        m.send_leave(poll_timeout=True)
        await self._send_leave()
        await self._release("lost (poll timeout)")
        m.clear_assignment()

    async def _release(self, why: str) -> None:
        """Give up every partition, telling ``on_revoke`` (no commit: they may be gone)."""
        partitions = sorted(self.subs.assignment)
        for tp in partitions:
            self.subs.assignment[tp].revoking = True
        if partitions:
            log.info("group %s: partitions %s: %s", self.group_id, why, partitions)
            await self._callback(self.on_revoke, partitions)
        self.subs.assign([])
        self.fetcher.poke()

    async def _callback(self, callback: Callback | None, partitions: list[TopicPartition]) -> bool:
        """Run a rebalance callback (one at a time); False when it raised (the exception is
        raised from the next poll, as Java's KafkaConsumer does)."""
        if callback is None:
            return True
        async with self._callbacks:
            try:
                await call_listener(callback, partitions)
            except Exception as exc:
                log.error("group %s: rebalance callback failed: %r", self.group_id, exc)
                self.failure = exc
                return False
        return True

    # -------------------------------------------------------------------- reconciliation

    async def _maybe_reconcile(self) -> None:
        m = self.membership
        if m.state is not S.RECONCILING or m.reconciling or now() < self._next_reconcile:
            return
        known = self.metadata.cache.topic_name
        missing = m.unresolved(known)
        if missing and now() >= self._next_resolve:
            self._next_resolve = now() + self.retry_backoff_s
            await self.metadata.resolve_topic_ids(missing)
        step = m.reconciliation(known, self.subs.assignment)
        if step is not None and self._tg is not None:
            self._tg.start_soon(self._reconcile, step)

    async def _reconcile(self, step: Reconciliation) -> None:
        m = self.membership
        log.info(
            "group %s: member %s epoch %d: assigned %s, revoking %s, adding %s",
            self.group_id,
            m.member_id,
            m.member_epoch,
            sorted(step.assigned),
            list(step.revoked),
            list(step.added),
        )
        try:
            for tp, state in self.subs.assignment.items():
                # nothing more from those that go (and again from any an earlier try held back)
                state.revoking = tp in step.revoked
            if self.auto_commit:
                await self._commit_before_revocation()
            if m.reconciliation_aborted():
                return
            if step.revoked:
                if not await self._callback(self.on_revoke, list(step.revoked)):
                    return  # not acknowledged: tried again later
                gone = set(step.revoked)
                self.subs.assign([tp for tp in self.subs.assignment if tp not in gone])
                if m.reconciliation_aborted():
                    return
            kept = [tp for tp in self.subs.assignment if tp in step.assigned]
            self.subs.assign([*kept, *step.added])
            with self.subs.awaiting_callback(step.added):
                await self._init_positions(list(step.added))
                if m.reconciliation_aborted():
                    return
                if not await self._callback(self.on_assign, list(step.added)):
                    return
            m.reconciled(step)
            self._next_commit = now() + self.auto_commit_s
        finally:
            if m.reconciling:  # failed: the loop tries again after a pause
                m.reconciliation_failed()
                self._next_reconcile = now() + self.retry_backoff_max_s
            self.fetcher.poke()
            self.wake.set()

    async def _commit_before_revocation(self) -> None:
        """Commit every position (auto-commit), retrying until the rebalance timeout; a stale
        epoch is retried with the epoch the heartbeats bring meanwhile."""
        deadline = now() + self.max_poll_s
        while True:
            try:
                await self._commit_positions()
                return
            except errors.CommitFailedError as exc:
                stale = isinstance(exc.__cause__, errors.StaleMemberEpochError)
                if not (stale and self.membership.in_group) or now() >= deadline:
                    log.warning("group %s: commit before rebalancing: %s", self.group_id, exc)
                    return
            except (TransportError, errors.RequestTimedOutError) as exc:
                self.coordinator = None
                if now() >= deadline:
                    log.warning("group %s: commit before rebalancing: %s", self.group_id, exc)
                    return
            except errors.KafkaError as exc:
                if exc.code in _FIND_AGAIN:
                    self.coordinator = None
                elif not exc.retriable or now() >= deadline:
                    log.warning("group %s: commit before rebalancing: %s", self.group_id, exc)
                    return
            await anyio.sleep(self.retry_backoff_s)

    async def _init_positions(self, partitions: list[TopicPartition]) -> None:
        """Start new partitions at the group's committed offsets, else auto.offset.reset
        (left without a position when the offsets cannot be read now: retried later)."""
        if not partitions:
            return
        try:
            committed = await self.committed(partitions, self.request_timeout_s)
        except errors.RafkaError as exc:
            log.warning("group %s: reading committed offsets: %s", self.group_id, exc)
            return
        for tp in partitions:
            state = self.subs.assignment.get(tp)
            if state is None or state.position is not None or state.reset is not None:
                continue  # gone, or seeked meanwhile
            if tp in committed:
                self.subs.seek(tp, committed[tp])
            else:
                self.subs.request_reset(tp)
        self.fetcher.poke()

    def _maybe_init_positions(self) -> None:
        if self._initializing or self.membership.reconciling or not self.subscribed:
            return
        waiting = self.subs.needing_position()
        if not waiting or now() < self._next_positions or self._tg is None:
            return
        self._next_positions = now() + self.retry_backoff_max_s
        self._initializing = True

        async def init() -> None:
            try:
                await self._init_positions(waiting)
            finally:
                self._initializing = False

        self._tg.start_soon(init)

    async def _maybe_auto_commit(self) -> None:
        if not self.auto_commit or now() < self._next_commit:
            return
        if not (self.in_group or not self.subscribed):
            return
        self._next_commit = now() + self.auto_commit_s
        try:
            await self._commit_positions()
        except errors.CommitFailedError as exc:
            log.info("group %s: auto-commit: %s", self.group_id, exc)
        except errors.KafkaError as exc:
            if exc.code in _FIND_AGAIN:
                self.coordinator = None
            log.info("group %s: auto-commit: %s", self.group_id, exc)

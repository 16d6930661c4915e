"""The rebalance engine of classic groups: rebalances, join completion, session and sync
expiry, assignment propagation, load and unload. Sans-I/O; Kafka 4.x semantics.

Phases of one rebalance, as this module runs them::

    prepare_rebalance     CompletingRebalance: parked syncs fail with REBALANCE_IN_PROGRESS;
                          -> PreparingRebalance. From Empty (the initial rebalance) wait
                          group.initial.rebalance.delay.ms, again while new members keep
                          arriving, up to the rebalance timeout; otherwise complete as soon as
                          every member rejoined, or at the rebalance timeout
    complete the join     dynamic members that did not rejoin are removed; no member left ->
                          Empty (stored); else the next generation -> CompletingRebalance, every
                          parked join is answered (the leader gets every member's metadata) and
                          every member must sync within the rebalance timeout
    propagate assignment  parked syncs get their assignment (or an error); session deadlines
                          restart
    session expiry        a pending member is dropped; a member not parked in join or sync is
                          removed -> rebalance (Stable, CompletingRebalance) or maybe complete
                          the join phase (PreparingRebalance)
    sync expiry           members that never synced are removed -> rebalance

Requests (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) are decided by
:class:`~rafka.cluster.groups.classic_protocol.ClassicGroupProtocol`, built on this class.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping

import attrs

from rafka import errors
from rafka.cluster.groups.classic_group import (
    UNKNOWN_MEMBER_ID,
    ClassicGroup,
    ClassicGroupState,
    ClassicMember,
)
from rafka.cluster.groups.group import Group
from rafka.cluster.groups.result import CoordinatorResult
from rafka.cluster.groups.timer import Timer
from rafka.protocol.messages import JoinGroupResponse, SyncGroupResponse
from rafka.storage.clock import Clock

__all__ = [
    "ClassicConfig",
    "ClassicRebalancer",
    "error_join",
    "heartbeat_key",
    "join_key",
    "sync_key",
    "write_error",
]

S = ClassicGroupState
Result = CoordinatorResult[None]

NONE = 0
UNKNOWN_MEMBER = errors.UnknownMemberIdError.code
REBALANCING = errors.RebalanceInProgressError.code


@attrs.frozen
class ClassicConfig:
    initial_rebalance_delay_ms: int = 3000
    max_size: int = (1 << 31) - 1
    #: How long a new member's parked JoinGroup may wait (Kafka's fixed 5 minutes).
    new_member_join_timeout_ms: int = 300_000


def write_error(error: errors.KafkaError) -> int:
    """The error a group operation reports when writing its records failed (Kafka's mapping)."""
    if isinstance(
        error,
        errors.UnknownTopicOrPartitionError
        | errors.NotEnoughReplicasError
        | errors.RequestTimedOutError,
    ):
        return errors.CoordinatorNotAvailableError.code
    if isinstance(error, errors.NotLeaderOrFollowerError | errors.KafkaStorageError):
        return errors.NotCoordinatorError.code
    if isinstance(error, errors.MessageTooLargeError | errors.RecordListTooLargeError):
        return errors.UnknownServerError.code
    return error.code


def join_key(group_id: str) -> str:
    return f"join-{group_id}"


def sync_key(group_id: str) -> str:
    return f"sync-{group_id}"


def heartbeat_key(group_id: str, member_id: str) -> str:
    return f"heartbeat-{group_id}-{member_id}"


def error_join(member_id: str, error: int) -> JoinGroupResponse:
    return JoinGroupResponse(error_code=error, member_id=member_id)


class ClassicRebalancer:
    """Rebalances the classic groups of one shard's registry."""

    def __init__(
        self,
        groups: MutableMapping[str, Group],
        timer: Timer[CoordinatorResult[None]],
        clock: Clock,
        config: ClassicConfig,
        new_member_id: Callable[[str], str],
    ) -> None:
        self.groups = groups
        self.timer = timer
        self.clock = clock
        self.config = config
        self.new_member_id = new_member_id

    def classic_group(self, group_id: str) -> ClassicGroup | None:
        group = self.groups.get(group_id)
        return group if isinstance(group, ClassicGroup) else None

    def _schedule(self, key: str, delay_ms: int, operation: Callable[[], Result]) -> None:
        self.timer.schedule(key, self.clock.monotonic_ms() + delay_ms, operation)

    def reschedule_heartbeat(
        self, group: ClassicGroup, member: ClassicMember, timeout_ms: int | None = None
    ) -> None:
        group_id, member_id = group.group_id, member.member_id
        self._schedule(
            heartbeat_key(group_id, member_id),
            member.session_timeout_ms if timeout_ms is None else timeout_ms,
            lambda: self._expire_heartbeat(group_id, member_id),
        )

    def current_generation(
        self, group: ClassicGroup, member_id: str, *, with_members: bool
    ) -> JoinGroupResponse:
        return JoinGroupResponse(
            members=group.join_members() if with_members and group.is_leader(member_id) else [],
            member_id=member_id,
            generation_id=group.generation_id,
            protocol_name=group.protocol_name,
            protocol_type=group.protocol_type,
            leader=group.leader_id or "",
        )

    def rebalance_or_complete_join(self, group: ClassicGroup) -> Result:
        if group.can_rebalance():
            return self.prepare_rebalance(group)
        return self.maybe_complete_join_phase(group)

    def prepare_rebalance(self, group: ClassicGroup) -> Result:
        if group.is_in(S.COMPLETING_REBALANCE):
            self.reset_assignment_with_error(group, REBALANCING)
        group.pending_sync_members.clear()
        self.timer.cancel(sync_key(group.group_id))
        initial = group.is_in(S.EMPTY)
        if initial:
            delay = self.config.initial_rebalance_delay_ms
            remaining = max(group.rebalance_timeout_ms() - delay, 0)
            group_id = group.group_id
            self._schedule(
                join_key(group_id),
                delay,
                lambda: self._complete_initial_rebalance(group_id, delay, remaining),
            )
        group.transition_to(S.PREPARING_REBALANCE, self.clock.time_ms())
        if initial:
            return Result()
        if group.has_all_members_joined():
            return self._complete_join(group)
        group_id = group.group_id
        self._schedule(
            join_key(group_id),
            group.rebalance_timeout_ms(),
            lambda: self._complete_join_of(group_id),
        )
        return Result()

    def maybe_complete_join_phase(self, group: ClassicGroup) -> Result:
        if (
            not group.is_in(S.PREPARING_REBALANCE)
            or group.previous_state is S.EMPTY  # the initial delay decides
            or not group.has_all_members_joined()
        ):
            return Result()
        return self._complete_join(group)

    def _complete_initial_rebalance(self, group_id: str, delay: int, remaining: int) -> Result:
        group = self.classic_group(group_id)
        if group is None:
            return Result()
        if group.new_member_added and remaining != 0:
            group.new_member_added = False
            next_delay = min(self.config.initial_rebalance_delay_ms, remaining)
            next_remaining = max(remaining - delay, 0)
            self._schedule(
                join_key(group_id),
                next_delay,
                lambda: self._complete_initial_rebalance(group_id, next_delay, next_remaining),
            )
            return Result()
        return self._complete_join(group)

    def _complete_join_of(self, group_id: str) -> Result:
        group = self.classic_group(group_id)
        return Result() if group is None else self._complete_join(group)

    def _complete_join(self, group: ClassicGroup) -> Result:
        group_id = group.group_id
        self.timer.cancel(join_key(group_id))
        for member in group.not_yet_rejoined():
            if not member.is_static:
                group.remove(member.member_id)
                self.timer.cancel(heartbeat_key(group_id, member.member_id))
        if group.is_in(S.DEAD):
            return Result()
        if not group.maybe_elect_new_joined_leader() and group.members:
            # Nobody rejoined: wait for session expiry to clear the members out.
            self._schedule(
                join_key(group_id),
                group.rebalance_timeout_ms(),
                lambda: self._complete_join_of(group_id),
            )
            return Result()
        group.init_next_generation(self.clock.time_ms())
        if group.is_empty():
            return Result([group.metadata_record({})], replay=False)
        for member in list(group.members.values()):
            group.complete_join(
                member,
                self.current_generation(group, member.member_id, with_members=True),
            )
            self.reschedule_heartbeat(group, member)
            member.is_new = False
            group.pending_sync_members.add(member.member_id)
        generation = group.generation_id
        self._schedule(
            sync_key(group_id),
            group.rebalance_timeout_ms(),
            lambda: self._expire_pending_sync(group_id, generation),
        )
        return Result()

    def _expire_pending_sync(self, group_id: str, generation: int) -> Result:
        group = self.classic_group(group_id)
        if group is None or generation != group.generation_id:
            return Result()
        if group.is_in(S.COMPLETING_REBALANCE, S.STABLE) and group.pending_sync_members:
            for member_id in list(group.pending_sync_members):
                group.remove(member_id)
                self.timer.cancel(heartbeat_key(group_id, member_id))
            return self.prepare_rebalance(group)
        return Result()

    def _expire_heartbeat(self, group_id: str, member_id: str) -> Result:
        group = self.classic_group(group_id)
        if group is None or group.is_in(S.DEAD):
            return Result()
        if member_id in group.pending_join_members:
            group.remove(member_id)
            return self._complete_join_if_all_in(group)
        member = group.members.get(member_id)
        if member is None or member.has_satisfied_heartbeat():
            return Result()
        return self._remove_member(group, member)

    def _remove_member(self, group: ClassicGroup, member: ClassicMember) -> Result:
        group.complete_join(member, error_join(UNKNOWN_MEMBER_ID, UNKNOWN_MEMBER))
        group.remove(member.member_id)
        if group.is_in(S.STABLE, S.COMPLETING_REBALANCE):
            return self.rebalance_or_complete_join(group)
        return self._complete_join_if_all_in(group)

    def _complete_join_if_all_in(self, group: ClassicGroup) -> Result:
        if group.is_in(S.PREPARING_REBALANCE) and group.has_all_members_joined():
            return self._complete_join(group)
        return Result()

    def reset_assignment_with_error(self, group: ClassicGroup, error: int) -> None:
        if not group.is_in(S.COMPLETING_REBALANCE):
            raise RuntimeError(f"group {group.group_id} is {group.state}, not completing")
        for member in group.members.values():
            member.assignment = b""
        self.propagate_assignment(group, error)

    def propagate_assignment(self, group: ClassicGroup, error: int) -> None:
        for member in list(group.members.values()):
            response = SyncGroupResponse(
                error_code=error,
                protocol_type=group.protocol_type if error == NONE else None,
                protocol_name=group.protocol_name if error == NONE else None,
                assignment=member.assignment,
            )
            if group.complete_sync(member, response):
                # Expiries seen while the member was parked were ignored: start afresh.
                self.reschedule_heartbeat(group, member)

    def on_loaded(self) -> list[Result]:
        """After replay: session deadlines for loaded members; over-sized groups rebalance."""
        results = []
        for group in list(self.groups.values()):
            if not isinstance(group, ClassicGroup):
                continue
            for member in group.members.values():
                self.reschedule_heartbeat(group, member)
            if len(group.members) > self.config.max_size:
                results.append(self.prepare_rebalance(group))
        return results

    def on_unloaded(self) -> None:
        """The shard is no longer ours: parked requests get NOT_COORDINATOR."""
        not_coordinator = errors.NotCoordinatorError.code
        now = self.clock.time_ms()
        for group in list(self.groups.values()):
            if not isinstance(group, ClassicGroup):
                continue
            group.transition_to(S.DEAD, now)
            group.complete_all_joins(not_coordinator)
            group.complete_all_syncs(not_coordinator)

"""The classic group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) as a sans-I/O state
machine over :class:`~rafka.cluster.groups.classic_group.ClassicGroup`, as Kafka 4.x runs it.

Events and what they do, by group state (E Empty, PR PreparingRebalance, CR CompletingRebalance,
S Stable, D Dead)::

    join, unknown member   E/PR/CR/S: v4+ dynamic -> pending member, MEMBER_ID_REQUIRED;
                           else add member (static: replace the old id) -> prepare rebalance
                           (E/CR/S) or complete the join phase if everyone is in (PR)
    join, known member     PR: update, maybe complete; CR: same protocols -> current generation,
                           else rebalance; S: leader or changed protocols -> rebalance, else
                           current generation; E: UNKNOWN_MEMBER_ID
    sync                   PR: REBALANCE_IN_PROGRESS; CR: park; the leader's sync stores the
                           assignment, then -> S and every parked sync gets its assignment;
                           S: the member's assignment
    heartbeat              E: UNKNOWN_MEMBER_ID; PR: REBALANCE_IN_PROGRESS; CR/S: ok; each one
                           pushes the member's session deadline back
    leave                  remove members -> rebalance (S/CR) or maybe complete the join (PR)

Rebalances themselves (the join phase, session and sync expiry, the initial delay) are the
engine this class extends, :class:`~rafka.cluster.groups.classic_rebalance.ClassicRebalancer`.

Checks on the way: generation (ILLEGAL_GENERATION), member id (UNKNOWN_MEMBER_ID), static
instance ids (FENCED_INSTANCE_ID), protocol type and names (INCONSISTENT_GROUP_PROTOCOL),
``group.max.size`` (GROUP_MAX_SIZE_REACHED), Dead groups (COORDINATOR_NOT_AVAILABLE).

Operations return a :class:`~rafka.cluster.groups.result.CoordinatorResult`; records of classic
groups are written but not replayed (the group object already changed). Timeouts are
:class:`~rafka.cluster.groups.timer.Timer` deadlines on the shard's clock.
"""

from __future__ import annotations

import attrs

from rafka import errors
from rafka.cluster.groups.classic_group import (
    UNKNOWN_MEMBER_ID,
    ClassicGroup,
    ClassicGroupState,
    ClassicMember,
)
from rafka.cluster.groups.classic_rebalance import (
    NONE,
    REBALANCING,
    UNKNOWN_MEMBER,
    ClassicRebalancer,
    error_join,
    heartbeat_key,
    join_key,
    sync_key,
    write_error,
)
from rafka.cluster.groups.group import GroupType
from rafka.cluster.groups.records import CoordinatorRecord
from rafka.cluster.groups.result import CoordinatorResult, Reply
from rafka.protocol.messages import (
    HeartbeatRequest,
    JoinGroupRequest,
    JoinGroupResponse,
    LeaveGroupRequest,
    LeaveGroupResponse,
    SyncGroupRequest,
    SyncGroupResponse,
)

__all__ = ["ClassicGroupProtocol", "JoinContext"]

S = ClassicGroupState
Result = CoordinatorResult[None]


@attrs.frozen
class JoinContext:
    """Who sent a JoinGroup and at which version."""

    client_id: str
    client_host: str
    api_version: int


class ClassicGroupProtocol(ClassicRebalancer):
    """Decides JoinGroup, SyncGroup, Heartbeat and LeaveGroup for one shard's classic groups."""

    def join(
        self, ctx: JoinContext, request: JoinGroupRequest, reply: Reply[JoinGroupResponse]
    ) -> Result:
        group_id = request.group_id
        existing = self.groups.get(group_id)
        converted: list[CoordinatorRecord] = []
        if existing is not None and existing.group_type is not GroupType.CLASSIC:
            if existing.group_type is not GroupType.CONSUMER or not existing.is_empty():
                # A non-empty consumer group takes classic members itself (the shard routes
                # them to consumer_classic); any other group type is not for JoinGroup.
                inconsistent = errors.InconsistentGroupProtocolError.code
                reply.complete(error_join(UNKNOWN_MEMBER_ID, inconsistent))
                return Result()
            # An empty consumer group becomes a classic group (always allowed, as in Kafka).
            converted = existing.tombstones()
            del self.groups[group_id]
        result = self._join(ctx, request, reply)
        if not converted:
            return result
        return Result(converted + result.records, replay=False, on_written=result.on_written)

    def _join(
        self, ctx: JoinContext, request: JoinGroupRequest, reply: Reply[JoinGroupResponse]
    ) -> Result:
        group_id, member_id = request.group_id, request.member_id
        group = self.classic_group(group_id)
        is_new_group = group is None
        unknown = member_id == UNKNOWN_MEMBER_ID
        if group is None:
            if not unknown:
                reply.complete(error_join(member_id, UNKNOWN_MEMBER))
                return Result()
            group = ClassicGroup(group_id, self.clock.time_ms())
            self.groups[group_id] = group
        if not self._accepts_joining_member(group, member_id):
            group.remove(member_id)
            reply.complete(error_join(UNKNOWN_MEMBER_ID, errors.GroupMaxSizeReachedError.code))
            result = Result()
        elif unknown:
            result = self._join_new_member(ctx, request, group, reply)
        else:
            result = self._join_existing_member(ctx, request, group, reply)
        if is_new_group and result.is_empty:
            return self._persist_new_group(group, reply)
        return result

    def _persist_new_group(self, group: ClassicGroup, reply: Reply[JoinGroupResponse]) -> Result:
        def written(error: errors.KafkaError | None) -> None:
            if error is not None:
                if self.groups.get(group.group_id) is group:
                    # the group was never created: neither are the deadlines set for it (a
                    # stale initial-rebalance timer would otherwise fire on a group of the
                    # same name created later)
                    del self.groups[group.group_id]
                    self._cancel_timers(group)
                reply.complete(JoinGroupResponse(error_code=write_error(error)))

        return Result([group.empty_metadata_record()], replay=False, on_written=written)

    def _cancel_timers(self, group: ClassicGroup) -> None:
        group_id = group.group_id
        self.timer.cancel(join_key(group_id))
        self.timer.cancel(sync_key(group_id))
        for member_id in [*group.members, *group.pending_join_members]:
            self.timer.cancel(heartbeat_key(group_id, member_id))

    def _accepts_joining_member(self, group: ClassicGroup, member_id: str) -> bool:
        max_size = self.config.max_size
        if group.is_in(S.EMPTY, S.DEAD):
            return True
        if group.is_in(S.PREPARING_REBALANCE):
            member = group.members.get(member_id)
            return (member is not None and member.awaiting_join) or (
                group.awaiting_join_count < max_size
            )
        return member_id in group.members or len(group.members) < max_size

    def _join_new_member(
        self,
        ctx: JoinContext,
        request: JoinGroupRequest,
        group: ClassicGroup,
        reply: Reply[JoinGroupResponse],
    ) -> Result:
        if group.is_in(S.DEAD):
            reply.complete(error_join(UNKNOWN_MEMBER_ID, errors.CoordinatorNotAvailableError.code))
            return Result()
        if not group.supports(request.protocol_type, {p.name for p in request.protocols}):
            reply.complete(
                error_join(UNKNOWN_MEMBER_ID, errors.InconsistentGroupProtocolError.code)
            )
            return Result()
        instance_id = request.group_instance_id
        new_id = self.new_member_id(instance_id if instance_id is not None else ctx.client_id)
        if instance_id is not None:
            existing = group.static_member_id(instance_id)
            if existing is not None:
                return self._replace_static_member(ctx, request, group, existing, new_id, reply)
            return self._add_member(ctx, request, group, new_id, reply)
        if ctx.api_version >= 4:
            group.pending_join_members.add(new_id)
            group_id = group.group_id
            self._schedule(
                heartbeat_key(group_id, new_id),
                request.session_timeout_ms,
                lambda: self._expire_heartbeat(group_id, new_id),
            )
            reply.complete(error_join(new_id, errors.MemberIdRequiredError.code))
            return Result()
        return self._add_member(ctx, request, group, new_id, reply)

    def _join_existing_member(
        self,
        ctx: JoinContext,
        request: JoinGroupRequest,
        group: ClassicGroup,
        reply: Reply[JoinGroupResponse],
    ) -> Result:
        member_id = request.member_id
        if group.is_in(S.DEAD):
            reply.complete(error_join(member_id, errors.CoordinatorNotAvailableError.code))
            return Result()
        if not group.supports(request.protocol_type, {p.name for p in request.protocols}):
            reply.complete(error_join(member_id, errors.InconsistentGroupProtocolError.code))
            return Result()
        if member_id in group.pending_join_members:
            if request.group_instance_id is not None:
                raise errors.InvalidRequestError(
                    f"unexpected group instance id for pending member {member_id}"
                )
            return self._add_member(ctx, request, group, member_id, reply)
        try:
            group.validate_member(member_id, request.group_instance_id)
        except errors.KafkaError as exc:
            reply.complete(JoinGroupResponse(error_code=exc.code, member_id=member_id))
            return Result()
        member = group.members[member_id]
        protocols = [(p.name, p.metadata) for p in request.protocols]
        if group.is_in(S.PREPARING_REBALANCE):
            return self._update_member(request, group, member, reply)
        if group.is_in(S.COMPLETING_REBALANCE):
            if member.protocols == protocols:
                reply.complete(self.current_generation(group, member_id, with_members=True))
                return Result()
            return self._update_member(request, group, member, reply)
        if group.is_in(S.STABLE):
            if group.is_leader(member_id) or member.protocols != protocols:
                return self._update_member(request, group, member, reply)
            reply.complete(self.current_generation(group, member_id, with_members=False))
            return Result()
        reply.complete(error_join(member_id, UNKNOWN_MEMBER))
        return Result()

    def _add_member(
        self,
        ctx: JoinContext,
        request: JoinGroupRequest,
        group: ClassicGroup,
        member_id: str,
        reply: Reply[JoinGroupResponse],
    ) -> Result:
        member = ClassicMember(
            member_id,
            request.group_instance_id,
            ctx.client_id,
            ctx.client_host,
            request.rebalance_timeout_ms,
            request.session_timeout_ms,
            request.protocol_type,
            [(p.name, p.metadata) for p in request.protocols],
            is_new=True,
        )
        if group.is_in(S.PREPARING_REBALANCE) and group.previous_state is S.EMPTY:
            group.new_member_added = True
        group.add(member, reply)
        # A parked join cannot heartbeat; bound how long a new member may stay parked.
        self.reschedule_heartbeat(group, member, self.config.new_member_join_timeout_ms)
        return self.rebalance_or_complete_join(group)

    def _update_member(
        self,
        request: JoinGroupRequest,
        group: ClassicGroup,
        member: ClassicMember,
        reply: Reply[JoinGroupResponse],
    ) -> Result:
        group.update_member(
            member,
            [(p.name, p.metadata) for p in request.protocols],
            request.rebalance_timeout_ms,
            request.session_timeout_ms,
            reply,
        )
        return self.rebalance_or_complete_join(group)

    def _replace_static_member(
        self,
        ctx: JoinContext,
        request: JoinGroupRequest,
        group: ClassicGroup,
        old_id: str,
        new_id: str,
        reply: Reply[JoinGroupResponse],
    ) -> Result:
        instance_id = request.group_instance_id
        assert instance_id is not None
        current_leader = group.leader_id
        member = group.replace_static_member(instance_id, old_id, new_id)
        self.reschedule_heartbeat(group, member)
        old_protocols = member.protocols
        old_rebalance, old_session = member.rebalance_timeout_ms, member.session_timeout_ms
        group.update_member(
            member,
            [(p.name, p.metadata) for p in request.protocols],
            request.rebalance_timeout_ms,
            request.session_timeout_ms,
            reply,
        )
        if group.is_in(S.STABLE):
            if group.protocol_name != group.select_protocol():
                return self.rebalance_or_complete_join(group)

            def written(error: errors.KafkaError | None) -> None:
                if error is not None:
                    group.update_member(member, old_protocols, old_rebalance, old_session, None)
                    restored = group.replace_static_member(instance_id, new_id, old_id)
                    self.reschedule_heartbeat(group, restored)
                    reply.complete(
                        JoinGroupResponse(
                            error_code=write_error(error),
                            member_id=UNKNOWN_MEMBER_ID,
                            generation_id=group.generation_id,
                            protocol_name=group.protocol_name,
                            protocol_type=group.protocol_type,
                            leader=current_leader or "",
                        )
                    )
                elif ctx.api_version >= 9:
                    leader = group.is_leader(new_id)
                    group.complete_join(
                        member,
                        JoinGroupResponse(
                            members=group.join_members() if leader else [],
                            member_id=new_id,
                            generation_id=group.generation_id,
                            protocol_name=group.protocol_name,
                            protocol_type=group.protocol_type,
                            leader=group.leader_id or "",
                            skip_assignment=leader,
                        ),
                    )
                else:
                    group.complete_join(
                        member,
                        JoinGroupResponse(
                            member_id=new_id,
                            generation_id=group.generation_id,
                            protocol_name=group.protocol_name,
                            protocol_type=group.protocol_type,
                            leader=current_leader or "",
                        ),
                    )

            return Result([group.metadata_record(None)], replay=False, on_written=written)
        if group.is_in(S.COMPLETING_REBALANCE):
            # The leader may have been given the old id: assign again.
            return self.prepare_rebalance(group)
        if group.is_in(S.EMPTY, S.DEAD):
            raise RuntimeError(f"static member {instance_id} rejoined group in {group.state}")
        return self.maybe_complete_join_phase(group)

    def sync(self, request: SyncGroupRequest, reply: Reply[SyncGroupResponse]) -> Result:
        group = self.groups.get(request.group_id)
        if group is None or group.is_empty() or not isinstance(group, ClassicGroup):
            reply.complete(SyncGroupResponse(error_code=UNKNOWN_MEMBER))
            return Result()
        member_id = request.member_id
        error = self._sync_error(group, request)
        if error:
            reply.complete(SyncGroupResponse(error_code=error))
        elif group.is_in(S.PREPARING_REBALANCE):
            reply.complete(SyncGroupResponse(error_code=REBALANCING))
        elif group.is_in(S.COMPLETING_REBALANCE):
            group.park_sync(group.members[member_id], reply)
            self._synced(group, member_id)
            if group.is_leader(member_id):
                return self._store_assignment(group, request)
        elif group.is_in(S.STABLE):
            self._synced(group, member_id)
            reply.complete(
                SyncGroupResponse(
                    protocol_type=group.protocol_type,
                    protocol_name=group.protocol_name,
                    assignment=group.members[member_id].assignment,
                )
            )
        return Result()

    def _store_assignment(self, group: ClassicGroup, request: SyncGroupRequest) -> Result:
        assignment = {a.member_id: a.assignment for a in request.assignments}
        for member_id in group.members:
            assignment.setdefault(member_id, b"")
        generation = request.generation_id

        def written(error: errors.KafkaError | None) -> None:
            if not group.is_in(S.COMPLETING_REBALANCE) or generation != group.generation_id:
                return
            if error is not None:
                self.reset_assignment_with_error(group, write_error(error))
                self.rebalance_or_complete_join(group)
            else:
                for member in group.members.values():
                    member.assignment = assignment.get(member.member_id, b"")
                self.propagate_assignment(group, NONE)
                group.transition_to(S.STABLE, self.clock.time_ms())

        return Result([group.metadata_record(assignment)], replay=False, on_written=written)

    def _sync_error(self, group: ClassicGroup, request: SyncGroupRequest) -> int:
        if group.is_in(S.DEAD):
            return errors.CoordinatorNotAvailableError.code
        try:
            group.validate_member(request.member_id, request.group_instance_id)
        except errors.KafkaError as exc:
            return exc.code
        if request.generation_id != group.generation_id:
            return errors.IllegalGenerationError.code
        for asked, known in (
            (request.protocol_type, group.protocol_type),
            (request.protocol_name, group.protocol_name),
        ):
            if asked is not None and known is not None and asked != known:
                return errors.InconsistentGroupProtocolError.code
        return NONE

    def _synced(self, group: ClassicGroup, member_id: str) -> None:
        group.pending_sync_members.discard(member_id)
        if not group.is_in(S.COMPLETING_REBALANCE, S.STABLE) or not group.pending_sync_members:
            self.timer.cancel(sync_key(group.group_id))

    def heartbeat(self, request: HeartbeatRequest) -> int:
        """The heartbeat's error code; raises for errors Kafka raises (unknown group, ...)."""
        group = self.classic_group(request.group_id)
        if group is None:
            raise errors.UnknownMemberIdError(f"Group {request.group_id} not found.")
        if group.is_in(S.DEAD):
            raise errors.CoordinatorNotAvailableError()
        group.validate_member(request.member_id, request.group_instance_id)
        if request.generation_id != group.generation_id:
            raise errors.IllegalGenerationError()
        if group.is_in(S.EMPTY):
            return UNKNOWN_MEMBER
        self.reschedule_heartbeat(group, group.members[request.member_id])
        return REBALANCING if group.is_in(S.PREPARING_REBALANCE) else NONE

    def leave(
        self, group_id: str, identities: list[LeaveGroupRequest.MemberIdentity]
    ) -> CoordinatorResult[LeaveGroupResponse]:
        group = self.classic_group(group_id)
        if group is None:
            raise errors.UnknownMemberIdError(f"Group {group_id} not found.")
        if group.is_in(S.DEAD):
            return CoordinatorResult(
                response=LeaveGroupResponse(error_code=errors.CoordinatorNotAvailableError.code)
            )
        responses = []
        left = 0
        for ident in identities:
            error = NONE
            if ident.member_id == UNKNOWN_MEMBER_ID:
                existing = (
                    None
                    if ident.group_instance_id is None
                    else group.static_member_id(ident.group_instance_id)
                )
                if existing is None:
                    error = UNKNOWN_MEMBER
                else:
                    self._remove_leaving_member(group, existing)
            elif ident.member_id in group.pending_join_members:
                group.remove(ident.member_id)
                self.timer.cancel(heartbeat_key(group_id, ident.member_id))
            else:
                try:
                    group.validate_member(ident.member_id, ident.group_instance_id)
                    self._remove_leaving_member(group, ident.member_id)
                except errors.KafkaError as exc:
                    error = exc.code
            left += error == NONE
            responses.append(
                LeaveGroupResponse.MemberResponse(
                    member_id=ident.member_id,
                    group_instance_id=ident.group_instance_id,
                    error_code=error,
                )
            )
        result: Result = Result()
        if left:
            if group.is_in(S.STABLE, S.COMPLETING_REBALANCE):
                result = self.rebalance_or_complete_join(group)
            elif group.is_in(S.PREPARING_REBALANCE):
                result = self.maybe_complete_join_phase(group)
        return CoordinatorResult(
            result.records,
            LeaveGroupResponse(members=responses),
            result.replay,
            result.on_written,
        )

    def _remove_leaving_member(self, group: ClassicGroup, member_id: str) -> None:
        member = group.members[member_id]
        self.timer.cancel(heartbeat_key(group.group_id, member_id))
        group.complete_join(member, error_join(UNKNOWN_MEMBER_ID, UNKNOWN_MEMBER))
        group.remove(member_id)

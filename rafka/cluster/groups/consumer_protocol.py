"""ConsumerGroupHeartbeat (KIP-848) as a sans-I/O state machine over
:class:`~rafka.cluster.groups.consumer_group.ConsumerGroup`, as Kafka 4.1's
``GroupMetadataManager`` decides it.

One heartbeat, in order (each step appends records; they are applied at once and written, and
the response goes once they are committed; see :mod:`rafka.cluster.groups.consumer_engine`)::

    epoch -1 / -2     leave: fence the member (-1), or for a static member (-2) keep it at
                      epoch -2 with its partitions until its session expires or it returns
    group             epoch 0 creates it; an Empty classic group is replaced; a non-empty one
                      that uses the consumer protocol is converted (online upgrade, when
                      ``group.consumer.migration.policy`` allows); otherwise GROUP_ID_NOT_FOUND;
                      ``group.consumer.max.size`` -> GROUP_MAX_SIZE_REACHED
    member            epoch 0 joins (a static member replaces its departed predecessor, whose
                      epoch must be -2, else UNRELEASED_INSTANCE_ID); otherwise it must exist
                      (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID) at its epoch, or at its previous
                      epoch owning no more than its assignment (else FENCED_MEMBER_EPOCH)
    1. subscription   new member metadata -> MemberMetadata record; changed topics or a newly
                      resolved regex, a changed metadata hash, or a new group -> group epoch+1
    2. target         group epoch > assignment epoch -> the assignor computes a new target
                      assignment (TargetAssignmentMember records for members whose target
                      changed, then the TargetAssignmentMetadata epoch)
    3. reconcile      the member moves one step towards its target (reconciliation.py); an
                      UNREVOKED_PARTITIONS member gets a rebalance timeout
    response          member id and epoch, heartbeat interval, and the assignment when the
                      request was a full one (joining, or every field set) or it changed

LeaveGroup to a consumer group (the admin client's way to remove members) fences them too.
"""

from __future__ import annotations

import logging

import attrs

from rafka import errors
from rafka.cluster.groups import consumer_records as cr
from rafka.cluster.groups.classic_group import ClassicGroup
from rafka.cluster.groups.consumer_classic import ClassicMembers
from rafka.cluster.groups.consumer_engine import HeartbeatContext
from rafka.cluster.groups.consumer_group import ConsumerGroup
from rafka.cluster.groups.consumer_member import (
    LEAVE_GROUP_MEMBER_EPOCH,
    LEAVE_GROUP_STATIC_MEMBER_EPOCH,
    Assignment,
    ConsumerGroupMember,
)
from rafka.cluster.groups.records import CoordinatorRecord
from rafka.cluster.groups.result import CoordinatorResult
from rafka.protocol.messages import (
    ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse,
    LeaveGroupRequest,
    LeaveGroupResponse,
)

__all__ = ["ConsumerGroupProtocol"]

log = logging.getLogger("rafka.groups")

R = ConsumerGroupHeartbeatResponse
Q = ConsumerGroupHeartbeatRequest


def _assignment_response(assignment: Assignment) -> R.Assignment:
    return R.Assignment(
        [R.TopicPartitions(topic_id, sorted(ps)) for topic_id, ps in assignment.items()]
    )


class ConsumerGroupProtocol(ClassicMembers):
    """Decides ConsumerGroupHeartbeat (and LeaveGroup) for one shard's consumer groups."""

    def heartbeat(self, ctx: HeartbeatContext, request: Q) -> CoordinatorResult[R]:
        if request.member_epoch in (LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH):
            return self._leave(request)
        image = self.image()
        self._note_image(image)
        now = self.clock.time_ms()
        records: list[CoordinatorRecord] = []
        group_id, create = request.group_id, request.member_epoch == 0
        group = self._group_for_heartbeat(group_id, create, records)
        self._check_size(group, request.member_id)
        member_id = request.member_id or self.new_uuid()
        owned = request.topic_partitions
        if request.instance_id is None:
            member = group.members.get(member_id)
            if member is None:
                if not create:
                    group.member(member_id)  # UNKNOWN_MEMBER_ID
                member = ConsumerGroupMember(member_id)
                log.info("[GroupId %s] Member %s joins the consumer group.", group_id, member_id)
            self._check_epoch(member, request.member_epoch, owned)
        else:
            member = self._static_member(
                group, member_id, request.instance_id, request.member_epoch, owned, create, records
            )
        updated = attrs.evolve(
            member,
            instance_id=request.instance_id
            if request.instance_id is not None
            else member.instance_id,
            rack_id=request.rack_id if request.rack_id is not None else member.rack_id,
            rebalance_timeout_ms=request.rebalance_timeout_ms
            if request.rebalance_timeout_ms != -1
            else member.rebalance_timeout_ms,
            server_assignor=request.server_assignor
            if request.server_assignor is not None
            else member.server_assignor,
            subscribed_topic_names=frozenset(request.subscribed_topic_names)
            if request.subscribed_topic_names is not None
            else member.subscribed_topic_names,
            subscribed_topic_regex=request.subscribed_topic_regex
            if request.subscribed_topic_regex is not None
            else member.subscribed_topic_regex,
            client_id=ctx.client_id,
            client_host=ctx.client_host,
            classic=None,
        )
        bump = group.group_epoch == 0
        if updated != member:
            records.append(cr.member_metadata_record(group_id, updated))
            bump = bump or updated.subscribed_topic_names != member.subscribed_topic_names
        bump = self._maybe_update_regexes(group, member, updated, records, now, image) or bump
        group_epoch = group.group_epoch
        sub_type = group.subscription_type()
        if bump or group.metadata_checked_at != image.offset:
            group_epoch, sub_type = self._update_subscription_metadata(
                group, bump, member, updated, records, image
            )
        if group_epoch > group.assignment_epoch:
            target = self._update_target_assignment(
                group, group_epoch, member, updated, sub_type, records, image
            )
            target_epoch = group_epoch
        else:
            target_epoch = group.assignment_epoch
            target = group.target_of(updated.member_id, updated.instance_id)
        updated = self._maybe_reconcile(group, updated, target_epoch, target, owned, records)
        self._schedule_session(group_id, member_id, self.config.session_timeout_ms)
        response = R(
            member_id=updated.member_id,
            member_epoch=updated.member_epoch,
            heartbeat_interval_ms=self.config.heartbeat_interval_ms,
        )
        full = (
            request.rebalance_timeout_ms != -1
            and (
                request.subscribed_topic_names is not None
                or request.subscribed_topic_regex is not None
            )
            and owned is not None
        )
        if (
            request.member_epoch == 0
            or full
            or member.assigned_partitions != updated.assigned_partitions
        ):
            response.assignment = _assignment_response(updated.assigned_partitions)
        return self.commit(group_id, records, response)

    def _group_for_heartbeat(
        self, group_id: str, create: bool, records: list[CoordinatorRecord]
    ) -> ConsumerGroup:
        group = self.groups.get(group_id)
        if group is None:
            if not create:
                raise errors.GroupIdNotFoundError(f"Consumer group {group_id} not found.")
            return ConsumerGroup(group_id)
        if isinstance(group, ConsumerGroup):
            return group
        if create and isinstance(group, ClassicGroup) and group.is_empty():
            records += group.tombstones()
            log.info(
                "[GroupId %s] Converted the empty classic group to a consumer group.", group_id
            )
            return ConsumerGroup(group_id)
        if create and isinstance(group, ClassicGroup):
            return self._upgrade(group, records)
        raise errors.GroupIdNotFoundError(f"Group {group_id} is not a consumer group.")

    def _leave(self, request: Q) -> CoordinatorResult[R]:
        group = self.consumer_group(request.group_id)
        response = R(member_id=request.member_id, member_epoch=request.member_epoch)
        if request.instance_id is None:
            member = group.member(request.member_id)
            log.info(
                "[GroupId %s] Member %s left the consumer group.", group.group_id, member.member_id
            )
            return self.fence(group, [member], response)
        member_or_none = group.static_member(request.instance_id)
        if member_or_none is None:
            raise errors.UnknownMemberIdError(f"Instance id {request.instance_id} is unknown.")
        member = member_or_none
        if member.member_id != request.member_id:
            raise errors.FencedInstanceIdError(
                f"Static member {request.member_id} with instance id {request.instance_id} was "
                f"fenced by member {member.member_id}."
            )
        if request.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH:
            leaving = attrs.evolve(
                member,
                member_epoch=LEAVE_GROUP_STATIC_MEMBER_EPOCH,
                partitions_pending_revocation={},
            )
            return self.commit(
                group.group_id,
                [cr.current_assignment_record(group.group_id, leaving)],
                R(member_id=member.member_id, member_epoch=LEAVE_GROUP_STATIC_MEMBER_EPOCH),
            )
        return self.fence(group, [member], response)

    def classic_leave(
        self, group: ConsumerGroup, identities: list[LeaveGroupRequest.MemberIdentity]
    ) -> CoordinatorResult[LeaveGroupResponse]:
        """LeaveGroup to a consumer group: removes members by id, or static members by
        instance id (the admin client's way), whatever protocol they use."""
        responses = []
        leaving: dict[str, ConsumerGroupMember] = {}
        for ident in identities:
            error = 0
            try:
                if ident.group_instance_id is None:
                    member = group.member(ident.member_id)
                else:
                    found = group.static_member(ident.group_instance_id)
                    if found is None:
                        raise errors.UnknownMemberIdError(
                            f"Instance id {ident.group_instance_id} is unknown."
                        )
                    if ident.member_id and found.member_id != ident.member_id:
                        raise errors.FencedInstanceIdError()
                    member = found
                leaving[member.member_id] = member
            except errors.KafkaError as exc:
                error = exc.code
            responses.append(
                LeaveGroupResponse.MemberResponse(
                    member_id=ident.member_id,
                    group_instance_id=ident.group_instance_id,
                    error_code=error,
                )
            )
        return self.fence(group, list(leaving.values()), LeaveGroupResponse(members=responses))

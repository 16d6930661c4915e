"""Classic-protocol members inside KIP-848 consumer groups, and converting groups between the
two protocols, as Kafka 4.1 does (KIP-848's migration path).

A consumer using JoinGroup/SyncGroup/Heartbeat may join a non-empty consumer group: it becomes
a consumer group member whose subscription comes from its JoinGroup metadata and which is told
its assignment in SyncGroup::

    JoinGroup   MEMBER_ID_REQUIRED for a new dynamic member (v4+); its protocols must be ones
                every classic member supports (INCONSISTENT_GROUP_PROTOCOL); then, as a
                heartbeat: subscription, group epoch, target assignment, one reconciliation
                step with the partitions its metadata says it owns. The response carries its
                member epoch as the generation; no leader, so it never assigns
    SyncGroup   generation = member epoch (ILLEGAL_GENERATION); REBALANCE_IN_PROGRESS while
                the group epoch is ahead (unless it is revoking); else its assigned partitions
    Heartbeat   REBALANCE_IN_PROGRESS when it must rejoin: the group epoch moved, it has
                partitions to revoke, or partitions it waited for were released
    timers      session: the JoinGroup session timeout; join: it must rejoin within its
                rebalance timeout once told to; sync: it must sync within it after joining

Conversions (``group.consumer.migration.policy``: bidirectional, upgrade, downgrade, disabled;
empty groups are always converted):

- upgrade: a ConsumerGroupHeartbeat joining a non-empty classic group that uses the consumer
  protocol turns it into a consumer group (members at the generation as epoch, their last
  assignments as current and target); parked JoinGroup/SyncGroup requests get
  REBALANCE_IN_PROGRESS and rejoin as classic members of the consumer group;
- downgrade: when the last member using the consumer protocol leaves (or a static one is
  replaced by a classic member), the consumer group becomes a classic group with the same
  generation and assignments, and rebalances.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, TypeVar

import attrs

from rafka import errors
from rafka.cluster.groups import consumer_records as cr
from rafka.cluster.groups.classic_group import (
    CONSUMER_PROTOCOL_TYPE,
    ClassicGroup,
    ClassicGroupState,
    ClassicMember,
)
from rafka.cluster.groups.consumer_engine import (
    ConsumerEngine,
    join_key,
    sync_key,
)
from rafka.cluster.groups.consumer_group import ConsumerGroup
from rafka.cluster.groups.consumer_member import (
    Assignment,
    ClassicMemberMetadata,
    ConsumerGroupMember,
    MemberState,
)
from rafka.cluster.groups.consumer_replay import replay_consumer_record
from rafka.cluster.groups.group import Group
from rafka.cluster.groups.records import CoordinatorRecord
from rafka.cluster.groups.result import CoordinatorResult, Reply
from rafka.cluster.metadata.image import MetadataImage
from rafka.protocol.messages import (
    ConsumerGroupHeartbeatRequest,
    ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
    HeartbeatRequest,
    JoinGroupRequest,
    JoinGroupResponse,
    SyncGroupRequest,
    SyncGroupResponse,
)

if TYPE_CHECKING:
    from rafka.cluster.groups.classic_protocol import ClassicGroupProtocol, JoinContext

__all__ = ["ClassicMembers"]

log = logging.getLogger("rafka.groups")

T = TypeVar("T")
Result = CoordinatorResult[None]
TP = ConsumerGroupHeartbeatRequest.TopicPartitions
MEMBER_ID_REQUIRED = errors.MemberIdRequiredError.code
REBALANCE_IN_PROGRESS = errors.RebalanceInProgressError.code


def _version(metadata: bytes) -> int:
    if len(metadata) < 2:
        raise errors.DecodeError("the consumer protocol's header is missing")
    return min(int.from_bytes(metadata[:2], "big", signed=True), 3)


def decode_subscription(metadata: bytes) -> ConsumerProtocolSubscription:
    """The subscription a classic consumer sent in its JoinGroup metadata."""
    version = _version(metadata)
    if version < 0:
        raise errors.DecodeError("negative consumer protocol version")
    subscription, _ = ConsumerProtocolSubscription.decode_from(metadata, 2, version)
    return subscription


def encode_assignment(assignment: Assignment, image: MetadataImage, version: int) -> bytes:
    """The ConsumerProtocol assignment bytes (topics by name) at ``version``."""
    value = ConsumerProtocolAssignment(
        assigned_partitions=[
            ConsumerProtocolAssignment.TopicPartition(topic.name, sorted(partitions))
            for topic_id, partitions in assignment.items()
            if (topic := image.topics_by_id.get(topic_id)) is not None
        ]
    )
    version = max(min(version, 3), 0)
    return version.to_bytes(2, "big") + value.encode(version)


def _owned(subscription: ConsumerProtocolSubscription, image: MetadataImage) -> list[TP]:
    return [
        TP(image.topics[tp.topic].topic_id, list(tp.partitions))
        for tp in subscription.owned_partitions
        if tp.topic in image.topics
    ]


class ClassicMembers(ConsumerEngine):
    """Classic members in consumer groups, and group conversions (module docstring)."""

    #: The shard's classic protocol: downgrades hand groups over to it.
    classic: ClassicGroupProtocol | None = None

    @property
    def upgrade_enabled(self) -> bool:
        return self.config.migration_policy in ("bidirectional", "upgrade")

    @property
    def downgrade_enabled(self) -> bool:
        return self.config.migration_policy in ("bidirectional", "downgrade")

    # ------------------------------------------------------------------------------ join

    def classic_join(
        self,
        ctx: JoinContext,
        request: JoinGroupRequest,
        reply: Reply[JoinGroupResponse],
        group: ConsumerGroup,
    ) -> Result:
        image = self.image()
        self._note_image(image)
        records: list[CoordinatorRecord] = []
        group_id, instance_id = group.group_id, request.group_instance_id
        unknown = request.member_id == ""
        member_id = self.new_uuid() if unknown else request.member_id
        self._check_size(group, member_id)
        if not self._supports(group, request):
            raise errors.InconsistentGroupProtocolError(
                f"Member {member_id}'s protocols are not supported."
            )
        if ctx.api_version >= 4 and unknown and instance_id is None:
            reply.complete(JoinGroupResponse(member_id=member_id, error_code=MEMBER_ID_REQUIRED))
            return Result()
        if instance_id is None:
            member = group.members.get(member_id) or ConsumerGroupMember(member_id)
        else:
            member = self._static_member(
                group, member_id, instance_id, -1, [], unknown, records, classic=True
            )
        replaced = group.static_member(instance_id)
        downgrade = replaced is not None and self._can_downgrade_replacing(group, replaced)
        protocols = tuple((p.name, p.metadata) for p in request.protocols)
        try:
            subscription = decode_subscription(protocols[0][1])
        except errors.DecodeError:
            raise errors.InconsistentGroupProtocolError(
                "Malformed embedded consumer protocol in subscription deserialization."
            ) from None
        updated = attrs.evolve(
            member,
            instance_id=instance_id if instance_id is not None else member.instance_id,
            rack_id=subscription.rack_id or member.rack_id,
            rebalance_timeout_ms=request.rebalance_timeout_ms
            if request.rebalance_timeout_ms != -1
            else member.rebalance_timeout_ms,
            subscribed_topic_names=frozenset(subscription.topics),
            client_id=ctx.client_id,
            client_host=ctx.client_host,
            classic=ClassicMemberMetadata(request.session_timeout_ms, protocols),
        )
        bump = False
        if updated != member:
            records.append(cr.member_metadata_record(group_id, updated))
            bump = updated.subscribed_topic_names != member.subscribed_topic_names
        group_epoch, sub_type = group.group_epoch, group.subscription_type()
        if bump or group.metadata_checked_at != image.offset:
            group_epoch, sub_type = self._update_subscription_metadata(
                group, bump, member, updated, records, image
            )
        owned = _owned(subscription, image)
        result: Result
        if downgrade:
            if not bump:
                updated = self._maybe_reconcile(
                    group,
                    updated,
                    group.assignment_epoch,
                    group.target_of(updated.member_id, updated.instance_id),
                    owned,
                    records,
                )
            result = self._convert_to_classic(group, [], updated, bump, records, None)
        else:
            if group_epoch > group.assignment_epoch:
                target = self._update_target_assignment(
                    group, group_epoch, member, updated, sub_type, records, image
                )
                target_epoch = group_epoch
            else:
                target_epoch = group.assignment_epoch
                target = group.target_of(updated.member_id, updated.instance_id)
            updated = self._maybe_reconcile(group, updated, target_epoch, target, owned, records)
            result = self.commit(group_id, records, None)
        response = JoinGroupResponse(
            member_id=updated.member_id,
            generation_id=updated.member_epoch,
            protocol_type=CONSUMER_PROTOCOL_TYPE,
            protocol_name=protocols[0][0],
        )
        joined_id, session_ms = updated.member_id, request.session_timeout_ms
        rebalance_ms = request.rebalance_timeout_ms

        def written(error: errors.KafkaError | None) -> None:
            if error is not None:
                return
            self.timer.cancel(join_key(group_id, joined_id))
            if not downgrade:
                self._schedule_session(group_id, joined_id, session_ms)
                self._schedule_fence(
                    sync_key(group_id, joined_id),
                    group_id,
                    joined_id,
                    rebalance_ms,
                    "the member failed to sync within timeout",
                )
            reply.complete(response)

        result.on_written = written
        return result

    def _supports(self, group: ConsumerGroup, request: JoinGroupRequest) -> bool:
        names = {p.name for p in request.protocols}
        if request.protocol_type != CONSUMER_PROTOCOL_TYPE:
            return False
        if group.is_empty():
            return bool(names)
        return any(group.classic_protocols.get(name, 0) == group.classic_members for name in names)

    # ----------------------------------------------------------------- sync and heartbeat

    def _classic_member(
        self, group: ConsumerGroup, member_id: str, instance_id: str | None
    ) -> ConsumerGroupMember:
        if instance_id is None:
            member = group.member(member_id)
        else:
            found = group.static_member(instance_id)
            if found is None:
                raise errors.UnknownMemberIdError(
                    f"Member with instance id {instance_id} is not a member of group "
                    f"{group.group_id}."
                )
            if found.member_id != member_id:
                raise errors.FencedInstanceIdError(
                    f"Static member {member_id} with instance id {instance_id} was fenced by "
                    f"member {found.member_id}."
                )
            member = found
        if member.classic is None:
            raise errors.UnknownMemberIdError(
                f"Member {member.member_id} does not use the classic protocol."
            )
        return member

    @staticmethod
    def _check_generation(member: ConsumerGroupMember, generation: int) -> None:
        if member.member_epoch != generation:
            raise errors.IllegalGenerationError(
                f"The request generation id {generation} is not equal to the member epoch "
                f"{member.member_epoch} of member {member.member_id}."
            )

    def classic_sync(
        self, request: SyncGroupRequest, reply: Reply[SyncGroupResponse], group: ConsumerGroup
    ) -> Result:
        member = self._classic_member(group, request.member_id, request.group_instance_id)
        self._check_generation(member, request.generation_id)
        assert member.classic is not None
        name, metadata = member.classic.protocols[0]
        if request.protocol_type is not None and request.protocol_type != CONSUMER_PROTOCOL_TYPE:
            raise errors.InconsistentGroupProtocolError(
                f"The protocol type {request.protocol_type} from member {member.member_id} "
                f"request is not equal to the group protocol type {CONSUMER_PROTOCOL_TYPE}."
            )
        if request.protocol_name is not None and request.protocol_name != name:
            raise errors.InconsistentGroupProtocolError(
                f"The protocol name {request.protocol_name} from member {member.member_id} "
                f"request is not equal to the protocol name {name} returned in the join "
                "response."
            )
        self._check_rebalance_in_progress(group, member)
        group_id, member_id = group.group_id, member.member_id
        session_ms = member.classic.session_timeout_ms
        assignment = encode_assignment(member.assigned_partitions, self.image(), _version(metadata))

        def written(error: errors.KafkaError | None) -> None:
            if error is not None:
                return
            self.timer.cancel(sync_key(group_id, member_id))
            self._schedule_session(group_id, member_id, session_ms)
            reply.complete(
                SyncGroupResponse(
                    protocol_type=request.protocol_type,
                    protocol_name=request.protocol_name,
                    assignment=assignment,
                )
            )

        return Result(on_written=written)

    def _check_rebalance_in_progress(
        self, group: ConsumerGroup, member: ConsumerGroupMember
    ) -> None:
        if (
            group.group_epoch > member.member_epoch
            and member.state is not MemberState.UNREVOKED_PARTITIONS
        ):
            self._schedule_join_timeout(group.group_id, member)
            raise errors.RebalanceInProgressError(
                f"A new rebalance is triggered in group {group.group_id} and member "
                f"{member.member_id} should rejoin to catch up."
            )

    def classic_heartbeat(self, request: HeartbeatRequest, group: ConsumerGroup) -> int:
        member = self._classic_member(group, request.member_id, request.group_instance_id)
        self._check_generation(member, request.generation_id)
        assert member.classic is not None
        self._schedule_session(group.group_id, member.member_id, member.classic.session_timeout_ms)
        if (
            member.member_epoch < group.group_epoch
            or member.state is MemberState.UNREVOKED_PARTITIONS
            or (
                member.state is MemberState.UNRELEASED_PARTITIONS
                and not group.waiting_on_unreleased_partition(member)
            )
        ):
            self._schedule_join_timeout(group.group_id, member)
            return REBALANCE_IN_PROGRESS
        return 0

    def _schedule_join_timeout(self, group_id: str, member: ConsumerGroupMember) -> None:
        key = join_key(group_id, member.member_id)
        if key not in self.timer:
            self._schedule_fence(
                key,
                group_id,
                member.member_id,
                member.rebalance_timeout_ms,
                "the classic member failed to join within the rebalance timeout",
            )

    def _schedule_fence(
        self, key: str, group_id: str, member_id: str, delay_ms: int, reason: str
    ) -> None:
        def fence() -> Result:
            return self._fence_operation(group_id, member_id, reason)

        self._schedule(key, delay_ms, fence)

    # ----------------------------------------------------------------------------- upgrade

    def _upgrade(self, classic: ClassicGroup, records: list[CoordinatorRecord]) -> ConsumerGroup:
        """Convert a non-empty classic group for a consumer-protocol member joining it."""
        gid = classic.group_id
        if not self.upgrade_enabled:
            raise errors.GroupIdNotFoundError(
                f"Cannot upgrade classic group {gid} to consumer group because online upgrade "
                "is disabled."
            )
        if not classic.uses_consumer_protocol():
            raise errors.GroupIdNotFoundError(
                f"Cannot upgrade classic group {gid} to consumer group because the group does "
                "not use the consumer embedded protocol."
            )
        if len(classic.members) > self.config.max_size:
            raise errors.GroupIdNotFoundError(
                f"Cannot upgrade classic group {gid} to consumer group because the group size "
                "exceeds the consumer group maximum size."
            )
        conversion = self._records_from_classic(classic, self.image())
        classic.complete_all_joins(REBALANCE_IN_PROGRESS)
        classic.complete_all_syncs(REBALANCE_IN_PROGRESS)
        records += classic.tombstones()
        records += conversion
        scratch: dict[str, Group] = {}
        for record in conversion:
            replay_consumer_record(scratch, record)
        converted = scratch[gid]
        assert isinstance(converted, ConsumerGroup)
        for member in converted.members.values():
            assert member.classic is not None
            self._schedule_session(gid, member.member_id, member.classic.session_timeout_ms)
        log.info("[GroupId %s] Converted the classic group to a consumer group.", gid)
        return converted

    def _records_from_classic(
        self, classic: ClassicGroup, image: MetadataImage
    ) -> list[CoordinatorRecord]:
        gid, generation = classic.group_id, classic.generation_id
        members: list[ConsumerGroupMember] = []
        for m in classic.members.values():
            assigned: dict[uuid.UUID, frozenset[int]] = {}
            try:
                if m.assignment:
                    version = _version(m.assignment)
                    value, _ = ConsumerProtocolAssignment.decode_from(m.assignment, 2, version)
                    if value.user_data:
                        raise errors.GroupIdNotFoundError(
                            f"Cannot upgrade classic group {gid} to consumer group because an "
                            "unsupported custom assignor is in use. Please refer to the "
                            "documentation or switch to a default assignor before "
                            "re-attempting the upgrade."
                        )
                    for tp in value.assigned_partitions:
                        topic = image.topics.get(tp.topic)
                        if topic is not None:
                            assigned[topic.topic_id] = frozenset(tp.partitions)
                subscription = decode_subscription(m.metadata(classic.protocol_name or ""))
            except (errors.DecodeError, ValueError):
                raise errors.GroupIdNotFoundError(
                    f"Cannot upgrade classic group {gid} to consumer group because the "
                    "embedded consumer protocol is malformed."
                ) from None
            members.append(
                ConsumerGroupMember(
                    m.member_id,
                    member_epoch=generation,
                    previous_member_epoch=generation,
                    state=MemberState.STABLE,
                    instance_id=m.group_instance_id,
                    rack_id=subscription.rack_id,
                    rebalance_timeout_ms=m.rebalance_timeout_ms,
                    client_id=m.client_id,
                    client_host=m.client_host,
                    subscribed_topic_names=frozenset(subscription.topics),
                    assigned_partitions=assigned,
                    classic=ClassicMemberMetadata(m.session_timeout_ms, tuple(m.protocols)),
                )
            )
        topics = {t for m in members for t in m.subscribed_topic_names}
        metadata_hash = self.topic_hashes.metadata_hash(topics, image)
        records = [cr.member_metadata_record(gid, m) for m in members]
        records.append(cr.group_epoch_record(gid, generation, metadata_hash))
        records += [
            cr.target_assignment_record(gid, m.member_id, m.assigned_partitions) for m in members
        ]
        records.append(cr.assignment_epoch_record(gid, generation))
        records += [cr.current_assignment_record(gid, m) for m in members]
        return records

    # --------------------------------------------------------------------------- downgrade

    def _can_downgrade_replacing(self, group: ConsumerGroup, replaced: ConsumerGroupMember) -> bool:
        return (
            group.classic_members == len(group.members) - 1
            and not replaced.uses_classic_protocol
            and self.downgrade_enabled
            and self.classic is not None
            and len(group.members) <= self.classic.config.max_size
        )

    def _maybe_downgrade(
        self, group: ConsumerGroup, leaving: list[ConsumerGroupMember], response: T | None
    ) -> CoordinatorResult[T] | None:
        leaving_classic = sum(1 for m in leaving if m.uses_classic_protocol)
        remaining = len(group.members) - len(leaving)
        if (
            group.classic_members - leaving_classic != remaining
            or remaining <= 0
            or not self.downgrade_enabled
            or self.classic is None
            or remaining > self.classic.config.max_size
        ):
            return None
        return self._convert_to_classic(group, leaving, None, False, [], response)

    def _convert_to_classic(
        self,
        group: ConsumerGroup,
        leaving: list[ConsumerGroupMember],
        joining: ConsumerGroupMember | None,
        subscription_changed: bool,
        records: list[CoordinatorRecord],
        response: T | None,
    ) -> CoordinatorResult[T]:
        """Replace the consumer group with a classic group of its remaining members (their
        target assignments as assignments); it rebalances unless a static member was only
        replaced by one with the same subscription."""
        assert self.classic is not None
        gid = group.group_id
        image = self.image()
        replaced = None if joining is None else group.static_member(joining.instance_id)
        ids = list(group.members)
        if replaced is not None and joining is not None:
            ids = [joining.member_id if i == replaced.member_id else i for i in ids]
        records += [cr.current_assignment_tombstone(gid, i) for i in ids]
        records += [cr.target_assignment_tombstone(gid, i) for i in ids]
        records.append(cr.assignment_epoch_tombstone(gid))
        records += [cr.member_metadata_tombstone(gid, i) for i in ids]
        records += [cr.regex_tombstone(gid, r) for r in group.resolved_regexes]
        records.append(cr.partition_metadata_tombstone(gid))
        records.append(cr.group_epoch_tombstone(gid))
        classic = ClassicGroup(
            gid,
            self.clock.time_ms(),
            state=ClassicGroupState.STABLE,
            generation_id=group.group_epoch,
            protocol_type=CONSUMER_PROTOCOL_TYPE,
        )
        leaving_ids = {m.member_id for m in leaving}
        kept = [
            m
            for m in group.members.values()
            if m.member_id not in leaving_ids and (replaced is None or m is not replaced)
        ]
        if joining is not None:
            kept.append(joining)
        targets: dict[str, str] = {m.member_id: m.member_id for m in kept}
        if joining is not None and replaced is not None:
            targets[joining.member_id] = replaced.member_id
        for m in kept:
            assert m.classic is not None
            classic.add(
                ClassicMember(
                    m.member_id,
                    m.instance_id,
                    m.client_id,
                    m.client_host,
                    m.rebalance_timeout_ms,
                    m.classic.session_timeout_ms,
                    CONSUMER_PROTOCOL_TYPE,
                    list(m.classic.protocols),
                ),
                None,
            )
        classic.protocol_name = classic.select_protocol()
        classic.subscribed_topics = classic.compute_subscribed_topics()
        for member in classic.members.values():
            version = _version(member.metadata(classic.protocol_name))
            member.assignment = encode_assignment(
                group.target_of(targets[member.member_id]), image, version
            )
        records.append(classic.metadata_record(None))
        self.groups[gid] = classic
        for member in classic.members.values():
            self.classic.reschedule_heartbeat(classic, member)
        for m in group.members.values():
            self.cancel_timers(gid, m.member_id)
        if joining is None or subscription_changed:
            self.classic.prepare_rebalance(classic)
        log.info("[GroupId %s] Converted the consumer group to a classic group.", gid)

        def rollback() -> None:
            self.groups[gid] = group

        return CoordinatorResult(records, response, replay=False, rollback=rollback)

"""Replaying consumer group records into a shard's registry: the only way a
:class:`~rafka.cluster.groups.consumer_group.ConsumerGroup` changes.

The same code runs when an operation's records are written (they are applied at once, as
Kafka applies them to its in-memory state before they commit) and when a partition is loaded,
so a restarted coordinator rebuilds exactly what it had. As in Kafka:

- a record for a group that does not exist creates it, replacing a *simple* classic group
  (one only holding offsets committed outside group management); a tombstone for an unknown
  group or member is ignored;
- a current-assignment tombstone leaves the member at epoch -1 without partitions, and the
  member-metadata tombstone that follows removes it; the group-epoch tombstone removes the
  group (after every member and its target assignment are gone).
"""

from __future__ import annotations

from collections.abc import MutableMapping

from rafka.cluster.groups.classic_group import ClassicGroup
from rafka.cluster.groups.consumer_group import ConsumerGroup, ResolvedRegex
from rafka.cluster.groups.consumer_member import (
    LEAVE_GROUP_MEMBER_EPOCH,
    ConsumerGroupMember,
    assignment_from_records,
)
from rafka.cluster.groups.consumer_records import (
    GROUP_EPOCH,
    MEMBER_ASSIGNMENT,
    MEMBER_METADATA,
    PARTITION_METADATA,
    REGULAR_EXPRESSION,
    TARGET_ASSIGNMENT_EPOCH,
    TARGET_ASSIGNMENT_MEMBER,
)
from rafka.cluster.groups.group import Group
from rafka.cluster.groups.records import CoordinatorRecord
from rafka.protocol.schemas.group_coordinator import (
    ConsumerGroupCurrentMemberAssignmentValue,
    ConsumerGroupMemberMetadataValue,
    ConsumerGroupMetadataValue,
    ConsumerGroupRegularExpressionValue,
    ConsumerGroupTargetAssignmentMemberValue,
    ConsumerGroupTargetAssignmentMetadataValue,
)

__all__ = ["replay_consumer_record"]


def _group(groups: MutableMapping[str, Group], group_id: str, create: bool) -> ConsumerGroup | None:
    group = groups.get(group_id)
    if isinstance(group, ConsumerGroup):
        return group
    if group is not None and not (isinstance(group, ClassicGroup) and group.is_simple()):
        raise RuntimeError(f"group {group_id} is not a consumer group")
    if not create:
        return None
    created = ConsumerGroup(group_id)
    groups[group_id] = created
    return created


def replay_consumer_record(groups: MutableMapping[str, Group], record: CoordinatorRecord) -> None:
    """Apply one consumer group record (types 3-8 and 16) to ``groups``."""
    key, value = record.key, record.value
    group_id: str = key.group_id  # type: ignore[attr-defined]
    kind = record.record_type
    group = _group(groups, group_id, value is not None)
    if group is None:
        return
    if kind == GROUP_EPOCH:
        if isinstance(value, ConsumerGroupMetadataValue):
            group.group_epoch = value.epoch
            group.metadata_hash = value.metadata_hash
            return
        if group.members or group.target_assignment or group.assignment_epoch != -1:
            raise RuntimeError(f"tombstone for group {group_id} that still has members")
        del groups[group_id]
        group.dead = True
    elif kind == PARTITION_METADATA:
        group.has_subscription_metadata_record = value is not None
    elif kind == MEMBER_METADATA:
        member_id: str = key.member_id  # type: ignore[attr-defined]
        if isinstance(value, ConsumerGroupMemberMetadataValue):
            old = group.members.get(member_id) or ConsumerGroupMember(member_id)
            group.update_member(old.with_metadata(value))
            return
        member = group.members.get(member_id)
        if member is None:
            return
        if member.member_epoch != LEAVE_GROUP_MEMBER_EPOCH:
            raise RuntimeError(f"{group_id}: member {member_id} removed before its assignment")
        if member_id in group.target_assignment:
            raise RuntimeError(f"{group_id}: member {member_id} removed before its target")
        group.remove_member(member_id)
    elif kind == TARGET_ASSIGNMENT_EPOCH:
        if isinstance(value, ConsumerGroupTargetAssignmentMetadataValue):
            group.assignment_epoch = value.assignment_epoch
            return
        if group.target_assignment:
            raise RuntimeError(f"{group_id}: assignment epoch deleted before the assignment")
        group.assignment_epoch = -1
    elif kind == TARGET_ASSIGNMENT_MEMBER:
        member_id = key.member_id  # type: ignore[attr-defined]
        if isinstance(value, ConsumerGroupTargetAssignmentMemberValue):
            group.update_target(member_id, assignment_from_records(value.topic_partitions))
        else:
            group.remove_target(member_id)
    elif kind == MEMBER_ASSIGNMENT:
        member_id = key.member_id  # type: ignore[attr-defined]
        if isinstance(value, ConsumerGroupCurrentMemberAssignmentValue):
            old = group.members.get(member_id) or ConsumerGroupMember(member_id)
            group.update_member(old.with_assignment(value))
            return
        member = group.members.get(member_id)
        if member is not None:
            group.update_member(
                member.with_assignment(
                    ConsumerGroupCurrentMemberAssignmentValue(
                        member_epoch=LEAVE_GROUP_MEMBER_EPOCH,
                        previous_member_epoch=LEAVE_GROUP_MEMBER_EPOCH,
                        state=int(member.state),
                    )
                )
            )
    elif kind == REGULAR_EXPRESSION:
        regex: str = key.regular_expression  # type: ignore[attr-defined]
        if isinstance(value, ConsumerGroupRegularExpressionValue):
            resolved = ResolvedRegex(frozenset(value.topics), value.version, value.timestamp)
            group.update_resolved_regex(regex, resolved)
        else:
            group.update_resolved_regex(regex, None)
    else:
        raise ValueError(f"record type {kind} is not a consumer group record")

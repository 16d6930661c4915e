"""The ``__consumer_offsets`` records of KIP-848 consumer groups, as Kafka 4.1 writes them
(every value at version 0; a null value is a tombstone)::

    type 3  ConsumerGroupMetadata           group id -> group epoch, metadata hash
    type 4  ConsumerGroupPartitionMetadata  group id -> (before 4.1) subscribed topics;
                                            Kafka 4.1 only writes its tombstone
    type 5  ConsumerGroupMemberMetadata     (group, member) -> client, subscription, assignor,
                                            classic protocols of a classic member
    type 6  ConsumerGroupTargetAssignmentMetadata  group id -> target assignment epoch
    type 7  ConsumerGroupTargetAssignmentMember    (group, member) -> target partitions
    type 8  ConsumerGroupCurrentMemberAssignment   (group, member) -> epochs, state, owned
                                                   and pending-revocation partitions
    type 16 ConsumerGroupRegularExpression  (group, regex) -> matched topics, version, time

Deleting a group writes tombstones in Kafka's order (see ``ConsumerGroup.tombstones``);
removing a member writes its current assignment, target assignment and metadata tombstones,
in that order.
"""

from __future__ import annotations

from rafka.cluster.groups.consumer_member import (
    Assignment,
    ConsumerGroupMember,
    assignment_to_records,
)
from rafka.cluster.groups.records import CoordinatorRecord
from rafka.protocol.schemas.group_coordinator import (
    ConsumerGroupCurrentMemberAssignmentKey,
    ConsumerGroupMemberMetadataKey,
    ConsumerGroupMetadataKey,
    ConsumerGroupMetadataValue,
    ConsumerGroupPartitionMetadataKey,
    ConsumerGroupRegularExpressionKey,
    ConsumerGroupRegularExpressionValue,
    ConsumerGroupTargetAssignmentMemberKey,
    ConsumerGroupTargetAssignmentMemberValue,
    ConsumerGroupTargetAssignmentMetadataKey,
    ConsumerGroupTargetAssignmentMetadataValue,
)

__all__ = [
    "CONSUMER_RECORD_TYPES",
    "GROUP_EPOCH",
    "MEMBER_ASSIGNMENT",
    "MEMBER_METADATA",
    "PARTITION_METADATA",
    "REGULAR_EXPRESSION",
    "TARGET_ASSIGNMENT_EPOCH",
    "TARGET_ASSIGNMENT_MEMBER",
]

GROUP_EPOCH = 3
PARTITION_METADATA = 4
MEMBER_METADATA = 5
TARGET_ASSIGNMENT_EPOCH = 6
TARGET_ASSIGNMENT_MEMBER = 7
MEMBER_ASSIGNMENT = 8
REGULAR_EXPRESSION = 16
CONSUMER_RECORD_TYPES = frozenset({3, 4, 5, 6, 7, 8, 16})


def group_epoch_record(group_id: str, epoch: int, metadata_hash: int) -> CoordinatorRecord:
    return CoordinatorRecord(
        GROUP_EPOCH,
        ConsumerGroupMetadataKey(group_id),
        ConsumerGroupMetadataValue(epoch=epoch, metadata_hash=metadata_hash),
        0,
    )


def group_epoch_tombstone(group_id: str) -> CoordinatorRecord:
    return CoordinatorRecord(GROUP_EPOCH, ConsumerGroupMetadataKey(group_id))


def partition_metadata_tombstone(group_id: str) -> CoordinatorRecord:
    return CoordinatorRecord(PARTITION_METADATA, ConsumerGroupPartitionMetadataKey(group_id))


def member_metadata_record(group_id: str, member: ConsumerGroupMember) -> CoordinatorRecord:
    return CoordinatorRecord(
        MEMBER_METADATA,
        ConsumerGroupMemberMetadataKey(group_id, member.member_id),
        member.metadata_value(),
        0,
    )


def member_metadata_tombstone(group_id: str, member_id: str) -> CoordinatorRecord:
    return CoordinatorRecord(MEMBER_METADATA, ConsumerGroupMemberMetadataKey(group_id, member_id))


def assignment_epoch_record(group_id: str, epoch: int) -> CoordinatorRecord:
    return CoordinatorRecord(
        TARGET_ASSIGNMENT_EPOCH,
        ConsumerGroupTargetAssignmentMetadataKey(group_id),
        ConsumerGroupTargetAssignmentMetadataValue(assignment_epoch=epoch),
        0,
    )


def assignment_epoch_tombstone(group_id: str) -> CoordinatorRecord:
    return CoordinatorRecord(
        TARGET_ASSIGNMENT_EPOCH, ConsumerGroupTargetAssignmentMetadataKey(group_id)
    )


def target_assignment_record(
    group_id: str, member_id: str, assignment: Assignment
) -> CoordinatorRecord:
    value = ConsumerGroupTargetAssignmentMemberValue(
        topic_partitions=[
            ConsumerGroupTargetAssignmentMemberValue.TopicPartition(tp.topic_id, tp.partitions)
            for tp in assignment_to_records(assignment)
        ]
    )
    return CoordinatorRecord(
        TARGET_ASSIGNMENT_MEMBER,
        ConsumerGroupTargetAssignmentMemberKey(group_id, member_id),
        value,
        0,
    )


def target_assignment_tombstone(group_id: str, member_id: str) -> CoordinatorRecord:
    return CoordinatorRecord(
        TARGET_ASSIGNMENT_MEMBER, ConsumerGroupTargetAssignmentMemberKey(group_id, member_id)
    )


def current_assignment_record(group_id: str, member: ConsumerGroupMember) -> CoordinatorRecord:
    return CoordinatorRecord(
        MEMBER_ASSIGNMENT,
        ConsumerGroupCurrentMemberAssignmentKey(group_id, member.member_id),
        member.assignment_value(),
        0,
    )


def current_assignment_tombstone(group_id: str, member_id: str) -> CoordinatorRecord:
    return CoordinatorRecord(
        MEMBER_ASSIGNMENT, ConsumerGroupCurrentMemberAssignmentKey(group_id, member_id)
    )


def regex_record(
    group_id: str, regex: str, topics: frozenset[str], version: int, timestamp: int
) -> CoordinatorRecord:
    return CoordinatorRecord(
        REGULAR_EXPRESSION,
        ConsumerGroupRegularExpressionKey(group_id, regex),
        ConsumerGroupRegularExpressionValue(
            topics=sorted(topics), version=version, timestamp=timestamp
        ),
        0,
    )


def regex_tombstone(group_id: str, regex: str) -> CoordinatorRecord:
    return CoordinatorRecord(REGULAR_EXPRESSION, ConsumerGroupRegularExpressionKey(group_id, regex))


def member_removal(group_id: str, member_id: str) -> list[CoordinatorRecord]:
    """The tombstones that remove one member, in the order Kafka writes them."""
    return [
        current_assignment_tombstone(group_id, member_id),
        target_assignment_tombstone(group_id, member_id),
        member_metadata_tombstone(group_id, member_id),
    ]

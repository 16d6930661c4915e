"""A member of a KIP-848 consumer group: immutable values, replaced (never changed) by the
state machine, as Kafka's ``ConsumerGroupMember``.

A member's assignment moves through three states (the ``State`` byte of its
ConsumerGroupCurrentMemberAssignment record)::

    STABLE                 (0) owns what its target assignment at ``member_epoch`` gives it
    UNREVOKED_PARTITIONS   (1) must give up ``partitions_pending_revocation`` first; it stays
                               in its epoch until a heartbeat no longer lists them as owned
    UNRELEASED_PARTITIONS  (2) at the target epoch, but some target partitions are still owned
                               by other members (still revoking them); they come later
    UNKNOWN              (127) a state this coordinator does not know (from a newer one)

Epochs: ``member_epoch`` is what the member must send; ``previous_member_epoch`` is accepted
too when the member owns no more than its assignment (the response that bumped the epoch may
have been lost). -1 means "left", -2 "a static member left for now" (it may come back with its
instance id within the session timeout).

Assignments are ``{topic id: frozenset of partitions}`` mappings, never mutated.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import attrs

from rafka.cluster.metadata.image import TopicImage
from rafka.protocol.messages import ConsumerGroupDescribeResponse
from rafka.protocol.schemas.group_coordinator import (
    ConsumerGroupCurrentMemberAssignmentValue,
    ConsumerGroupMemberMetadataValue,
)

__all__ = [
    "LEAVE_GROUP_MEMBER_EPOCH",
    "LEAVE_GROUP_STATIC_MEMBER_EPOCH",
    "Assignment",
    "ClassicMemberMetadata",
    "ConsumerGroupMember",
    "MemberState",
    "assignment_from_records",
    "assignment_to_records",
]

LEAVE_GROUP_MEMBER_EPOCH = -1
LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2

#: topic id -> partitions; treated as immutable everywhere.
Assignment = Mapping[uuid.UUID, frozenset[int]]
EMPTY: Assignment = {}


class MemberState(enum.IntEnum):
    STABLE = 0
    UNREVOKED_PARTITIONS = 1
    UNRELEASED_PARTITIONS = 2
    UNKNOWN = 127

    @classmethod
    def from_value(cls, value: int) -> MemberState:
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN


@attrs.frozen
class ClassicMemberMetadata:
    """What a member using the classic protocol (JoinGroup) inside a consumer group sent."""

    session_timeout_ms: int
    protocols: tuple[tuple[str, bytes], ...]


class TopicPartitionsLike(Protocol):
    """A topic id and partitions, as records and requests carry them."""

    @property
    def topic_id(self) -> uuid.UUID: ...

    @property
    def partitions(self) -> Sequence[int]: ...


def assignment_from_records(records: Iterable[TopicPartitionsLike]) -> Assignment:
    out: dict[uuid.UUID, frozenset[int]] = {}
    for tp in records:
        if tp.partitions:
            out[tp.topic_id] = out.get(tp.topic_id, frozenset()) | frozenset(tp.partitions)
    return out


def assignment_to_records(
    assignment: Assignment,
) -> list[ConsumerGroupCurrentMemberAssignmentValue.TopicPartitions]:
    return [
        ConsumerGroupCurrentMemberAssignmentValue.TopicPartitions(topic_id, sorted(partitions))
        for topic_id, partitions in assignment.items()
    ]


def described_assignment(
    assignment: Assignment, topics_by_id: Mapping[uuid.UUID, TopicImage]
) -> ConsumerGroupDescribeResponse.Assignment:
    """The assignment with topic names; topics that no longer exist are left out (Kafka)."""
    out = ConsumerGroupDescribeResponse.Assignment()
    for topic_id, partitions in assignment.items():
        topic = topics_by_id.get(topic_id)
        if topic is not None:
            out.topic_partitions.append(
                ConsumerGroupDescribeResponse.TopicPartitions(
                    topic_id, topic.name, sorted(partitions)
                )
            )
    return out


@attrs.frozen(eq=True)
class ConsumerGroupMember:
    """One member of a consumer group, as its records describe it."""

    member_id: str
    member_epoch: int = 0
    previous_member_epoch: int = -1
    state: MemberState = MemberState.STABLE
    instance_id: str | None = None
    rack_id: str | None = None
    rebalance_timeout_ms: int = -1
    client_id: str = ""
    client_host: str = ""
    subscribed_topic_names: frozenset[str] = frozenset()
    #: "" when none (Kafka's default), None only when a record stored a null.
    subscribed_topic_regex: str | None = ""
    server_assignor: str | None = None
    assigned_partitions: Assignment = EMPTY
    partitions_pending_revocation: Assignment = EMPTY
    classic: ClassicMemberMetadata | None = None

    @property
    def uses_classic_protocol(self) -> bool:
        return self.classic is not None

    @property
    def regex(self) -> str | None:
        """The subscribed regular expression, or None when there is none."""
        return self.subscribed_topic_regex or None

    def is_reconciled_to(self, target_assignment_epoch: int) -> bool:
        return self.state is MemberState.STABLE and self.member_epoch == target_assignment_epoch

    def with_epoch(self, epoch: int, **changes: object) -> ConsumerGroupMember:
        """Moved to ``epoch``; the current one becomes the previous one."""
        return attrs.evolve(
            self,
            member_epoch=epoch,
            previous_member_epoch=self.member_epoch,
            **changes,  # type: ignore[arg-type]
        )

    # ------------------------------------------------------------------------------ records

    def metadata_value(self) -> ConsumerGroupMemberMetadataValue:
        classic = None
        if self.classic is not None:
            classic = ConsumerGroupMemberMetadataValue.ClassicMemberMetadata(
                self.classic.session_timeout_ms,
                [
                    ConsumerGroupMemberMetadataValue.ClassicProtocol(name, metadata)
                    for name, metadata in self.classic.protocols
                ],
            )
        return ConsumerGroupMemberMetadataValue(
            instance_id=self.instance_id,
            rack_id=self.rack_id,
            client_id=self.client_id,
            client_host=self.client_host,
            subscribed_topic_names=sorted(self.subscribed_topic_names),
            subscribed_topic_regex=self.subscribed_topic_regex,
            rebalance_timeout_ms=self.rebalance_timeout_ms,
            server_assignor=self.server_assignor,
            classic_member_metadata=classic,
        )

    def with_metadata(self, value: ConsumerGroupMemberMetadataValue) -> ConsumerGroupMember:
        classic = value.classic_member_metadata
        return attrs.evolve(
            self,
            instance_id=value.instance_id,
            rack_id=value.rack_id,
            client_id=value.client_id,
            client_host=value.client_host,
            subscribed_topic_names=frozenset(value.subscribed_topic_names),
            subscribed_topic_regex=value.subscribed_topic_regex,
            rebalance_timeout_ms=value.rebalance_timeout_ms,
            server_assignor=value.server_assignor,
            classic=None
            if classic is None
            else ClassicMemberMetadata(
                classic.session_timeout_ms,
                tuple((p.name, p.metadata) for p in classic.supported_protocols),
            ),
        )

    def assignment_value(self) -> ConsumerGroupCurrentMemberAssignmentValue:
        return ConsumerGroupCurrentMemberAssignmentValue(
            member_epoch=self.member_epoch,
            previous_member_epoch=self.previous_member_epoch,
            state=int(self.state),
            assigned_partitions=assignment_to_records(self.assigned_partitions),
            partitions_pending_revocation=assignment_to_records(self.partitions_pending_revocation),
        )

    def with_assignment(
        self, value: ConsumerGroupCurrentMemberAssignmentValue
    ) -> ConsumerGroupMember:
        return attrs.evolve(
            self,
            member_epoch=value.member_epoch,
            previous_member_epoch=value.previous_member_epoch,
            state=MemberState.from_value(value.state),
            assigned_partitions=assignment_from_records(value.assigned_partitions),
            partitions_pending_revocation=assignment_from_records(
                value.partitions_pending_revocation
            ),
        )

    # ------------------------------------------------------------------------- describing

    def described(
        self, target: Assignment, topics_by_id: Mapping[uuid.UUID, TopicImage]
    ) -> ConsumerGroupDescribeResponse.Member:
        return ConsumerGroupDescribeResponse.Member(
            member_id=self.member_id,
            instance_id=self.instance_id,
            rack_id=self.rack_id,
            member_epoch=self.member_epoch,
            client_id=self.client_id,
            client_host=self.client_host,
            subscribed_topic_names=sorted(self.subscribed_topic_names),
            subscribed_topic_regex=self.subscribed_topic_regex,
            assignment=described_assignment(self.assigned_partitions, topics_by_id),
            target_assignment=described_assignment(target, topics_by_id),
            member_type=0 if self.uses_classic_protocol else 1,
        )

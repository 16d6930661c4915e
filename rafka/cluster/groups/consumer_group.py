"""A KIP-848 consumer group: members, epochs, target assignment and the indexes derived from
them, as Kafka's ``ConsumerGroup``. Changed only by replaying its records
(:mod:`rafka.cluster.groups.consumer_replay`), whether written just now or loaded.

State, derived (never stored) from the epochs and the members::

    Empty        no member
    Assigning    group epoch > target assignment epoch: a new target assignment is due
    Reconciling  some member is not yet STABLE at the target assignment epoch
    Stable       every member owns its target assignment at the target assignment epoch
    Dead         unloaded or deleted

Epochs: the *group epoch* is bumped by every change of membership or subscriptions (and of the
subscribed topics' metadata); the *target assignment epoch* is the group epoch the target
assignment was computed for; each member's *member epoch* reaches the target assignment epoch
once it has reconciled (revoked before anything it gains is handed over).

Invariant kept by :meth:`ConsumerGroup.update_member`: a partition is owned (assigned or pending
revocation) by at most one member; ``partition_epochs`` maps it to its owner's epoch.
"""

from __future__ import annotations

import enum
import uuid
from collections import Counter
from collections.abc import Mapping

import attrs

from rafka import errors
from rafka.cluster.groups import consumer_records as cr
from rafka.cluster.groups.consumer_member import (
    EMPTY,
    Assignment,
    ConsumerGroupMember,
    MemberState,
)
from rafka.cluster.groups.group import GroupType, OffsetBaseTimestamp
from rafka.cluster.groups.records import CoordinatorRecord
from rafka.cluster.metadata.image import TopicImage
from rafka.protocol.messages import ConsumerGroupDescribeResponse, ListGroupsResponse

__all__ = [
    "ConsumerGroup",
    "ConsumerGroupState",
    "ResolvedRegex",
    "SubscriptionType",
]

CONSUMER_PROTOCOL_TYPE = "consumer"


class ConsumerGroupState(enum.Enum):
    EMPTY = "Empty"
    ASSIGNING = "Assigning"
    RECONCILING = "Reconciling"
    STABLE = "Stable"
    DEAD = "Dead"

    def __str__(self) -> str:
        return self.value


class SubscriptionType(enum.Enum):
    HOMOGENEOUS = "homogeneous"
    HETEROGENEOUS = "heterogeneous"


@attrs.frozen
class ResolvedRegex:
    """The topics a regular expression matched, at which metadata version and when."""

    topics: frozenset[str]
    version: int
    timestamp: int


S = ConsumerGroupState


class ConsumerGroup:
    """The state of one consumer group (see the module docstring)."""

    group_type = GroupType.CONSUMER

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id
        self.dead = False
        self.group_epoch = 0
        self.metadata_hash = 0
        self.assignment_epoch = 0
        self.members: dict[str, ConsumerGroupMember] = {}
        self.static_members: dict[str, str] = {}  # instance id -> member id
        self.target_assignment: dict[str, Assignment] = {}
        #: topic id -> partition -> the member whose target assignment holds it.
        self.inverted_target: dict[uuid.UUID, dict[int, str]] = {}
        #: topic id -> partition -> epoch of the member owning it (assigned or revoking).
        self.partition_epochs: dict[uuid.UUID, dict[int, int]] = {}
        self.topics_by_name: Counter[str] = Counter()  # subscribers by name
        self.topics_by_regex: Counter[str] = Counter()  # resolved regexes matching it
        self.regex_subscribers: Counter[str] = Counter()
        self.resolved_regexes: dict[str, ResolvedRegex] = {}
        self.server_assignors: Counter[str] = Counter()
        self.classic_members = 0
        self.classic_protocols: Counter[str] = Counter()
        self.has_subscription_metadata_record = False
        #: The metadata image offset the metadata hash was last checked at (-1: never).
        self.metadata_checked_at = -1

    def __repr__(self) -> str:
        return (
            f"<ConsumerGroup {self.group_id} {self.state} epoch={self.group_epoch} "
            f"assignment={self.assignment_epoch} members={list(self.members)}>"
        )

    def copy(self) -> ConsumerGroup:
        """A snapshot to restore if writing the records of an operation fails."""
        other = ConsumerGroup.__new__(ConsumerGroup)
        other.__dict__.update(self.__dict__)
        for name in (
            "members",
            "static_members",
            "target_assignment",
            "topics_by_name",
            "topics_by_regex",
            "regex_subscribers",
            "resolved_regexes",
            "server_assignors",
            "classic_protocols",
        ):
            setattr(other, name, getattr(self, name).copy())
        other.inverted_target = {t: p.copy() for t, p in self.inverted_target.items()}
        other.partition_epochs = {t: p.copy() for t, p in self.partition_epochs.items()}
        return other

    # -------------------------------------------------------------------------------- state

    @property
    def state(self) -> ConsumerGroupState:
        if self.dead:
            return S.DEAD
        if not self.members:
            return S.EMPTY
        if self.group_epoch > self.assignment_epoch:
            return S.ASSIGNING
        epoch = self.assignment_epoch
        if all(m.is_reconciled_to(epoch) for m in self.members.values()):
            return S.STABLE
        return S.RECONCILING

    @property
    def state_name(self) -> str:
        return self.state.value

    def is_empty(self) -> bool:
        return self.state is S.EMPTY

    def subscribed_topic_names(self) -> set[str]:
        return {t for t, n in self.topics_by_name.items() if n} | {
            t for t, n in self.topics_by_regex.items() if n
        }

    def subscription_type(self) -> SubscriptionType:
        return subscription_type(
            self.regex_subscribers, self.topics_by_name, self.topics_by_regex, len(self.members)
        )

    def preferred_server_assignor(self) -> str | None:
        """The assignor most members asked for (None: the default)."""
        best = max(self.server_assignors.items(), key=lambda kv: kv[1], default=None)
        return None if best is None or best[1] <= 0 else best[0]

    def current_partition_epoch(self, topic_id: uuid.UUID, partition: int) -> int:
        return self.partition_epochs.get(topic_id, {}).get(partition, -1)

    def static_member(self, instance_id: str | None) -> ConsumerGroupMember | None:
        if instance_id is None:
            return None
        member_id = self.static_members.get(instance_id)
        return None if member_id is None else self.members.get(member_id)

    def target_of(self, member_id: str, instance_id: str | None = None) -> Assignment:
        """The target assignment of the member, or of the static member it replaces."""
        if instance_id is None:
            return self.target_assignment.get(member_id, EMPTY)
        previous = self.static_members.get(instance_id)
        return EMPTY if previous is None else self.target_assignment.get(previous, EMPTY)

    def member(self, member_id: str) -> ConsumerGroupMember:
        """UNKNOWN_MEMBER_ID when absent."""
        member = self.members.get(member_id)
        if member is None:
            raise errors.UnknownMemberIdError(
                f"Member {member_id} is not a member of group {self.group_id}."
            )
        return member

    def waiting_on_unreleased_partition(self, member: ConsumerGroupMember) -> bool:
        if member.state is not MemberState.UNRELEASED_PARTITIONS:
            return False
        for topic_id, partitions in self.target_assignment.get(member.member_id, EMPTY).items():
            owned = member.assigned_partitions.get(topic_id, frozenset())
            for p in partitions:
                if p not in owned and self.current_partition_epoch(topic_id, p) != -1:
                    return True
        return False

    # ----------------------------------------------------------------------------- mutation

    def update_member(self, new: ConsumerGroupMember) -> None:
        old = self.members.get(new.member_id)
        self.members[new.member_id] = new
        self._count_member(old, -1)
        self._count_member(new, +1)
        if old is not None:
            self._remove_epochs(old)
        self._add_epochs(new.assigned_partitions, new.member_epoch)
        self._add_epochs(new.partitions_pending_revocation, new.member_epoch)
        if new.instance_id is not None:
            self.static_members[new.instance_id] = new.member_id

    def remove_member(self, member_id: str) -> None:
        old = self.members.pop(member_id, None)
        if old is None:
            return
        self._count_member(old, -1)
        self._remove_epochs(old)
        if old.instance_id is not None:
            self.static_members.pop(old.instance_id, None)

    def _count_member(self, member: ConsumerGroupMember | None, delta: int) -> None:
        if member is None:
            return
        for topic in member.subscribed_topic_names:
            _add(self.topics_by_name, topic, delta)
        if member.server_assignor is not None:
            _add(self.server_assignors, member.server_assignor, delta)
        if member.regex is not None:
            _add(self.regex_subscribers, member.regex, delta)
        if member.classic is not None:
            self.classic_members += delta
            for name, _ in member.classic.protocols:
                _add(self.classic_protocols, name, delta)

    def _remove_epochs(self, member: ConsumerGroupMember) -> None:
        for assignment in (member.assigned_partitions, member.partitions_pending_revocation):
            for topic_id, partitions in assignment.items():
                epochs = self.partition_epochs.get(topic_id)
                if epochs is None:
                    raise RuntimeError(f"{self.group_id}: no epoch to remove for {topic_id}")
                for p in partitions:
                    previous = epochs.pop(p, None)
                    if previous != member.member_epoch:
                        raise RuntimeError(
                            f"{self.group_id}: {topic_id}-{p} owned at epoch {previous}, "
                            f"not {member.member_epoch}"
                        )
                if not epochs:
                    del self.partition_epochs[topic_id]

    def _add_epochs(self, assignment: Assignment, epoch: int) -> None:
        for topic_id, partitions in assignment.items():
            epochs = self.partition_epochs.setdefault(topic_id, {})
            for p in partitions:
                if p in epochs:
                    raise RuntimeError(
                        f"{self.group_id}: {topic_id}-{p} is still owned at epoch {epochs[p]}"
                    )
                epochs[p] = epoch

    def update_target(self, member_id: str, assignment: Assignment) -> None:
        old = self.target_assignment.get(member_id, EMPTY)
        for topic_id in old.keys() | assignment.keys():
            before = old.get(topic_id, frozenset())
            after = assignment.get(topic_id, frozenset())
            owners = self.inverted_target.setdefault(topic_id, {})
            for p in before - after:
                if owners.get(p) == member_id:
                    del owners[p]
            for p in after - before:
                owners[p] = member_id
            if not owners:
                del self.inverted_target[topic_id]
        if assignment or member_id in self.target_assignment:
            self.target_assignment[member_id] = assignment

    def remove_target(self, member_id: str) -> None:
        self.update_target(member_id, EMPTY)
        self.target_assignment.pop(member_id, None)

    def update_resolved_regex(self, regex: str, resolved: ResolvedRegex | None) -> None:
        old = self.resolved_regexes.pop(regex, None)
        if old is not None:
            for topic in old.topics:
                _add(self.topics_by_regex, topic, -1)
        if resolved is not None:
            self.resolved_regexes[regex] = resolved
            for topic in resolved.topics:
                _add(self.topics_by_regex, topic, +1)

    def last_regex_refresh(self) -> tuple[int, int]:
        """(timestamp, metadata version) of the last resolution of the regexes."""
        for resolved in self.resolved_regexes.values():
            return resolved.timestamp, resolved.version
        return -(1 << 63), 0

    # ------------------------------------------------------------------------ Group protocol

    def validate_offset_commit(
        self,
        member_id: str,
        group_instance_id: str | None,
        generation_id: int,
        api_version: int = 9,
    ) -> None:
        if generation_id < 0 and not self.members:
            return
        member = self.member(member_id)
        if not member.uses_classic_protocol and api_version < 9:
            raise errors.UnsupportedVersionError(
                "OffsetCommit version 9 or above must be used by members using the modern "
                "group protocol"
            )
        _validate_member_epoch(generation_id, member)

    def validate_offset_fetch(self, member_id: str | None = None, member_epoch: int = -1) -> None:
        if self.dead:
            raise errors.GroupIdNotFoundError(f"Group {self.group_id} is in dead state.")
        if member_id is None and member_epoch < 0:
            return
        member = self.members.get(member_id or "")
        if member is None:
            raise errors.UnknownMemberIdError(
                f"Member {member_id} is not a member of group {self.group_id}."
            )
        _validate_member_epoch(member_epoch, member)

    def validate_offset_delete(self) -> None:
        if self.dead:
            raise errors.GroupIdNotFoundError(f"Group {self.group_id} is in dead state.")

    def validate_delete(self) -> None:
        if self.dead:
            raise errors.GroupIdNotFoundError(f"Group {self.group_id} is in dead state.")
        if self.state is not S.EMPTY:
            raise errors.NonEmptyGroupError()

    def is_subscribed_to(self, topic: str) -> bool:
        return self.topics_by_name.get(topic, 0) > 0 or self.topics_by_regex.get(topic, 0) > 0

    def offset_retention_base(self) -> OffsetBaseTimestamp | None:
        return lambda commit_timestamp: commit_timestamp

    def listed(self) -> ListGroupsResponse.ListedGroup:
        return ListGroupsResponse.ListedGroup(
            group_id=self.group_id,
            protocol_type=CONSUMER_PROTOCOL_TYPE,
            group_state=self.state_name,
            group_type=str(self.group_type),
        )

    def tombstones(self) -> list[CoordinatorRecord]:
        """Kafka's order: current assignments, target assignments, the assignment epoch,
        member metadata, regexes, the partition metadata, the group epoch."""
        gid, ids = self.group_id, list(self.members)
        records = [cr.current_assignment_tombstone(gid, m) for m in ids]
        records += [cr.target_assignment_tombstone(gid, m) for m in ids]
        records.append(cr.assignment_epoch_tombstone(gid))
        records += [cr.member_metadata_tombstone(gid, m) for m in ids]
        records += [cr.regex_tombstone(gid, r) for r in self.resolved_regexes]
        records.append(cr.partition_metadata_tombstone(gid))
        records.append(cr.group_epoch_tombstone(gid))
        return records

    # ----------------------------------------------------------------------- describing

    def described(
        self, default_assignor: str, topics_by_id: Mapping[uuid.UUID, TopicImage]
    ) -> ConsumerGroupDescribeResponse.DescribedGroup:
        return ConsumerGroupDescribeResponse.DescribedGroup(
            group_id=self.group_id,
            group_state=self.state_name,
            group_epoch=self.group_epoch,
            assignment_epoch=self.assignment_epoch,
            assignor_name=self.preferred_server_assignor() or default_assignor,
            members=[
                m.described(self.target_assignment.get(m.member_id, EMPTY), topics_by_id)
                for m in self.members.values()
            ],
        )


def _add(counter: Counter[str], key: str, delta: int) -> None:
    value = counter.get(key, 0) + delta
    if value > 0:
        counter[key] = value
    else:
        counter.pop(key, None)


def _validate_member_epoch(received: int, member: ConsumerGroupMember) -> None:
    if received == member.member_epoch:
        return
    if member.uses_classic_protocol:
        raise errors.IllegalGenerationError(
            f"The received generation id {received} does not match the expected member "
            f"epoch {member.member_epoch}."
        )
    raise errors.StaleMemberEpochError(
        f"The received member epoch {received} does not match the expected member epoch "
        f"{member.member_epoch}."
    )


def subscription_type(
    regex_subscribers: Mapping[str, int],
    topics_by_name: Mapping[str, int],
    topics_by_regex: Mapping[str, int],
    members: int,
) -> SubscriptionType:
    """Homogeneous when every member subscribes to the same topics (Kafka's rule)."""
    topics = topics_by_name.keys() | {t for t, n in topics_by_regex.items() if n}
    if not regex_subscribers:
        if all(topics_by_name.get(t, 0) == members for t in topics):
            return SubscriptionType.HOMOGENEOUS
        return SubscriptionType.HETEROGENEOUS
    first = next(iter(regex_subscribers.values()))
    if first != members:
        return SubscriptionType.HETEROGENEOUS
    for t in topics:
        if topics_by_regex.get(t, 0) != 1 or topics_by_name.get(t, 0) > 0:
            return SubscriptionType.HETEROGENEOUS
    return SubscriptionType.HOMOGENEOUS

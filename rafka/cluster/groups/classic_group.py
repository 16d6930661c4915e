"""A classic (JoinGroup/SyncGroup) group: its members, generation, protocol and state.

States and the transitions Kafka allows (target <- valid previous states)::

    Empty                <- PreparingRebalance
    PreparingRebalance   <- Stable, CompletingRebalance, Empty
    CompletingRebalance  <- PreparingRebalance
    Stable               <- CompletingRebalance
    Dead                 <- any state (unloaded or deleted)

    Empty                no member; offsets may remain (a "simple" group has no protocol type)
    PreparingRebalance   members (re)join; completes when all have, or at the rebalance timeout
    CompletingRebalance  the generation is set, members were answered; awaiting the leader's
                         assignment in SyncGroup
    Stable               the assignment is stored; members heartbeat

This module is the data and its invariants (protocol votes, static members, awaiting counts);
the protocol that drives it lives in :mod:`rafka.cluster.groups.classic_protocol`. Nothing
here reads a clock: callers pass the wall time a transition happens at.
"""

from __future__ import annotations

import enum
from collections import Counter

import attrs

from rafka import errors
from rafka.cluster.groups.group import GroupType, OffsetBaseTimestamp
from rafka.cluster.groups.records import CoordinatorRecord, group_metadata_record, group_tombstone
from rafka.cluster.groups.result import Reply
from rafka.protocol.messages import (
    ConsumerProtocolSubscription,
    DescribeGroupsResponse,
    JoinGroupResponse,
    ListGroupsResponse,
    SyncGroupResponse,
)
from rafka.protocol.schemas.group_coordinator import GroupMetadataValue

__all__ = ["CONSUMER_PROTOCOL_TYPE", "ClassicGroup", "ClassicGroupState", "ClassicMember"]

CONSUMER_PROTOCOL_TYPE = "consumer"
UNKNOWN_MEMBER_ID = ""
_UNKNOWN = errors.UnknownMemberIdError.code
_REBALANCING = errors.RebalanceInProgressError.code

#: (name, metadata) of one protocol a member supports, in the member's order of preference.
Protocol = tuple[str, bytes]


class ClassicGroupState(enum.Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"

    def __str__(self) -> str:
        return self.value


S = ClassicGroupState

#: target state -> the states it may be entered from.
VALID_PREVIOUS: dict[ClassicGroupState, frozenset[ClassicGroupState]] = {
    S.EMPTY: frozenset({S.PREPARING_REBALANCE}),
    S.PREPARING_REBALANCE: frozenset({S.STABLE, S.COMPLETING_REBALANCE, S.EMPTY}),
    S.COMPLETING_REBALANCE: frozenset({S.PREPARING_REBALANCE}),
    S.STABLE: frozenset({S.COMPLETING_REBALANCE}),
    S.DEAD: frozenset(S),
}


@attrs.define(eq=False)
class ClassicMember:
    """One member: identity, timeouts, the protocols it supports and its assignment."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    session_timeout_ms: int
    protocol_type: str
    protocols: list[Protocol]
    assignment: bytes = b""
    #: The parked JoinGroup / SyncGroup response, while the member waits for one.
    join_reply: Reply[JoinGroupResponse] | None = None
    sync_reply: Reply[SyncGroupResponse] | None = None
    #: Joined in the current rebalance and not yet answered: no heartbeat expected.
    is_new: bool = False

    @property
    def is_static(self) -> bool:
        return self.group_instance_id is not None

    @property
    def awaiting_join(self) -> bool:
        return self.join_reply is not None

    @property
    def awaiting_sync(self) -> bool:
        return self.sync_reply is not None

    def protocol_names(self) -> set[str]:
        return {name for name, _ in self.protocols}

    def metadata(self, protocol: str) -> bytes:
        for name, metadata in self.protocols:
            if name == protocol:
                return metadata
        raise ValueError(f"member {self.member_id} does not support protocol {protocol}")

    def has_satisfied_heartbeat(self) -> bool:
        """A parked join or sync counts as a heartbeat, except for a member still joining."""
        return not self.is_new and (self.awaiting_join or self.awaiting_sync)

    def vote(self, candidates: set[str]) -> str:
        for name, _ in self.protocols:
            if name in candidates:
                return name
        raise ValueError(f"member {self.member_id} supports none of {sorted(candidates)}")


class ClassicGroup:
    """The state of one classic group; see the module docstring for its transitions."""

    group_type = GroupType.CLASSIC

    def __init__(
        self,
        group_id: str,
        state_timestamp: int | None,
        *,
        state: ClassicGroupState = S.EMPTY,
        generation_id: int = 0,
        protocol_type: str | None = None,
        protocol_name: str | None = None,
        leader_id: str | None = None,
    ) -> None:
        self.group_id = group_id
        self.state = state
        self.previous_state = S.DEAD
        #: Wall time of the last transition (None when loaded from a record without one).
        self.state_timestamp = state_timestamp
        self.generation_id = generation_id
        self.protocol_type = protocol_type
        self.protocol_name = protocol_name
        self.leader_id = leader_id
        self.members: dict[str, ClassicMember] = {}
        self.static_members: dict[str, str] = {}  # group instance id -> member id
        self.pending_join_members: set[str] = set()
        self.pending_sync_members: set[str] = set()
        self.awaiting_join_count = 0
        self.supported_protocols: Counter[str] = Counter()
        self.subscribed_topics: set[str] | None = None
        self.new_member_added = False

    def __repr__(self) -> str:
        return (
            f"<ClassicGroup {self.group_id} {self.state} generation={self.generation_id} "
            f"members={list(self.members)}>"
        )

    # -------------------------------------------------------------------------------- state

    @property
    def state_name(self) -> str:
        return self.state.value

    def is_in(self, *states: ClassicGroupState) -> bool:
        return self.state in states

    def is_empty(self) -> bool:
        return self.state is S.EMPTY

    def is_simple(self) -> bool:
        """Created only to hold offsets committed outside group management."""
        return self.protocol_type is None and self.is_empty() and not self.pending_join_members

    def can_rebalance(self) -> bool:
        return self.state in VALID_PREVIOUS[S.PREPARING_REBALANCE]

    def transition_to(self, target: ClassicGroupState, now_ms: int) -> None:
        if self.state not in VALID_PREVIOUS[target]:
            raise RuntimeError(
                f"group {self.group_id}: no transition from {self.state} to {target}"
            )
        self.previous_state = self.state
        self.state = target
        self.state_timestamp = now_ms

    def uses_consumer_protocol(self) -> bool:
        return self.protocol_type == CONSUMER_PROTOCOL_TYPE

    # ------------------------------------------------------------------------------ members

    def is_leader(self, member_id: str) -> bool:
        return self.leader_id == member_id

    def has_member(self, member_id: str) -> bool:
        return member_id in self.members

    def add(self, member: ClassicMember, join_reply: Reply[JoinGroupResponse] | None) -> None:
        if member.group_instance_id is not None:
            if member.group_instance_id in self.static_members:
                raise RuntimeError(f"static member {member.group_instance_id} is already in")
            self.static_members[member.group_instance_id] = member.member_id
        if not self.members:
            self.protocol_type = member.protocol_type
        if self.protocol_type != member.protocol_type:
            raise RuntimeError("the group and member's protocol type must be the same")
        if not self.supports(member.protocol_type, member.protocol_names()):
            raise RuntimeError("none of the member's protocols can be supported")
        if self.leader_id is None:
            self.leader_id = member.member_id
        self.members[member.member_id] = member
        self.supported_protocols.update(member.protocol_names())
        member.join_reply = join_reply
        if member.awaiting_join:
            self.awaiting_join_count += 1
        self.pending_join_members.discard(member.member_id)

    def remove(self, member_id: str) -> None:
        member = self.members.pop(member_id, None)
        if member is not None:
            # Nothing may stay parked for a member that is gone (Kafka leaves such a request
            # to the client's timeout; here it would hold its connection forever).
            self.complete_join(member, JoinGroupResponse(error_code=_UNKNOWN, member_id=""))
            self.complete_sync(member, SyncGroupResponse(error_code=_UNKNOWN))
            self.supported_protocols.subtract(member.protocol_names())
            if member.group_instance_id is not None:
                self.static_members.pop(member.group_instance_id, None)
        if self.is_leader(member_id):
            self.leader_id = next(iter(self.members), None)
        self.pending_join_members.discard(member_id)
        self.pending_sync_members.discard(member_id)

    def update_member(
        self,
        member: ClassicMember,
        protocols: list[Protocol],
        rebalance_timeout_ms: int,
        session_timeout_ms: int,
        join_reply: Reply[JoinGroupResponse] | None,
    ) -> None:
        self.supported_protocols.subtract(member.protocol_names())
        member.protocols = protocols
        self.supported_protocols.update(member.protocol_names())
        member.rebalance_timeout_ms = rebalance_timeout_ms
        member.session_timeout_ms = session_timeout_ms
        previous = member.join_reply
        if join_reply is not None and previous is None:
            self.awaiting_join_count += 1
        elif join_reply is None and previous is not None:
            self.awaiting_join_count -= 1
        member.join_reply = join_reply
        if previous is not None and join_reply is not None and previous is not join_reply:
            # A retried join supersedes the parked one: answer the old request.
            previous.complete(
                JoinGroupResponse(error_code=_REBALANCING, member_id=member.member_id)
            )

    def park_sync(self, member: ClassicMember, reply: Reply[SyncGroupResponse]) -> None:
        """Hold the member's SyncGroup until the assignment is known (a retried one
        supersedes the parked one, which is answered REBALANCE_IN_PROGRESS)."""
        previous, member.sync_reply = member.sync_reply, reply
        if previous is not None and previous is not reply:
            previous.complete(SyncGroupResponse(error_code=_REBALANCING))

    def replace_static_member(
        self, group_instance_id: str, old_member_id: str, new_member_id: str
    ) -> ClassicMember:
        """Give a static member a new id; the old id's parked requests get FENCED_INSTANCE_ID."""
        old = self.members.pop(old_member_id, None)
        if old is None:
            raise RuntimeError(f"cannot replace unknown member {old_member_id}")
        fenced = errors.FencedInstanceIdError.code
        self.complete_join(
            old,
            JoinGroupResponse(
                error_code=fenced, member_id=old_member_id, protocol_name=None, leader=""
            ),
        )
        self.complete_sync(old, SyncGroupResponse(error_code=fenced))
        new = ClassicMember(
            new_member_id,
            old.group_instance_id,
            old.client_id,
            old.client_host,
            old.rebalance_timeout_ms,
            old.session_timeout_ms,
            old.protocol_type,
            old.protocols,
            old.assignment,
        )
        self.members[new_member_id] = new
        if self.is_leader(old_member_id):
            self.leader_id = new_member_id
        self.static_members[group_instance_id] = new_member_id
        return new

    def static_member_id(self, group_instance_id: str) -> str | None:
        return self.static_members.get(group_instance_id)

    def validate_member(self, member_id: str, group_instance_id: str | None) -> None:
        """UNKNOWN_MEMBER_ID, or FENCED_INSTANCE_ID when the instance id maps to another id."""
        if group_instance_id is not None:
            existing = self.static_members.get(group_instance_id)
            if existing is None:
                raise errors.UnknownMemberIdError()
            if existing != member_id:
                raise errors.FencedInstanceIdError()
        if member_id not in self.members:
            raise errors.UnknownMemberIdError()

    def has_all_members_joined(self) -> bool:
        return len(self.members) == self.awaiting_join_count and not self.pending_join_members

    def not_yet_rejoined(self) -> list[ClassicMember]:
        return [m for m in self.members.values() if not m.awaiting_join]

    def maybe_elect_new_joined_leader(self) -> bool:
        """Keep a leader that rejoined, else pick a member that did; False if none did."""
        if self.leader_id is None:
            return False
        leader = self.members[self.leader_id]
        if leader.awaiting_join:
            return True
        for member in self.members.values():
            if member.awaiting_join:
                self.leader_id = member.member_id
                return True
        return False

    def rebalance_timeout_ms(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    # -------------------------------------------------------------------------- protocols

    def supports(self, protocol_type: str, protocols: set[str]) -> bool:
        if self.state is S.EMPTY:
            return bool(protocol_type) and bool(protocols)
        return self.protocol_type == protocol_type and any(
            self.supported_protocols[name] == len(self.members) for name in protocols
        )

    def select_protocol(self) -> str:
        if not self.members:
            raise RuntimeError("cannot select a protocol for an empty group")
        size = len(self.members)
        candidates = {n for n, count in self.supported_protocols.items() if count == size}
        votes = Counter(m.vote(candidates) for m in self.members.values())
        return votes.most_common(1)[0][0]

    def compute_subscribed_topics(self) -> set[str] | None:
        """Topics of the consumer protocol's subscriptions; None when not known."""
        if self.protocol_type != CONSUMER_PROTOCOL_TYPE:
            return None
        if not self.members:
            return set()
        if self.protocol_name is None:
            return None
        topics: set[str] = set()
        try:
            for member in self.members.values():
                metadata = member.metadata(self.protocol_name)
                # int16 version, then the subscription; its topics come first in every version
                sub, _ = ConsumerProtocolSubscription.decode_from(metadata, 2, 0)
                topics.update(sub.topics)
        except (errors.DecodeError, ValueError):
            return None
        return topics

    def init_next_generation(self, now_ms: int) -> None:
        self.generation_id += 1
        if self.members:
            self.protocol_name = self.select_protocol()
            self.subscribed_topics = self.compute_subscribed_topics()
            self.transition_to(S.COMPLETING_REBALANCE, now_ms)
        else:
            self.protocol_name = None
            self.subscribed_topics = self.compute_subscribed_topics()
            self.transition_to(S.EMPTY, now_ms)
        self.pending_sync_members.clear()

    # ------------------------------------------------------------------------------ replies

    def complete_join(self, member: ClassicMember, response: JoinGroupResponse) -> bool:
        reply = member.join_reply
        if reply is None:
            return False
        member.join_reply = None
        self.awaiting_join_count -= 1
        reply.complete(response)
        return True

    def complete_all_joins(self, error: int) -> None:
        for member_id, member in list(self.members.items()):
            self.complete_join(member, JoinGroupResponse(error_code=error, member_id=member_id))

    def complete_sync(self, member: ClassicMember, response: SyncGroupResponse) -> bool:
        reply = member.sync_reply
        if reply is None:
            return False
        member.sync_reply = None
        reply.complete(response)
        return True

    def complete_all_syncs(self, error: int) -> None:
        for member in list(self.members.values()):
            self.complete_sync(member, SyncGroupResponse(error_code=error))

    def join_members(self) -> list[JoinGroupResponse.JoinGroupResponseMember]:
        """Every member with its metadata for the selected protocol (the leader's view)."""
        if self.state in (S.DEAD, S.PREPARING_REBALANCE) or self.protocol_name is None:
            raise RuntimeError(f"group {self.group_id} has no member metadata in {self.state}")
        protocol = self.protocol_name
        return [
            JoinGroupResponse.JoinGroupResponseMember(
                m.member_id, m.group_instance_id, m.metadata(protocol)
            )
            for m in self.members.values()
        ]

    # ------------------------------------------------------------------------ Group protocol

    def validate_offset_commit(
        self,
        member_id: str,
        group_instance_id: str | None,
        generation_id: int,
        api_version: int = 9,
    ) -> None:
        if self.state is S.DEAD:
            raise errors.CoordinatorNotAvailableError()
        if generation_id < 0 and self.state is S.EMPTY:
            return
        if generation_id >= 0 or member_id or group_instance_id is not None:
            self.validate_member(member_id, group_instance_id)
            if generation_id != self.generation_id:
                raise errors.IllegalGenerationError()
        elif self.state is not S.EMPTY:
            raise errors.UnknownMemberIdError()
        if self.state is S.COMPLETING_REBALANCE:
            raise errors.RebalanceInProgressError()

    def validate_offset_fetch(self, member_id: str | None = None, member_epoch: int = -1) -> None:
        if self.state is S.DEAD:
            raise errors.GroupIdNotFoundError(f"Group {self.group_id} is in dead state.")

    def validate_offset_delete(self) -> None:
        if self.state is S.DEAD:
            raise errors.GroupIdNotFoundError(f"Group {self.group_id} is in dead state.")
        if self.state is not S.EMPTY and not self.uses_consumer_protocol():
            raise errors.NonEmptyGroupError()

    def validate_delete(self) -> None:
        if self.state is S.DEAD:
            raise errors.GroupIdNotFoundError(f"Group {self.group_id} is in dead state.")
        if self.state is not S.EMPTY:
            raise errors.NonEmptyGroupError()

    def is_subscribed_to(self, topic: str) -> bool:
        if self.subscribed_topics is None:
            return self.uses_consumer_protocol()
        return topic in self.subscribed_topics

    def offset_retention_base(self) -> OffsetBaseTimestamp | None:
        if self.protocol_type is None:
            return lambda commit_timestamp: commit_timestamp
        if self.state is S.EMPTY:
            empty_since = self.state_timestamp
            if empty_since is None:
                return lambda commit_timestamp: commit_timestamp
            return lambda _commit_timestamp: empty_since
        if (
            self.uses_consumer_protocol()
            and self.subscribed_topics is not None
            and (self.state is S.STABLE)
        ):
            return lambda commit_timestamp: commit_timestamp
        return None

    def listed(self) -> ListGroupsResponse.ListedGroup:
        return ListGroupsResponse.ListedGroup(
            group_id=self.group_id,
            protocol_type=self.protocol_type or "",
            group_state=self.state_name,
            group_type=self.group_type.value,
        )

    def tombstones(self) -> list[CoordinatorRecord]:
        return [group_tombstone(self.group_id)]

    # ----------------------------------------------------------------------- descriptions

    def described(self) -> DescribeGroupsResponse.DescribedGroup:
        stable = self.state is S.STABLE and self.protocol_name is not None
        members = []
        for m in self.members.values():
            members.append(
                DescribeGroupsResponse.DescribedGroupMember(
                    member_id=m.member_id,
                    group_instance_id=m.group_instance_id,
                    client_id=m.client_id,
                    client_host=m.client_host,
                    member_metadata=m.metadata(self.protocol_name)
                    if stable and self.protocol_name is not None
                    else b"",
                    member_assignment=m.assignment,
                )
            )
        return DescribeGroupsResponse.DescribedGroup(
            group_id=self.group_id,
            group_state=self.state_name,
            protocol_type=self.protocol_type or "",
            protocol_data=(self.protocol_name or "") if stable else "",
            members=members,
        )

    def metadata_record(self, assignment: dict[str, bytes] | None) -> CoordinatorRecord:
        """The GroupMetadata record of this group with ``assignment`` per member (None: the
        members' current assignments)."""
        members = []
        for m in self.members.values():
            if self.protocol_name is None:
                raise RuntimeError("cannot store a non-empty group without a protocol")
            members.append(
                GroupMetadataValue.MemberMetadata(
                    member_id=m.member_id,
                    group_instance_id=m.group_instance_id,
                    client_id=m.client_id,
                    client_host=m.client_host,
                    rebalance_timeout=m.rebalance_timeout_ms,
                    session_timeout=m.session_timeout_ms,
                    subscription=m.metadata(self.protocol_name),
                    assignment=m.assignment if assignment is None else assignment[m.member_id],
                )
            )
        value = GroupMetadataValue(
            protocol_type=self.protocol_type or "",
            generation=self.generation_id,
            protocol=self.protocol_name,
            leader=self.leader_id,
            current_state_timestamp=-1 if self.state_timestamp is None else self.state_timestamp,
            members=members,
        )
        return group_metadata_record(self.group_id, value)

    def empty_metadata_record(self) -> CoordinatorRecord:
        """What Kafka writes to persist a group just created by a join: generation 0."""
        value = GroupMetadataValue(
            protocol_type="",
            generation=0,
            protocol=None,
            leader=None,
            current_state_timestamp=-1 if self.state_timestamp is None else self.state_timestamp,
            members=[],
        )
        return group_metadata_record(self.group_id, value)

    @classmethod
    def from_record(cls, group_id: str, value: GroupMetadataValue) -> ClassicGroup:
        """Rebuild a group from its stored metadata (Empty, or Stable with its members)."""
        timestamp = value.current_state_timestamp
        group = cls(
            group_id,
            None if timestamp == -1 else timestamp,
            state=S.STABLE if value.members else S.EMPTY,
            generation_id=value.generation,
            protocol_type=value.protocol_type or None,
            protocol_name=value.protocol,
            leader_id=value.leader,
        )
        for m in value.members:
            rebalance_timeout = m.rebalance_timeout
            if rebalance_timeout == -1:
                rebalance_timeout = m.session_timeout
            group.add(
                ClassicMember(
                    m.member_id,
                    m.group_instance_id,
                    m.client_id,
                    m.client_host,
                    rebalance_timeout,
                    m.session_timeout,
                    value.protocol_type,
                    [(value.protocol or "", m.subscription)],
                    m.assignment,
                ),
                None,
            )
        group.subscribed_topics = group.compute_subscribed_topics()
        return group

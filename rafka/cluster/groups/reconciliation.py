"""Moving a member from its current assignment towards its target assignment, one safe step
per heartbeat, as Kafka's ``CurrentAssignmentBuilder`` (pure functions).

Transitions, by the member's state::

    STABLE, epoch < target epoch   compute the next step (below)
    UNREVOKED_PARTITIONS           wait until the heartbeat's owned partitions no longer include
                                   any pending revocation (no owned list: keep waiting); then
                                   compute the next step at epoch + 1
    UNRELEASED_PARTITIONS          compute the next step (maybe the partitions were released)
    UNKNOWN                        FENCED_MEMBER_EPOCH unless it reports owning nothing

    next step: keep = owned & target; revoke = owned - keep; gain = target - keep, minus the
    partitions another member still owns (their epoch is set: "unreleased")
      revoke and still owned   -> UNREVOKED_PARTITIONS at the same epoch, keep only `keep`
      something to gain        -> target epoch, keep + gain, STABLE or UNRELEASED_PARTITIONS
      only unreleased          -> target epoch, UNRELEASED_PARTITIONS
      otherwise                -> target epoch, STABLE

A partition is therefore never handed to a member before its previous owner revoked it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

import attrs

from rafka import errors
from rafka.cluster.groups.consumer_member import (
    Assignment,
    ConsumerGroupMember,
    MemberState,
    TopicPartitionsLike,
)

__all__ = ["reconcile"]

PartitionEpoch = Callable[[uuid.UUID, int], int]


def _owns_any(owned: Iterable[TopicPartitionsLike] | None, revoking: Assignment) -> bool:
    if owned is None:
        return True
    for tp in owned:
        pending = revoking.get(tp.topic_id)
        if pending and any(p in pending for p in tp.partitions):
            return True
    return False


def reconcile(
    member: ConsumerGroupMember,
    target_epoch: int,
    target: Assignment,
    partition_epoch: PartitionEpoch,
    owned: Iterable[TopicPartitionsLike] | None,
) -> ConsumerGroupMember:
    """The member after one reconciliation step (``member`` itself if nothing changes)."""
    owned_list = None if owned is None else list(owned)
    state = member.state
    if state is MemberState.STABLE:
        if member.member_epoch == target_epoch:
            return member
        return _next(member, member.member_epoch, target_epoch, target, partition_epoch, owned_list)
    if state is MemberState.UNREVOKED_PARTITIONS:
        if _owns_any(owned_list, member.partitions_pending_revocation):
            return member
        return _next(
            member, member.member_epoch + 1, target_epoch, target, partition_epoch, owned_list
        )
    if state is MemberState.UNRELEASED_PARTITIONS:
        return _next(member, member.member_epoch, target_epoch, target, partition_epoch, owned_list)
    if owned_list is None or owned_list:
        raise errors.FencedMemberEpochError(
            "The consumer group member is in a unknown state. The member must abandon all its "
            "partitions and rejoin."
        )
    return _next(member, target_epoch, target_epoch, target, partition_epoch, owned_list)


def _next(
    member: ConsumerGroupMember,
    epoch: int,
    target_epoch: int,
    target: Assignment,
    partition_epoch: PartitionEpoch,
    owned: list[TopicPartitionsLike] | None,
) -> ConsumerGroupMember:
    current = member.assigned_partitions
    keep: dict[uuid.UUID, frozenset[int]] = {}
    revoke: dict[uuid.UUID, frozenset[int]] = {}
    gain: dict[uuid.UUID, frozenset[int]] = {}
    unreleased = False
    for topic_id in target.keys() | current.keys():
        wanted = target.get(topic_id, frozenset())
        had = current.get(topic_id, frozenset())
        kept = had & wanted
        if kept:
            keep[topic_id] = kept
        if had - kept:
            revoke[topic_id] = had - kept
        pending = wanted - kept
        free = frozenset(p for p in pending if partition_epoch(topic_id, p) == -1)
        unreleased = unreleased or len(free) < len(pending)
        if free:
            gain[topic_id] = free
    if revoke and _owns_any(owned, revoke):
        return member.with_epoch(
            epoch,
            state=MemberState.UNREVOKED_PARTITIONS,
            assigned_partitions=keep,
            partitions_pending_revocation=revoke,
        )
    if gain:
        for topic_id, partitions in gain.items():
            keep[topic_id] = keep.get(topic_id, frozenset()) | partitions
    state = MemberState.UNRELEASED_PARTITIONS if unreleased else MemberState.STABLE
    updated = member.with_epoch(
        target_epoch, state=state, assigned_partitions=keep, partitions_pending_revocation={}
    )
    return member if updated == member else updated


def same_assignment(a: Assignment, b: Assignment) -> bool:
    return {t: p for t, p in a.items() if p} == {t: p for t, p in b.items() if p}


def evolve(member: ConsumerGroupMember, **changes: object) -> ConsumerGroupMember:
    return attrs.evolve(member, **changes)  # type: ignore[arg-type]

"""Server-side partition assignors of consumer groups (``group.consumer.assignors``): pure
functions from the members' subscriptions and current target assignment to a new target
assignment, as Kafka's ``uniform`` and ``range`` assignors decide them.

``uniform`` (the default) is balanced first, sticky second: every member keeps what it had of
the topics it still subscribes to, up to its share; the rest goes to the least loaded
subscribers; then, for members with different subscriptions, partitions move from the most to
the least loaded subscribers of each topic until no two subscribers of a topic differ by more
than one partition (or no move helps).

``range`` is neither sticky nor global: per topic, subscribers sorted (static members by
instance id first, then the others by member id) get consecutive ranges, the first
``partitions % subscribers`` one partition more.

Which member gets which partition when several choices are equally good may differ from
Kafka's (whose ties follow Java hash-map iteration order); balance and stickiness do not.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

import attrs

from rafka.cluster.groups.consumer_group import SubscriptionType
from rafka.cluster.groups.consumer_member import Assignment

__all__ = [
    "ASSIGNORS",
    "AssignorError",
    "GroupSpec",
    "MemberSpec",
    "range_assign",
    "uniform_assign",
]


class AssignorError(Exception):
    """The assignment cannot be computed (a subscribed topic vanished meanwhile, ...)."""


@attrs.frozen
class MemberSpec:
    """What the assignor knows of one member."""

    instance_id: str | None
    rack_id: str | None
    subscribed_topic_ids: frozenset[uuid.UUID]
    assignment: Assignment  # its current target assignment


@attrs.frozen
class GroupSpec:
    members: Mapping[str, MemberSpec]  # in a stable order
    subscription_type: SubscriptionType
    partition_counts: Mapping[uuid.UUID, int]  # every subscribed topic that exists


Assignor = Callable[[GroupSpec], dict[str, Assignment]]


def _freeze(assignment: dict[uuid.UUID, set[int]]) -> Assignment:
    return {t: frozenset(ps) for t, ps in assignment.items() if ps}


def _counts(spec: GroupSpec, topic_ids: frozenset[uuid.UUID]) -> dict[uuid.UUID, int]:
    counts = {}
    for topic_id in topic_ids:
        count = spec.partition_counts.get(topic_id, -1)
        if count < 0:
            raise AssignorError(f"members are subscribed to topic {topic_id}, which does not exist")
        counts[topic_id] = count
    return counts


# ---------------------------------------------------------------------------------- uniform


def uniform_assign(spec: GroupSpec) -> dict[str, Assignment]:
    if not spec.members:
        return {}
    if spec.subscription_type is SubscriptionType.HOMOGENEOUS:
        return _uniform_homogeneous(spec)
    return _uniform_heterogeneous(spec)


def _uniform_homogeneous(spec: GroupSpec) -> dict[str, Assignment]:
    member_ids = list(spec.members)
    topics = spec.members[member_ids[0]].subscribed_topic_ids
    if not topics:
        return {}
    counts = _counts(spec, topics)
    total = sum(counts.values())
    owner: dict[tuple[uuid.UUID, int], str] = {}
    for member_id in member_ids:
        for topic_id, partitions in spec.members[member_id].assignment.items():
            if topic_id in counts:
                for p in partitions:
                    owner[(topic_id, p)] = member_id
    unassigned = [(t, p) for t in sorted(counts) for p in range(counts[t]) if (t, p) not in owner]
    minimum, extra = divmod(total, len(member_ids))
    result: dict[str, dict[uuid.UUID, set[int]]] = {}
    unfilled: list[tuple[str, int]] = []
    for index, member_id in enumerate(member_ids):
        quota = minimum + (1 if extra > 0 else 0)
        has_extra = extra > 0
        kept: dict[uuid.UUID, set[int]] = {}
        for topic_id in sorted(spec.members[member_id].assignment):
            if topic_id not in counts:
                continue  # no longer subscribed: dropped
            for p in sorted(spec.members[member_id].assignment[topic_id]):
                if quota > 0:
                    kept.setdefault(topic_id, set()).add(p)
                    quota -= 1
                else:
                    unassigned.append((topic_id, p))
        # A member that kept less than the extra partition's worth gives the extra slot to
        # a later member, if enough members remain to use every extra slot.
        if quota > 0 and has_extra and len(member_ids) - index > extra:
            quota -= 1
            has_extra = False
        if quota > 0:
            unfilled.append((member_id, quota))
        if has_extra:
            extra -= 1
        result[member_id] = kept
    position = 0
    for member_id, quota in unfilled:
        for _ in range(quota):
            if position >= len(unassigned):
                break
            topic_id, p = unassigned[position]
            position += 1
            result[member_id].setdefault(topic_id, set()).add(p)
    if position < len(unassigned):
        raise AssignorError("partitions were left unassigned")
    return {m: _freeze(a) for m, a in result.items()}


def _uniform_heterogeneous(spec: GroupSpec) -> dict[str, Assignment]:
    member_ids = list(spec.members)
    index_of = {m: i for i, m in enumerate(member_ids)}
    subscribers: dict[uuid.UUID, list[int]] = {}
    for i, member_id in enumerate(member_ids):
        for topic_id in spec.members[member_id].subscribed_topic_ids:
            subscribers.setdefault(topic_id, []).append(i)
    if not subscribers:
        return {}
    counts = _counts(spec, frozenset(subscribers))
    owners: dict[uuid.UUID, list[int]] = {t: [-1] * n for t, n in counts.items()}
    sizes = [0] * len(member_ids)
    result: list[dict[uuid.UUID, set[int]]] = [{} for _ in member_ids]

    def give(topic_id: uuid.UUID, p: int, member: int) -> None:
        previous = owners[topic_id][p]
        if previous >= 0:
            result[previous][topic_id].discard(p)
            sizes[previous] -= 1
        owners[topic_id][p] = member
        result[member].setdefault(topic_id, set()).add(p)
        sizes[member] += 1

    for member_id in member_ids:  # keep what is still subscribed
        member = spec.members[member_id]
        for topic_id, partitions in member.assignment.items():
            if topic_id in member.subscribed_topic_ids and topic_id in counts:
                for p in partitions:
                    if p < counts[topic_id] and owners[topic_id][p] < 0:
                        give(topic_id, p, index_of[member_id])

    def topic_order(topic_id: uuid.UUID) -> tuple[float, int, str]:
        n = len(subscribers[topic_id])
        return (-counts[topic_id] / n, n, str(topic_id))

    ordered = sorted(counts, key=topic_order)
    for topic_id in ordered:  # the rest to the least loaded subscribers
        for p in range(counts[topic_id]):
            if owners[topic_id][p] < 0:
                least = min(subscribers[topic_id], key=lambda m: (sizes[m], m))
                give(topic_id, p, least)

    balanceable = [t for t in ordered if len(subscribers[t]) >= 2]
    for _ in range(16):  # move from the most to the least loaded subscribers, per topic
        moved = False
        for topic_id in balanceable:
            while True:
                subs = subscribers[topic_id]
                least = min(subs, key=lambda m: (sizes[m], m))
                holders = [m for m in subs if result[m].get(topic_id)]
                if not holders:
                    break
                most = max(holders, key=lambda m: (sizes[m], -m))
                if sizes[most] - sizes[least] <= 1:
                    break
                give(topic_id, max(result[most][topic_id]), least)
                moved = True
        if not moved:
            break
    return {m: _freeze(result[i]) for i, m in enumerate(member_ids)}


# ------------------------------------------------------------------------------------ range


def _range_order(spec: GroupSpec) -> list[str]:
    def key(member_id: str) -> tuple[int, str]:
        instance = spec.members[member_id].instance_id
        return (0, instance) if instance is not None else (1, member_id)

    return sorted(spec.members, key=key)


def range_assign(spec: GroupSpec) -> dict[str, Assignment]:
    if not spec.members:
        return {}
    order = _range_order(spec)
    subscribers: dict[uuid.UUID, list[str]] = {}
    for member_id in order:
        for topic_id in spec.members[member_id].subscribed_topic_ids:
            subscribers.setdefault(topic_id, []).append(member_id)
    counts = _counts(spec, frozenset(subscribers))
    result: dict[str, dict[uuid.UUID, set[int]]] = {m: {} for m in order}
    for topic_id, members in subscribers.items():
        minimum, extra = divmod(counts[topic_id], len(members))
        start = 0
        for i, member_id in enumerate(members):
            end = min(start + minimum + (1 if i < extra else 0), counts[topic_id])
            if start < end:
                result[member_id][topic_id] = set(range(start, end))
            start = end
    return {m: _freeze(a) for m, a in result.items()}


ASSIGNORS: dict[str, Assignor] = {"uniform": uniform_assign, "range": range_assign}

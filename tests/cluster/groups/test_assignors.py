"""The server-side assignors (``uniform``, ``range``): every subscribed partition goes to
exactly one subscriber; ``uniform`` is balanced and sticky; ``range`` gives consecutive ranges
in Kafka's member order. Cases with one right answer are checked exactly (they are Kafka's)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rafka.cluster.groups.assignors import (
    AssignorError,
    GroupSpec,
    MemberSpec,
    range_assign,
    uniform_assign,
)
from rafka.cluster.groups.consumer_group import SubscriptionType
from rafka.cluster.groups.consumer_member import Assignment

T1, T2, T3 = (uuid.UUID(int=i) for i in (1, 2, 3))
H, X = SubscriptionType.HOMOGENEOUS, SubscriptionType.HETEROGENEOUS


def spec(
    members: dict[str, tuple[set[uuid.UUID], Assignment]],
    counts: dict[uuid.UUID, int],
    instances: dict[str, str] | None = None,
) -> GroupSpec:
    subs = {frozenset(topics) for topics, _ in members.values()}
    return GroupSpec(
        {
            m: MemberSpec((instances or {}).get(m), None, frozenset(topics), assignment)
            for m, (topics, assignment) in members.items()
        },
        H if len(subs) <= 1 else X,
        counts,
    )


def flat(assignment: dict[str, Assignment]) -> dict[str, set[tuple[int, int]]]:
    return {m: {(t.int, p) for t, ps in a.items() for p in ps} for m, a in assignment.items()}


def test_range_gives_consecutive_ranges_static_members_first() -> None:
    members = {m: ({T1, T2}, {}) for m in ("b", "a", "c")}
    out = range_assign(spec(members, {T1: 5, T2: 2}, {"c": "i-1"}))
    assert flat(out) == {
        "c": {(1, 0), (1, 1), (2, 0)},
        "a": {(1, 2), (1, 3), (2, 1)},
        "b": {(1, 4)},
    }


def test_range_heterogeneous() -> None:
    members = {"a": ({T1}, {}), "b": ({T1, T2}, {}), "c": ({T2}, {})}
    out = range_assign(spec(members, {T1: 3, T2: 3}))
    assert flat(out) == {
        "a": {(1, 0), (1, 1)},
        "b": {(1, 2), (2, 0), (2, 1)},
        "c": {(2, 2)},
    }


def test_uniform_is_sticky_and_balanced() -> None:
    everything: Assignment = {T1: frozenset(range(6))}
    out = uniform_assign(spec({"a": ({T1}, everything), "b": ({T1}, {})}, {T1: 6}))
    assert flat(out) == {"a": {(1, 0), (1, 1), (1, 2)}, "b": {(1, 3), (1, 4), (1, 5)}}
    again = uniform_assign(
        spec({"a": ({T1}, out["a"]), "b": ({T1}, out["b"]), "c": ({T1}, {})}, {T1: 6})
    )
    assert flat(again)["a"] <= flat(out)["a"] and flat(again)["b"] <= flat(out)["b"]
    assert sorted(len(v) for v in flat(again).values()) == [2, 2, 2]


def test_missing_topic_is_an_error() -> None:
    with pytest.raises(AssignorError):
        uniform_assign(spec({"a": ({T1}, {})}, {}))


@st.composite
def groups(draw: st.DrawFn) -> GroupSpec:
    counts = {t: draw(st.integers(0, 7)) for t in (T1, T2, T3)}
    names = draw(st.lists(st.sampled_from("abcdefg"), min_size=1, max_size=6, unique=True))
    members: dict[str, tuple[set[uuid.UUID], Assignment]] = {}
    taken: set[tuple[uuid.UUID, int]] = set()
    for name in names:
        topics = draw(st.sets(st.sampled_from([T1, T2, T3]), max_size=3))
        owned: dict[uuid.UUID, frozenset[int]] = {}
        for t in (T1, T2, T3):
            parts = draw(st.sets(st.integers(0, max(counts[t] - 1, 0)), max_size=3))
            parts = {p for p in parts if p < counts[t] and (t, p) not in taken}
            taken |= {(t, p) for p in parts}
            if parts:
                owned[t] = frozenset(parts)
        members[name] = (topics, owned)
    return spec(members, counts)


@settings(max_examples=300, deadline=None)
@given(groups(), st.sampled_from([uniform_assign, range_assign]))
def test_every_subscribed_partition_has_one_subscribed_owner(
    group: GroupSpec, assign: object
) -> None:
    assert callable(assign)
    out: dict[str, Assignment] = assign(group)
    owners: dict[tuple[uuid.UUID, int], str] = {}
    for member, assignment in out.items():
        for topic, partitions in assignment.items():
            assert topic in group.members[member].subscribed_topic_ids
            for p in partitions:
                assert (topic, p) not in owners
                owners[(topic, p)] = member
    wanted = {
        (t, p)
        for m in group.members.values()
        for t in m.subscribed_topic_ids
        for p in range(group.partition_counts[t])
    }
    assert set(owners) == wanted


@settings(max_examples=300, deadline=None)
@given(groups())
def test_uniform_balance(group: GroupSpec) -> None:
    out = uniform_assign(group)
    sizes = {m: sum(len(p) for p in out.get(m, {}).values()) for m in group.members}
    if group.subscription_type is H:
        assert max(sizes.values()) - min(sizes.values()) <= 1
    else:
        # No partition could move to a subscriber of its topic with two fewer partitions.
        for member, assignment in out.items():
            for topic in assignment:
                for other, spec_ in group.members.items():
                    if topic in spec_.subscribed_topic_ids:
                        assert sizes[member] - sizes[other] <= 1 or not assignment[topic]

"""Fault plans as data: building, validation, matching on every criterion, and the trigger."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rafka import errors
from rafka.cluster.faults import FaultPlan
from rafka.cluster.faults.inspect import group_ids, request_items, transactional_ids
from rafka.protocol.messages import (
    DescribeGroupsRequest,
    FetchRequest,
    FindCoordinatorRequest,
    JoinGroupRequest,
    MetadataRequest,
    OffsetFetchRequest,
    ProduceRequest,
)

# -- building -----------------------------------------------------------------------------------


def test_dict_and_object_forms_are_the_same_plan() -> None:
    a = FaultPlan.from_dict(
        {"api": "Produce", "error": "NOT_LEADER_OR_FOLLOWER", "times": 3, "topic": "t"}
    )
    b = FaultPlan(api="Produce", error=errors.NotLeaderOrFollowerError, times=3, topic="t")
    for plan in (a, b):
        assert plan.api_keys == {0}
        assert plan.error_code == 6
        assert plan.times == 3
        assert plan.topic == "t"


def test_spellings() -> None:
    assert FaultPlan(api=0, error=6).api_keys == {0}
    assert FaultPlan(api="fetch", error="not_leader_or_follower").api_keys == {1}
    assert FaultPlan(api=["Produce", "Fetch"], delay=0.1).api_keys == {0, 1}
    assert FaultPlan.from_dict({"delay_ms": 250}).delay == 0.25
    assert FaultPlan.from_dict({"error_code": 7, "broker": [1, 2]}).broker == {1, 2}
    assert FaultPlan(versions=5, delay=1).versions == (5, 5)
    assert FaultPlan(versions=[3, 7], delay=1).versions == (3, 7)
    assert FaultPlan(nth=3, close=True).after == 2
    assert FaultPlan(nth=3, close=True).times == 1
    assert FaultPlan(once=True, drop=True).times == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"api": "Produce"}, "needs an action"),
        ({"api": "Nope", "drop": True}, "unknown API"),
        ({"api": 999, "drop": True}, "unknown API key"),
        ({"error": "NO_SUCH_ERROR"}, "unknown error"),
        ({"error": 0}, "unknown error code"),
        ({"error": 6, "drop": True}, "one of error, drop"),
        ({"close": True, "corrupt": "short"}, "one of error, drop"),
        ({"corrupt": "sideways"}, "corrupt must be"),
        ({"drop": True, "probability": 1.5}, "probability"),
        ({"drop": True, "once": True, "times": 2}, "exclusive"),
        ({"drop": True, "nth": 0}, "counts from 1"),
        ({"drop": True, "versions": [5, 3]}, "above"),
        ({"drop": True, "colour": "red"}, "unknown fault plan key 'colour'"),
        ({"delay": -1}, "needs an action"),
    ],
)
def test_invalid_plans_say_why(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultPlan.from_dict(spec)


# -- matching -----------------------------------------------------------------------------------


def test_cheap_criteria() -> None:
    plan = FaultPlan(api="Produce", versions=(7, 9), broker=2, client_id="app-*", drop=True)
    assert plan.matches_request(2, 0, 8, "app-1")
    assert not plan.matches_request(1, 0, 8, "app-1")  # broker
    assert not plan.matches_request(2, 1, 8, "app-1")  # api
    assert not plan.matches_request(2, 0, 10, "app-1")  # version
    assert not plan.matches_request(2, 0, 8, "other")  # client id
    assert not plan.matches_request(2, 0, 8, None)
    assert FaultPlan(drop=True).matches_request(5, 42, 0, None)


def _names(topic_id: uuid.UUID) -> str | None:
    return {TOPIC_ID: "by-id"}.get(topic_id)


TOPIC_ID = uuid.UUID(int=7)


def _produce(*topics: tuple[str, list[int]]) -> ProduceRequest:
    P = ProduceRequest
    return P(
        acks=-1,
        topic_data=[
            P.TopicProduceData(name=t, partition_data=[P.PartitionProduceData(index=p) for p in ps])
            for t, ps in topics
        ],
    )


def test_items_of_requests() -> None:
    assert request_items(_produce(("a", [0, 1]), ("b", [2])), 9, _names) == [
        ("a", 0),
        ("a", 1),
        ("b", 2),
    ]
    F = FetchRequest
    fetch = F(
        topics=[F.FetchTopic(topic_id=TOPIC_ID, partitions=[F.FetchPartition(partition=3)])],
        forgotten_topics_data=[F.ForgottenTopic(topic_id=TOPIC_ID, partitions=[9])],
    )
    assert request_items(fetch, 13, _names) == [("by-id", 3)]
    assert request_items(fetch, 12, _names) == [("", 3)]  # v12 names topics, this one has none
    M = MetadataRequest
    assert request_items(M(topics=[M.MetadataRequestTopic(name="m")]), 12, _names) == [("m", None)]
    assert request_items(M(topics=None), 12, _names) == []
    O = OffsetFetchRequest  # noqa: E741
    old = O(group_id="g", topics=[O.OffsetFetchRequestTopic(name="o", partition_indexes=[4, 5])])
    assert request_items(old, 7, _names) == [("o", 4), ("o", 5)]


def test_topic_and_partition_criteria() -> None:
    plan = FaultPlan(topic="orders-*", partition=[1, 2], drop=True)
    assert plan.matches_item("orders-eu", 1)
    assert not plan.matches_item("orders-eu", 0)
    assert not plan.matches_item("orders-eu", None)
    assert not plan.matches_item("payments", 1)
    assert FaultPlan(topic="t", drop=True).matches_item("t", None)
    assert FaultPlan(partition=0, drop=True).matches_item("anything", 0)


def test_group_and_transactional_ids() -> None:
    assert group_ids(JoinGroupRequest(group_id="g1"), 11, 9) == {"g1"}
    assert group_ids(DescribeGroupsRequest(groups=["a", "b"]), 15, 5) == {"a", "b"}
    O = OffsetFetchRequest  # noqa: E741
    batched = O(groups=[O.OffsetFetchRequestGroup(group_id="x"), O.OffsetFetchRequestGroup("y")])
    assert group_ids(batched, 9, 9) == {"x", "y"}
    F = FindCoordinatorRequest
    assert group_ids(F(key="g", key_type=0), 10, 3) == {"g"}
    assert group_ids(F(coordinator_keys=["g", "h"], key_type=0), 10, 4) == {"g", "h"}
    assert group_ids(F(coordinator_keys=["tx"], key_type=1), 10, 4) == set()
    assert transactional_ids(F(coordinator_keys=["tx"], key_type=1), 10, 4) == {"tx"}
    produce = _produce(("t", [0]))
    produce.transactional_id = "tx-1"
    assert transactional_ids(produce, 0, 9) == {"tx-1"}


# -- the trigger --------------------------------------------------------------------------------


def _fires(plan: FaultPlan, n: int) -> list[int]:
    return [i for i in range(1, n + 1) if plan.decide()]


def test_once_nth_times_after() -> None:
    assert _fires(FaultPlan(once=True, drop=True), 5) == [1]
    assert _fires(FaultPlan(nth=3, drop=True), 6) == [3]
    assert _fires(FaultPlan(times=2, drop=True), 5) == [1, 2]
    assert _fires(FaultPlan(after=2, times=2, drop=True), 6) == [3, 4]
    plan = FaultPlan(drop=True)
    assert _fires(plan, 4) == [1, 2, 3, 4]
    assert (plan.matched, plan.fired, plan.exhausted) == (4, 4, False)


@settings(max_examples=200, deadline=None)
@given(
    after=st.integers(0, 5),
    times=st.none() | st.integers(0, 6),
    probability=st.sampled_from([0.0, 0.25, 0.5, 1.0]),
    seed=st.integers(0, 2**32),
    n=st.integers(0, 40),
)
def test_trigger_properties(
    after: int, times: int | None, probability: float, seed: int, n: int
) -> None:
    plan = FaultPlan(after=after, times=times, probability=probability, drop=True)
    plan.seeded(seed)
    fired = _fires(plan, n)
    assert plan.matched == n
    assert plan.fired == len(fired)
    assert all(i > after for i in fired)  # never within the first `after` matches
    if times is not None:
        assert len(fired) <= times
    if probability == 1.0:  # everything after `after` fires, up to `times`
        expected = list(range(after + 1, n + 1))
        assert fired == (expected if times is None else expected[:times])
    if probability == 0.0:
        assert fired == []
    # the same seed fires on the same matches
    again = FaultPlan(after=after, times=times, probability=probability, drop=True)
    again.seeded(seed)
    assert _fires(again, n) == fired


def test_probability_is_about_right() -> None:
    plan = FaultPlan(probability=0.3, drop=True)
    plan.seeded("a-seed")
    fired = len(_fires(plan, 2000))
    assert 500 < fired < 700


def test_an_explicit_seed_wins_over_the_clusters() -> None:
    a = FaultPlan(probability=0.5, seed=42, drop=True)
    b = FaultPlan(probability=0.5, seed=42, drop=True)
    a.seeded("cluster-1:0")
    b.seeded("cluster-2:5")
    assert _fires(a, 50) == _fires(b, 50)

"""The consumer's partition assignors: every subscribed partition goes to exactly one member
subscribed to its topic, as evenly as Kafka's Java assignors of the same name spread them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rafka import errors
from rafka.clients.consumer.assignors import ASSIGNORS, assignor_names
from rafka.clients.types import TopicPartition

TOPICS = ["a", "b", "c"]

subscriptions = st.dictionaries(
    st.text("mnop", min_size=1, max_size=3),
    st.lists(st.sampled_from(TOPICS), min_size=1, unique=True),
    min_size=1,
    max_size=6,
)
counts = st.fixed_dictionaries({t: st.integers(0, 9) for t in TOPICS})


@pytest.mark.parametrize("name", sorted(ASSIGNORS))
@given(subs=subscriptions, partitions=counts)
def test_every_partition_once_to_a_subscriber(
    name: str, subs: dict[str, list[str]], partitions: dict[str, int]
) -> None:
    plan = ASSIGNORS[name](subs, partitions)
    assert set(plan) == set(subs)
    owned = [(tp, member) for member, tps in plan.items() for tp in tps]
    wanted = {
        TopicPartition(t, p) for ts in subs.values() for t in ts for p in range(partitions[t])
    }
    assert sorted(tp for tp, _ in owned) == sorted(wanted)
    for tp, member in owned:
        assert tp.topic in subs[member]


@given(subs=subscriptions, partitions=counts)
def test_range_is_even_per_topic(subs: dict[str, list[str]], partitions: dict[str, int]) -> None:
    plan = ASSIGNORS["range"](subs, partitions)
    for topic in TOPICS:
        shares = [sum(tp.topic == topic for tp in plan[m]) for m in subs if topic in subs[m]]
        if shares:
            assert max(shares) - min(shares) <= 1


def test_java_examples() -> None:
    # RangeAssignor's javadoc: C0, C1 on t0, t1 with 3 partitions each
    subs = {"C0": ["t0", "t1"], "C1": ["t0", "t1"]}
    tp = TopicPartition
    assert ASSIGNORS["range"](subs, {"t0": 3, "t1": 3}) == {
        "C0": [tp("t0", 0), tp("t0", 1), tp("t1", 0), tp("t1", 1)],
        "C1": [tp("t0", 2), tp("t1", 2)],
    }
    # RoundRobinAssignor's javadoc: the same input dealt in turn
    assert ASSIGNORS["roundrobin"](subs, {"t0": 3, "t1": 3}) == {
        "C0": [tp("t0", 0), tp("t0", 2), tp("t1", 1)],
        "C1": [tp("t0", 1), tp("t1", 0), tp("t1", 2)],
    }


def test_assignor_names() -> None:
    # Java's default list: the cooperative assignor is left out, range remains
    assert assignor_names(["range", "cooperative-sticky"]) == ["range"]
    assert assignor_names(["org.apache.kafka.clients.consumer.RoundRobinAssignor"]) == [
        "roundrobin"
    ]
    with pytest.raises(errors.ConfigError, match="range"):
        assignor_names(["cooperative-sticky"])
    with pytest.raises(errors.ConfigError):
        assignor_names(["mine"])

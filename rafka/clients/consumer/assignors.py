"""Client-side partition assignors for the classic group protocol (run by the group leader).

``range``: per topic, the subscribed members in member-id order take consecutive ranges; the
first ``partitions % members`` get one extra. ``roundrobin``: every subscribed topic-partition,
in order, dealt to the members subscribed to its topic, in member-id order. Both give the same
result as Kafka's Java assignors of those names for the same input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rafka import errors
from rafka.clients.types import TopicPartition

__all__ = ["ASSIGNORS", "assignor_names", "range_assign", "roundrobin_assign"]

Subscriptions = Mapping[str, Sequence[str]]  # member id -> subscribed topics
Assignment = dict[str, list[TopicPartition]]


def range_assign(subscriptions: Subscriptions, partitions: Mapping[str, int]) -> Assignment:
    """``partitions``: topic -> partition count (topics without metadata are skipped)."""
    result: Assignment = {member: [] for member in subscriptions}
    topics = sorted({t for ts in subscriptions.values() for t in ts})
    for topic in topics:
        count = partitions.get(topic)
        if count is None:
            continue
        members = sorted(m for m, ts in subscriptions.items() if topic in ts)
        per, extra = divmod(count, len(members))
        start = 0
        for i, member in enumerate(members):
            n = per + (1 if i < extra else 0)
            result[member] += [TopicPartition(topic, p) for p in range(start, start + n)]
            start += n
    return result


def roundrobin_assign(subscriptions: Subscriptions, partitions: Mapping[str, int]) -> Assignment:
    result: Assignment = {member: [] for member in subscriptions}
    members = sorted(subscriptions)
    all_partitions = [
        TopicPartition(t, p)
        for t in sorted({t for ts in subscriptions.values() for t in ts})
        if t in partitions
        for p in range(partitions[t])
    ]
    turn = 0
    for tp in all_partitions:
        for _ in range(len(members)):
            member = members[turn % len(members)]
            turn += 1
            if tp.topic in subscriptions[member]:
                result[member].append(tp)
                break
    return result


ASSIGNORS = {"range": range_assign, "roundrobin": roundrobin_assign}

_JAVA_NAMES = {
    "org.apache.kafka.clients.consumer.RangeAssignor": "range",
    "org.apache.kafka.clients.consumer.RoundRobinAssignor": "roundrobin",
    "org.apache.kafka.clients.consumer.CooperativeStickyAssignor": "cooperative-sticky",
    "org.apache.kafka.clients.consumer.StickyAssignor": "sticky",
}
_COOPERATIVE = {"cooperative-sticky"}


def assignor_names(configured: Sequence[str]) -> list[str]:
    """The assignors this consumer offers, in preference order, from
    ``partition.assignment.strategy`` (short names or Java class names).

    Java's default list is ``range, cooperative-sticky``; rafka's consumer rebalances eagerly,
    so a cooperative assignor in the list is left out while another remains (Java's consumer
    in the same group still agrees on ``range``). A list naming only assignors rafka does
    not have is a configuration error.
    """
    names = [_JAVA_NAMES.get(name, name) for name in configured]
    offered = [name for name in names if name in ASSIGNORS]
    unknown = [name for name in names if name not in ASSIGNORS and name not in _COOPERATIVE]
    if unknown or not offered:
        raise errors.ConfigError(
            f"partition.assignment.strategy {list(configured)}: rafka's consumer offers "
            f"{sorted(ASSIGNORS)}; use one of those"
        )
    return offered

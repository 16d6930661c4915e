"""Classic (JoinGroup) members inside consumer groups and conversions between the two group
types, on a manual clock: join/sync/heartbeat of a classic member, its join and sync timeouts,
the downgrade when the last consumer-protocol member leaves, the upgrade when one joins a
classic group, and ``group.consumer.migration.policy``."""

from __future__ import annotations

import pytest

from rafka.cluster.groups.classic_group import ClassicGroup, ClassicGroupState
from rafka.cluster.groups.consumer_engine import ConsumerConfig
from rafka.cluster.groups.consumer_group import ConsumerGroup, ConsumerGroupState
from rafka.errors import KafkaError
from rafka.protocol.messages import ConsumerProtocolAssignment, ConsumerProtocolSubscription
from tests.cluster.groups.consumer_harness import Client, ConsumerHarness
from tests.cluster.groups.test_consumer_protocol import assert_replays

NONE = 0
REBALANCE_IN_PROGRESS = 27
ILLEGAL_GENERATION = 22
UNKNOWN_MEMBER_ID = 25
GROUP_ID_NOT_FOUND = 69
INCONSISTENT_GROUP_PROTOCOL = 23


def subscription(*topics: str) -> bytes:
    return b"\x00\x01" + ConsumerProtocolSubscription(topics=list(topics)).encode(1)


def partitions(assignment: bytes) -> list[int]:
    decoded, _ = ConsumerProtocolAssignment.decode_from(assignment, 2, 1)
    return sorted(p for tp in decoded.assigned_partitions for p in tp.partitions)


def classic_join(h: ConsumerHarness, member_id: str = "", **kw: object) -> tuple[str, int, int]:
    """(member id, generation, error) of a classic member joining group g on topic t."""
    kw.setdefault("protocols", (("range", subscription("t")),))
    try:
        reply = h.join_new(**kw) if not member_id else h.join(member_id, **kw)  # type: ignore[arg-type]
    except KafkaError as exc:
        return "", -1, exc.code
    h.advance(0)
    assert reply.done
    response = reply.result()
    return response.member_id, response.generation_id, response.error_code


@pytest.fixture
def h() -> ConsumerHarness:
    harness = ConsumerHarness(initial_rebalance_delay_ms=0)
    harness.create_topic("t", 4)
    return harness


def test_classic_member_in_a_consumer_group(h: ConsumerHarness) -> None:
    a = Client(h, "a", ["t"], assignor="range")
    a.join()
    c, generation, error = classic_join(h, instance_id="i-c")
    group = h.consumer_group()
    assert (error, generation) == (NONE, 2) and group.members[c].uses_classic_protocol
    synced = h.sync(c, 2, instance_id="i-c")
    assert synced.done and partitions(synced.result().assignment) == []
    assert h.heartbeat(c, 2, instance_id="i-c") == NONE  # still waiting for a
    assert h.heartbeat(c, 1, instance_id="i-c") == ILLEGAL_GENERATION
    a.heartbeat()  # a revokes half
    a.heartbeat()
    assert h.heartbeat(c, 2, instance_id="i-c") == REBALANCE_IN_PROGRESS
    assert classic_join(h, c, instance_id="i-c") == (c, 2, NONE)
    assert partitions(h.sync(c, 2, instance_id="i-c").result().assignment) == [0, 1]
    assert group.state is ConsumerGroupState.STABLE
    assert h.commit({("t", 0): 1}, member_id=c, generation=2, instance_id="i-c", version=8) == {
        ("t", 0): NONE
    }
    assert h.commit({("t", 0): 1}, member_id=c, generation=1, instance_id="i-c") == {
        ("t", 0): ILLEGAL_GENERATION
    }
    # Its protocols must be ones every classic member supports.
    other = classic_join(h, protocols=(("roundrobin", subscription("t")),))
    assert other[2] == INCONSISTENT_GROUP_PROTOCOL
    assert_replays(h)


def test_classic_member_timeouts(h: ConsumerHarness) -> None:
    a = Client(h, "a", ["t"])
    a.join()
    c, generation, _ = classic_join(h, session_ms=30_000, rebalance_ms=20_000)
    group = h.consumer_group()
    h.advance(19_000)
    a.heartbeat()
    assert h.heartbeat(c, generation) in (NONE, REBALANCE_IN_PROGRESS)
    h.advance(2_000)  # it never synced within its rebalance timeout
    assert c not in group.members
    c, generation, _ = classic_join(h, session_ms=30_000, rebalance_ms=20_000)
    h.sync(c, generation)
    settle = [a.heartbeat() for _ in range(3)]
    assert all(r.error_code == NONE for r in settle)
    b = Client(h, "b", ["t"])
    b.join()  # the group epoch moves on: c must rejoin ...
    assert h.heartbeat(c, generation) == REBALANCE_IN_PROGRESS
    for _ in range(2):
        h.advance(9_000)
        a.heartbeat()
        b.heartbeat()
        assert h.heartbeat(c, generation) == REBALANCE_IN_PROGRESS
    h.advance(3_000)  # ... and did not within its rebalance timeout
    assert c not in group.members and set(group.members) == {"a", "b"}


def test_downgrade_when_the_last_consumer_member_leaves(h: ConsumerHarness) -> None:
    a = Client(h, "a", ["t"])
    a.join()
    c, generation, _ = classic_join(h, instance_id="i-c")
    h.sync(c, generation, instance_id="i-c")
    a.leave()
    group = h.shard.groups["g"]
    assert isinstance(group, ClassicGroup)
    assert group.state is ClassicGroupState.PREPARING_REBALANCE
    assert group.generation_id == 2 and set(group.members) == {c}
    assert h.heartbeat(c, 2, instance_id="i-c") == REBALANCE_IN_PROGRESS
    rejoined = classic_join(h, c, instance_id="i-c")
    assert rejoined == (c, 3, NONE)
    synced = h.sync(c, 3, {c: b"x"}, instance_id="i-c")
    assert synced.done and group.state is ClassicGroupState.STABLE
    loaded = h.replayed().groups["g"]
    assert isinstance(loaded, ClassicGroup) and set(loaded.members) == {c}


def test_upgrade_when_a_consumer_member_joins(h: ConsumerHarness) -> None:
    c, generation, _ = classic_join(h)
    assignment = b"\x00\x01" + ConsumerProtocolAssignment(
        [ConsumerProtocolAssignment.TopicPartition("t", [0, 1, 2, 3])]
    ).encode(1)
    assert h.sync(c, generation, {c: assignment}).result().error_code == NONE
    b = Client(h, "b", ["t"])
    joined = b.join()
    assert (joined.error_code, joined.member_epoch, b.partitions()) == (NONE, 2, set())
    group = h.consumer_group()
    converted = group.members[c]
    assert converted.member_epoch == 1 and converted.uses_classic_protocol
    assert sum(len(p) for p in converted.assigned_partitions.values()) == 4
    assert h.heartbeat(c, 1) == REBALANCE_IN_PROGRESS
    assert classic_join(h, c)[1:] == (2, NONE)  # revokes two, keeps two
    b.heartbeat()
    assert len(b.partitions()) == 2
    assert_replays(h)


def test_migration_policy_disabled() -> None:
    h = ConsumerHarness(ConsumerConfig(migration_policy="disabled"))
    h.create_topic("t", 2)
    c, generation, _ = classic_join(h)
    h.sync(c, generation, {c: b""})
    refused = Client(h, "b", ["t"]).join()
    assert refused.error_code == GROUP_ID_NOT_FOUND
    assert refused.error_message is not None and "disabled" in refused.error_message
    h.leave((c, None))
    assert isinstance(h.shard.groups["g"], ClassicGroup)
    b = Client(h, "b", ["t"])
    assert b.join().error_code == NONE  # an Empty group is always converted
    c, _, error = classic_join(h)
    assert error == NONE and isinstance(h.shard.groups["g"], ConsumerGroup)
    b.leave()
    group = h.shard.groups["g"]
    assert isinstance(group, ConsumerGroup) and set(group.members) == {c}  # no downgrade

"""The KIP-848 consumer group state machine on a manual clock: joins, reconciliation (revoke
before assign), epochs and fencing, static members, session and rebalance timeouts, server
assignors, metadata changes, regex subscriptions, offsets by member epoch, conversions of
empty groups, failed writes, and replaying the log into a fresh shard."""

from __future__ import annotations

import base64
import uuid

import pytest

from rafka.cluster.groups.classic_group import ClassicGroup
from rafka.cluster.groups.consumer_engine import ConsumerConfig, HeartbeatContext
from rafka.cluster.groups.consumer_group import ConsumerGroup, ConsumerGroupState
from rafka.cluster.groups.consumer_member import MemberState
from rafka.cluster.groups.shard import GroupShard
from rafka.errors import KafkaStorageError
from rafka.protocol.messages import ConsumerGroupHeartbeatRequest, LeaveGroupRequest
from tests.cluster.groups.consumer_harness import Client, ConsumerHarness

S = ConsumerGroupState
Q = ConsumerGroupHeartbeatRequest

NONE = 0
UNKNOWN_MEMBER_ID = 25
GROUP_MAX_SIZE_REACHED = 81
GROUP_ID_NOT_FOUND = 69
FENCED_MEMBER_EPOCH = 110
UNRELEASED_INSTANCE_ID = 111
FENCED_INSTANCE_ID = 82
STALE_MEMBER_EPOCH = 113
INVALID_REGULAR_EXPRESSION = 128


def snapshot(group: ConsumerGroup) -> tuple[object, ...]:
    """Everything observable of a group's state, comparable across shards."""
    return (
        group.state,
        group.group_epoch,
        group.assignment_epoch,
        group.metadata_hash,
        dict(group.members),
        {m: dict(a) for m, a in group.target_assignment.items() if a},
        {t: dict(epochs) for t, epochs in group.partition_epochs.items()},
        dict(group.static_members),
        dict(group.resolved_regexes),
    )


def assert_replays(h: ConsumerHarness, group_id: str = "g") -> None:
    """A shard rebuilt from the log holds exactly the same group."""
    shard = h.replayed()
    live = h.shard.groups.get(group_id)
    loaded = shard.groups.get(group_id)
    if live is None:
        assert loaded is None
        return
    assert isinstance(live, ConsumerGroup) and isinstance(loaded, ConsumerGroup)
    assert snapshot(loaded) == snapshot(live)


def settle(*clients: Client, rounds: int = 6) -> None:
    for _ in range(rounds):
        for client in clients:
            client.heartbeat()


@pytest.fixture
def h() -> ConsumerHarness:
    harness = ConsumerHarness()
    harness.create_topic("t", 6)
    return harness


def test_revoke_before_assign(h: ConsumerHarness) -> None:
    a, b = Client(h, "a", ["t"]), Client(h, "b", ["t"])
    assert a.join().member_epoch == 1 and len(a.partitions()) == 6
    group = h.consumer_group()
    assert group.state is S.STABLE
    joined = b.join()
    assert (joined.member_epoch, b.partitions()) == (2, set())
    assert group.state is S.RECONCILING
    member_b = group.members["b"]
    assert member_b.state is MemberState.UNRELEASED_PARTITIONS
    a.slow = True  # a is told to give up three partitions but keeps them for now
    a.heartbeat()
    member_a = group.members["a"]
    assert member_a.state is MemberState.UNREVOKED_PARTITIONS and member_a.member_epoch == 1
    assert sum(len(p) for p in member_a.partitions_pending_revocation.values()) == 3
    for _ in range(3):  # b gets nothing while a still owns them
        assert not b.heartbeat().error_code and b.partitions() == set()
    a.slow = False
    a.owned = {t: set(ps) for t, ps in group.members["a"].assigned_partitions.items()}
    assert a.heartbeat().member_epoch == 2
    b.heartbeat()
    assert len(a.partitions()) == len(b.partitions()) == 3
    assert not a.partitions() & b.partitions()
    assert group.state is S.STABLE
    assert_replays(h)


def test_epoch_checks(h: ConsumerHarness) -> None:
    a = Client(h, "a", ["t"])
    a.join()
    request = Q(group_id="g", member_id="a", member_epoch=5, topic_partitions=[])
    assert h.heartbeat_request(request).error_code == FENCED_MEMBER_EPOCH
    request = Q(group_id="g", member_id="nobody", member_epoch=1, topic_partitions=[])
    assert h.heartbeat_request(request).error_code == UNKNOWN_MEMBER_ID
    request = Q(group_id="other", member_id="a", member_epoch=1, topic_partitions=[])
    assert h.heartbeat_request(request).error_code == GROUP_ID_NOT_FOUND
    b = Client(h, "b", ["t"])
    b.join()
    settle(a, b)
    # a's epoch went 1 -> 2: the previous epoch is accepted while a owns no more than it has
    assert h.consumer_group().members["a"].previous_member_epoch == 1
    owned = [Q.TopicPartitions(t, sorted(p)) for t, p in a.owned.items()]
    request = Q(group_id="g", member_id="a", member_epoch=1, topic_partitions=owned)
    assert h.heartbeat_request(request).member_epoch == 2
    everything = [Q.TopicPartitions(next(iter(a.owned)), list(range(6)))]
    request = Q(group_id="g", member_id="a", member_epoch=1, topic_partitions=everything)
    assert h.heartbeat_request(request).error_code == FENCED_MEMBER_EPOCH


def test_max_size() -> None:
    h = ConsumerHarness(ConsumerConfig(max_size=1))
    h.create_topic("t", 2)
    assert Client(h, "a", ["t"]).join().error_code == NONE
    assert Client(h, "b", ["t"]).join().error_code == GROUP_MAX_SIZE_REACHED


def test_leave_and_session_expiry(h: ConsumerHarness) -> None:
    a, b, c = (Client(h, m, ["t"]) for m in "abc")
    for client in (a, b, c):
        client.join()
    settle(a, b, c)
    group = h.consumer_group()
    assert group.state is S.STABLE and group.group_epoch == 3
    assert a.leave().member_epoch == -1
    assert "a" not in group.members and group.group_epoch == 4
    settle(b, c)
    assert len(b.partitions()) == len(c.partitions()) == 3
    h.advance(44_000)
    c.heartbeat()  # c is alive; b is not heard from again
    h.advance(2_000)
    assert "b" not in group.members and group.group_epoch == 5
    settle(c)
    assert len(c.partitions()) == 6
    h.advance(45_000)
    assert group.state is S.EMPTY
    assert_replays(h)


def test_rebalance_timeout_fences_a_member_that_does_not_revoke(h: ConsumerHarness) -> None:
    a = Client(h, "a", ["t"], rebalance_timeout_ms=10_000)
    b = Client(h, "b", ["t"])
    a.join()
    b.join()
    a.slow = True
    a.heartbeat()
    assert h.consumer_group().members["a"].state is MemberState.UNREVOKED_PARTITIONS
    for _ in range(4):
        h.advance(2_000)
        a.heartbeat()  # heartbeats keep its session, but it never revokes
        b.heartbeat()
    assert b.partitions() == set()
    h.advance(2_001)
    assert "a" not in h.consumer_group().members
    b.heartbeat()
    assert len(b.partitions()) == 6
    assert_replays(h)


def test_static_member_leaves_and_comes_back(h: ConsumerHarness) -> None:
    s1 = Client(h, "s1", ["t"], instance_id="i-1")
    other = Client(h, "o", ["t"])
    s1.join()
    other.join()
    settle(s1, other)
    kept = s1.partitions()
    assert len(kept) == 3
    assert Client(h, "s2", ["t"], instance_id="i-1").join().error_code == UNRELEASED_INSTANCE_ID
    assert s1.leave(-2).member_epoch == -2
    group = h.consumer_group()
    assert group.members["s1"].member_epoch == -2 and group.group_epoch == 2
    settle(other)
    assert len(other.partitions()) == 3  # s1's partitions wait for it
    s2 = Client(h, "s2", ["t"], instance_id="i-1")
    back = s2.join()
    assert (back.error_code, back.member_epoch, s2.partitions()) == (NONE, 2, kept)
    assert set(group.members) == {"o", "s2"} and group.group_epoch == 2
    request = Q(group_id="g", member_id="s1", member_epoch=2, instance_id="i-1")
    assert h.heartbeat_request(request).error_code == FENCED_INSTANCE_ID
    assert_replays(h)
    # A static member that left for now and never returns expires with its session.
    s2.leave(-2)
    h.advance(30_000)
    other.heartbeat()
    h.advance(20_000)
    assert set(group.members) == {"o"}
    settle(other)
    assert len(other.partitions()) == 6


def test_server_assignors() -> None:
    h = ConsumerHarness()
    h.create_topic("t", 5)
    members = [Client(h, m, ["t"], assignor="range") for m in ("m2", "m1", "m3")]
    for member in members:
        member.join()
    settle(*members, rounds=8)
    group = h.consumer_group()
    assert group.preferred_server_assignor() == "range"
    ranges = {c.member_id: sorted(p for _, p in c.partitions()) for c in members}
    assert ranges == {"m1": [0, 1], "m2": [2, 3], "m3": [4]}
    uniform = ConsumerHarness()
    uniform.create_topic("t", 5)
    others = [Client(uniform, m, ["t"]) for m in ("m1", "m2", "m3")]
    for member in others:
        member.join()
    settle(*others, rounds=8)
    assert sorted(len(c.partitions()) for c in others) == [1, 2, 2]
    assert uniform.consumer_group().preferred_server_assignor() is None


def test_topic_metadata_changes_rebalance(h: ConsumerHarness) -> None:
    a, b = Client(h, "a", ["t", "u"]), Client(h, "b", ["t"])
    a.join()
    b.join()
    settle(a, b)
    group = h.consumer_group()
    epoch = group.group_epoch
    h.add_partitions("t", 8)
    settle(a, b)
    assert group.group_epoch == epoch + 1 and len(a.partitions() | b.partitions()) == 8
    h.create_topic("u", 2)  # a subscribed to it before it existed
    settle(a, b)
    assert group.group_epoch == epoch + 2 and len(a.partitions() | b.partitions()) == 10
    h.delete_topic("t")
    settle(a, b)
    assert group.group_epoch == epoch + 3 and len(a.partitions()) == 2
    assert b.partitions() == set()
    assert_replays(h)


def test_regex_subscription(h: ConsumerHarness) -> None:
    h.create_topic("logs-1", 2)
    h.create_topic("other", 1)
    bad = Client(h, "x", regex="(")
    assert bad.join().error_code == INVALID_REGULAR_EXPRESSION
    r = Client(h, "r", regex="logs-.*")
    assert (r.join().member_epoch, r.partitions()) == (1, set())
    h.advance(0)  # the refresh runs in the background
    group = h.consumer_group()
    assert set(group.resolved_regexes) == {"logs-.*"} and group.group_epoch == 2
    r.heartbeat()
    assert {h.image.topics_by_id[t].name for t, _ in r.partitions()} == {"logs-1"}
    h.create_topic("logs-2", 1)
    h.advance(5_000)
    r.heartbeat()  # within 10 s of the last refresh: not yet
    assert len(r.partitions()) == 2
    h.advance(6_000)
    r.heartbeat()
    h.advance(0)
    r.heartbeat()
    assert len(r.partitions()) == 3
    assert group.is_subscribed_to("logs-2") and not group.is_subscribed_to("other")
    assert_replays(h)
    r.leave()
    assert not group.resolved_regexes and group.state is S.EMPTY
    assert_replays(h)


def test_offsets_by_member_epoch(h: ConsumerHarness) -> None:
    a = Client(h, "a", ["t"])
    a.join()
    assert h.commit({("t", 0): 5}, member_id="a", generation=1) == {("t", 0): NONE}
    assert h.commit({("t", 0): 6}, member_id="a", generation=0) == {("t", 0): STALE_MEMBER_EPOCH}
    assert h.commit({("t", 0): 6}, member_id="a", generation=1, version=8) == {("t", 0): 35}
    assert h.commit({("t", 0): 6}) == {("t", 0): UNKNOWN_MEMBER_ID}
    offsets = h.shard.offsets
    assert offsets.group_offsets("g", "a", 1) == offsets.group_offsets("g")
    with pytest.raises(Exception, match="does not match"):
        offsets.group_offsets("g", "a", 4)
    with pytest.raises(Exception, match="not a member"):
        offsets.group_offsets("g", "b", 1)
    a.leave()
    assert h.commit({("t", 1): 9}) == {("t", 1): NONE}
    assert h.committed() == {("t", 0): 5, ("t", 1): 9}


def test_delete_and_conversions(h: ConsumerHarness) -> None:
    # An Empty classic group becomes a consumer group when a consumer member joins.
    h.commit({("t", 0): 3})  # a "simple" classic group holding offsets
    assert isinstance(h.shard.groups["g"], ClassicGroup)
    a = Client(h, "a", ["t"])
    assert a.join().error_code == NONE
    assert isinstance(h.shard.groups["g"], ConsumerGroup)
    assert h.committed() == {("t", 0): 3}
    assert [r.error_code for r in h.run(h.shard.delete_groups(["g"]))] == [68]  # NON_EMPTY
    a.leave()
    assert [r.error_code for r in h.run(h.shard.delete_groups(["g"]))] == [NONE]
    assert "g" not in h.shard.groups and h.committed() == {}
    assert_replays(h)
    # An Empty consumer group becomes a classic group when a classic member joins.
    Client(h, "b", ["t"]).join()
    Client(h, "b", ["t"]).leave()
    assert isinstance(h.shard.groups["g"], ConsumerGroup)
    joined = h.join_new()
    h.advance(0)  # the join phase completes
    assert joined.done and joined.result().error_code == NONE
    assert isinstance(h.shard.groups["g"], ClassicGroup)
    # A non-empty classic group cannot be converted (online upgrade is not supported).
    refused = Client(h, "c", ["t"]).join()
    assert refused.error_code == GROUP_ID_NOT_FOUND
    assert refused.error_message is not None and "upgrade" in refused.error_message


def test_classic_leave_removes_consumer_members(h: ConsumerHarness) -> None:
    a, b = Client(h, "a", ["t"]), Client(h, "b", ["t"], instance_id="i-b")
    a.join()
    b.join()
    response = h.leave(("a", None), ("", "i-b"), ("nobody", None), group_id="g")
    assert [m.error_code for m in response.members] == [NONE, NONE, UNKNOWN_MEMBER_ID]
    assert h.consumer_group().state is S.EMPTY
    assert_replays(h)
    identities = [LeaveGroupRequest.MemberIdentity("a", None)]
    assert h.run(h.shard.leave_group("g", identities)).members[0].error_code == 25


def test_failed_write_restores_the_group(h: ConsumerHarness) -> None:
    a, b = Client(h, "a", ["t"]), Client(h, "b", ["t"])
    a.join()
    before = snapshot(h.consumer_group())
    h.fail_writes = KafkaStorageError()
    with pytest.raises(KafkaStorageError):
        h.run(
            h.shard.consumer.heartbeat(
                HeartbeatContext("c", "/127.0.0.1", 1),
                Q(
                    group_id="g",
                    member_id="b",
                    member_epoch=0,
                    rebalance_timeout_ms=1000,
                    subscribed_topic_names=["t"],
                    topic_partitions=[],
                ),
            )
        )
    assert snapshot(h.consumer_group()) == before
    h.fail_writes = None
    assert b.join().member_epoch == 2
    assert_replays(h)


def test_loaded_members_expire_and_revocations_time_out(h: ConsumerHarness) -> None:
    a, b = Client(h, "a", ["t"], rebalance_timeout_ms=5_000), Client(h, "b", ["t"])
    a.join()
    b.join()
    a.slow = True
    a.heartbeat()
    shard: GroupShard = h.replayed()
    group = shard.groups["g"]
    assert isinstance(group, ConsumerGroup) and set(group.members) == {"a", "b"}
    now = h.clock.monotonic_ms()
    rebalance = shard.timer.deadline("rebalance-timeout-g-a")
    session = shard.timer.deadline("session-timeout-g-b")
    assert rebalance == now + 5_000 and session == now + 45_000


def test_describe(h: ConsumerHarness) -> None:
    a = Client(h, "a", ["t"], instance_id="i-a")
    a.join()
    (described,) = h.shard.consumer_describe(["g"])
    assert (described.group_state, described.group_epoch, described.assignor_name) == (
        "Stable",
        1,
        "uniform",
    )
    (member,) = described.members
    assert (member.member_id, member.instance_id, member.member_type) == ("a", "i-a", 1)
    assert [tp.topic_name for tp in member.assignment.topic_partitions] == ["t"]
    (unknown,) = h.shard.consumer_describe(["nope"])
    assert (unknown.error_code, unknown.error_message) == (69, "Group nope not found.")
    listed = h.shard.list_groups([], ["consumer"])
    assert [(g.group_id, g.group_state, g.protocol_type) for g in listed] == [
        ("g", "Stable", "consumer")
    ]
    assert h.shard.describe("g", 6).error_code == 69


def test_member_ids_are_generated_for_v0() -> None:
    h = ConsumerHarness()
    h.create_topic("t", 1)
    request = Q(
        group_id="g",
        member_id="",
        member_epoch=0,
        rebalance_timeout_ms=1000,
        subscribed_topic_names=["t"],
        topic_partitions=[],
    )
    response = h.heartbeat_request(request, version=0)
    assert response.error_code == 0 and len(response.member_id or "") == 22
    assert not (response.member_id or "").startswith("-")
    uuid.UUID(bytes=base64.urlsafe_b64decode((response.member_id or "") + "=="))

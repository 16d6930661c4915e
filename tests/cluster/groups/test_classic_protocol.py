"""The classic group state machine on a manual clock: joins, syncs, heartbeats, leaves,
timeouts and static membership, with Kafka's error codes. No I/O, no waiting: a 45 s session
timeout is one clock step."""

from __future__ import annotations

import pytest

from rafka.cluster.groups.classic_group import ClassicGroupState as S
from rafka.cluster.groups.records import decode_record
from rafka.errors import NotLeaderOrFollowerError
from rafka.protocol.schemas.group_coordinator import GroupMetadataValue
from tests.cluster.groups.harness import ShardHarness, stable_group

NONE = 0
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
UNKNOWN_MEMBER_ID = 25
REBALANCE_IN_PROGRESS = 27
MEMBER_ID_REQUIRED = 79
GROUP_MAX_SIZE_REACHED = 81
FENCED_INSTANCE_ID = 82
NOT_COORDINATOR = 16


def test_first_join_asks_for_a_member_id_then_a_new_group_forms() -> None:
    h = ShardHarness()
    first = h.join(version=4)
    response = first.result()
    assert response.error_code == MEMBER_ID_REQUIRED
    assert response.member_id.startswith("client-")
    # The new group was stored as an empty group (generation 0, no protocol).
    record = decode_record(*h.log[0])
    assert isinstance(record.value, GroupMetadataValue)
    assert (record.value.generation, record.value.protocol, record.value.members) == (0, None, [])
    assert h.group().state is S.EMPTY

    second = h.join(response.member_id)
    assert not second.done  # parked: the initial rebalance waits for its (0 ms) delay
    assert h.group().state is S.PREPARING_REBALANCE
    h.advance(0)
    joined = second.result()
    assert (joined.error_code, joined.generation_id, joined.leader) == (
        NONE,
        1,
        response.member_id,
    )
    assert joined.protocol_name == "range" and joined.protocol_type == "consumer"
    assert [m.member_id for m in joined.members] == [response.member_id]
    assert h.group().state is S.COMPLETING_REBALANCE


def test_join_before_v4_needs_no_second_round() -> None:
    h = ShardHarness()
    reply = h.join(version=3)
    assert not reply.done
    h.advance(0)
    assert reply.result().error_code == NONE
    assert reply.result().generation_id == 1


def test_leader_sync_stores_the_assignment_and_the_group_becomes_stable() -> None:
    h = ShardHarness()
    a, b = stable_group(h, 2)
    group = h.group()
    assert group.generation_id == 2
    assert group.members[a].assignment == a.encode()
    record = decode_record(*h.log[-1])
    assert isinstance(record.value, GroupMetadataValue)
    assert record.value.generation == 2
    assert {m.member_id: m.assignment for m in record.value.members} == {
        a: a.encode(),
        b: b.encode(),
    }
    # A Stable member syncing again gets its assignment back.
    assert h.sync(b, 2).result().assignment == b.encode()


def test_follower_sync_waits_for_the_leader() -> None:
    h = ShardHarness()
    a_reply = h.join_new()
    b_reply = h.join_new()
    h.advance(0)
    a, b = a_reply.result(), b_reply.result()
    leader = a.leader
    follower = b.member_id if leader == a.member_id else a.member_id
    parked = h.sync(follower, a.generation_id)
    assert not parked.done
    h.sync(leader, a.generation_id, {follower: b"F", leader: b"L"})
    assert parked.result().assignment == b"F"


def test_heartbeats_and_generation_checks() -> None:
    h = ShardHarness()
    (a, b) = stable_group(h, 2)
    assert h.heartbeat(a, 2) == NONE
    assert h.heartbeat(a, 1) == ILLEGAL_GENERATION
    assert h.heartbeat("nobody", 2) == UNKNOWN_MEMBER_ID
    assert h.heartbeat(a, 2, group_id="missing") == UNKNOWN_MEMBER_ID
    # A new member starts a rebalance: heartbeats now say so, syncs too.
    h.join_new()
    assert h.group().state is S.PREPARING_REBALANCE
    assert h.heartbeat(a, 2) == REBALANCE_IN_PROGRESS
    assert h.sync(b, 2).result().error_code == REBALANCE_IN_PROGRESS


def test_session_expiry_on_virtual_time() -> None:
    h = ShardHarness()
    (a,) = stable_group(h, 1, session_ms=45_000)
    h.advance(44_999)
    assert h.group().state is S.STABLE
    assert h.heartbeat(a, 1) == NONE  # pushes the deadline to 45 s from now
    h.advance(44_999)
    assert h.group().state is S.STABLE
    h.advance(1)  # 45 s (the session timeout) without a heartbeat
    group = h.group()
    assert group.state is S.EMPTY and not group.members
    assert group.generation_id == 2
    record = decode_record(*h.log[-1])
    assert isinstance(record.value, GroupMetadataValue)
    assert (record.value.generation, record.value.protocol, record.value.members) == (2, None, [])


def test_member_that_does_not_rejoin_is_dropped_at_the_rebalance_timeout() -> None:
    h = ShardHarness()
    a, b = stable_group(h, 2)
    rejoin = h.join(a, rebalance_ms=5_000)  # a rejoins; b keeps heartbeating but never rejoins
    assert not rejoin.done
    for _ in range(4):
        h.advance(1_000)
        assert h.heartbeat(b, 2) == REBALANCE_IN_PROGRESS
    h.advance(1_000)  # the rebalance timeout is the largest of the members' (b's 30 s)
    assert not rejoin.done
    h.advance(25_000)
    assert rejoin.result().generation_id == 3
    assert list(h.group().members) == [a]


def test_leave_group_triggers_a_rebalance_and_empties_the_group() -> None:
    h = ShardHarness()
    a, b = stable_group(h, 2)
    response = h.leave((b, None), ("ghost", None))
    assert [m.error_code for m in response.members] == [NONE, UNKNOWN_MEMBER_ID]
    assert h.group().state is S.PREPARING_REBALANCE
    rejoin = h.join(a)
    assert rejoin.result().generation_id == 3  # a was the only one left: complete at once
    h.leave((a, None))  # nobody left to wait for: straight to Empty
    assert h.group().state is S.EMPTY


def test_inconsistent_protocols_are_rejected() -> None:
    h = ShardHarness()
    stable_group(h, 1)
    reply = h.join_new(protocols=(("roundrobin", b""),))
    assert reply.result().error_code == INCONSISTENT_GROUP_PROTOCOL
    reply = h.join_new(protocol_type="connect")
    assert reply.result().error_code == INCONSISTENT_GROUP_PROTOCOL


def test_protocol_selection_takes_the_most_preferred_common_protocol() -> None:
    h = ShardHarness()
    a = h.join_new(protocols=(("sticky", b"s"), ("range", b"r")))
    b = h.join_new(protocols=(("range", b"r"), ("sticky", b"s")))
    c = h.join_new(protocols=(("sticky", b"s"), ("range", b"r"), ("rr", b"")))
    h.advance(0)
    assert {r.result().protocol_name for r in (a, b, c)} == {"sticky"}


def test_group_max_size() -> None:
    h = ShardHarness(max_size=2)
    stable_group(h, 2)
    reply = h.join_new()
    assert reply.result().error_code == GROUP_MAX_SIZE_REACHED


def test_static_member_rejoining_with_a_new_id_fences_the_old_one() -> None:
    h = ShardHarness()
    first = h.join(instance_id="i-1")
    assert not first.done  # static members need no second join
    h.advance(0)
    old_id = first.result().member_id
    assert old_id.startswith("i-1-")
    h.sync(old_id, 1, {old_id: b"A"}, instance_id="i-1")
    assert h.group().state is S.STABLE
    # The instance restarts: same instance id, no member id. Stable, same protocol: no
    # rebalance, the assignment is kept and the leader is told to skip assigning.
    again = h.join(instance_id="i-1")
    response = again.result()
    assert response.member_id != old_id and response.generation_id == 1
    assert response.skip_assignment is True
    assert h.group().state is S.STABLE
    assert h.sync(response.member_id, 1, instance_id="i-1").result().assignment == b"A"
    assert h.heartbeat(old_id, 1, instance_id="i-1") == FENCED_INSTANCE_ID
    assert h.heartbeat(old_id, 1) == UNKNOWN_MEMBER_ID
    assert h.heartbeat(response.member_id, 1, instance_id="i-1") == NONE
    assert h.heartbeat(response.member_id, 1, instance_id="i-2") == UNKNOWN_MEMBER_ID


def test_static_member_is_kept_through_a_rebalance_it_misses() -> None:
    h = ShardHarness()
    s = h.join(instance_id="static", rebalance_ms=1_000)
    d = h.join_new(rebalance_ms=1_000)
    h.advance(0)
    static_id, dynamic_id = s.result().member_id, d.result().member_id
    rejoin = h.join(dynamic_id, rebalance_ms=1_000)
    h.join_new(rebalance_ms=1_000)  # a third member starts a new rebalance
    h.advance(1_000)
    assert rejoin.done
    assert static_id in h.group().members  # static members are not dropped for not rejoining


def test_unloading_answers_parked_requests_with_not_coordinator() -> None:
    h = ShardHarness()
    a, _ = stable_group(h, 2)
    parked = h.join(a)
    h.shard.on_unloaded()
    assert parked.result().error_code == NOT_COORDINATOR
    assert h.group().state is S.DEAD


def test_failed_assignment_write_resets_and_rebalances() -> None:
    h = ShardHarness()
    first = h.join_new()
    h.advance(0)
    member = first.result().member_id
    h.fail_writes = NotLeaderOrFollowerError()
    with pytest.raises(NotLeaderOrFollowerError):
        h.sync(member, 1, {member: b"x"})
    group = h.group()
    assert group.state is S.PREPARING_REBALANCE
    assert group.members[member].assignment == b""


def test_failed_new_group_write_leaves_no_timer_behind() -> None:
    # found by the state machine: the first (static) member's join scheduled the initial
    # rebalance, the write creating the group failed, and the stale timer later completed a
    # join on a new, empty group of the same name ("no transition from Empty to Empty")
    h = ShardHarness(initial_rebalance_delay_ms=100)
    h.fail_writes = NotLeaderOrFollowerError()
    with pytest.raises(NotLeaderOrFollowerError):
        h.join(instance_id="i-0")
    assert "g" not in h.shard.groups
    h.fail_writes = None
    assert h.join().result().error_code == MEMBER_ID_REQUIRED
    h.advance(100)
    assert h.group().state is S.EMPTY and h.group().generation_id == 0


def test_a_retried_join_answers_the_parked_one() -> None:
    h = ShardHarness()
    a, b = stable_group(h, 2)
    first = h.join(a)  # parked: b has not rejoined
    assert not first.done
    again = h.join(a)  # the client gave up and retried on another connection
    assert first.result().error_code == REBALANCE_IN_PROGRESS
    assert not again.done
    h.join(b)
    assert again.result().generation_id == 3


def test_removing_a_member_answers_its_parked_sync() -> None:
    h = ShardHarness()
    s = h.join(instance_id="s1")
    d = h.join_new()
    h.advance(0)
    static_id = s.result().member_id
    leader = s.result().leader
    follower = static_id if leader != static_id else d.result().member_id
    parked = h.sync(follower, 1, instance_id="s1" if follower == static_id else None)
    assert not parked.done
    removed = h.leave(("", "s1"))  # the admin client removes the static member
    assert [m.error_code for m in removed.members] == [NONE]
    if follower == static_id:
        assert parked.result().error_code == UNKNOWN_MEMBER_ID
    else:
        assert parked.result().error_code == REBALANCE_IN_PROGRESS

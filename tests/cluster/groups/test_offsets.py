"""Committed offsets on a manual clock: commit rules, OffsetDelete, DeleteGroups, retention
(KIP-211) and rebuilding a shard from the records it wrote."""

from __future__ import annotations

import random

import pytest

from rafka.cluster.groups.classic_group import ClassicGroupState as S
from rafka.cluster.groups.loader import replay_buffer
from rafka.cluster.groups.records import build_batch, decode_record
from rafka.cluster.groups.shard import GroupShard, random_member_ids
from rafka.errors import NonEmptyGroupError
from rafka.protocol.messages import OffsetDeleteRequest
from tests.cluster.groups.harness import ShardHarness, stable_group
from tests.cluster.groups.session import subscription

NONE = 0
OFFSET_METADATA_TOO_LARGE = 12
ILLEGAL_GENERATION = 22
UNKNOWN_MEMBER_ID = 25
REBALANCE_IN_PROGRESS = 27
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
FENCED_INSTANCE_ID = 82
GROUP_SUBSCRIBED_TO_TOPIC = 86
MINUTE = 60_000


def subscribed_group(h: ShardHarness, topic: str = "t") -> str:
    """A Stable one-member consumer group subscribed to ``topic``; its member id."""
    reply = h.join_new(protocols=(("range", subscription(topic)),), session_ms=5 * MINUTE)
    h.advance(0)
    member = reply.result().member_id
    h.sync(member, 1, {member: b""})
    assert h.group().state is S.STABLE
    return member


def test_simple_commit_creates_an_empty_group_without_protocol() -> None:
    h = ShardHarness()
    assert h.commit({("t", 0): 5}, group_id="simple") == {("t", 0): NONE}
    group = h.group("simple")
    assert group.state is S.EMPTY and group.protocol_type is None
    assert h.committed("simple") == {("t", 0): 5}
    # No group record is written for it, only the offset.
    assert [decode_record(*r).record_type for r in h.log] == [1]


def test_commit_checks_and_bad_commits_change_nothing() -> None:
    h = ShardHarness()
    a, _b = stable_group(h, 2)
    assert h.commit({("t", 0): 1, ("t", 1): 2}, member_id=a, generation=2) == {
        ("t", 0): NONE,
        ("t", 1): NONE,
    }
    big = "x" * 4097
    assert h.commit({("t", 0): 99, ("t", 1): 3}, member_id=a, generation=2, metadata=big) == {
        ("t", 0): OFFSET_METADATA_TOO_LARGE,
        ("t", 1): OFFSET_METADATA_TOO_LARGE,
    }
    assert h.commit({("t", 0): 99}, member_id=a, generation=1) == {("t", 0): ILLEGAL_GENERATION}
    assert h.commit({("t", 0): 99}, member_id="x", generation=2) == {("t", 0): UNKNOWN_MEMBER_ID}
    assert h.commit({("t", 0): 99}) == {("t", 0): UNKNOWN_MEMBER_ID}  # simple, to a live group
    assert h.commit({("t", 0): 99}, group_id="none", generation=3, version=8) == {
        ("t", 0): ILLEGAL_GENERATION
    }
    assert h.commit({("t", 0): 99}, group_id="none", generation=3) == {("t", 0): GROUP_ID_NOT_FOUND}
    h.join_new()  # a rebalance starts; once it completes, commits wait for the sync
    h.join(a)
    h.join(_b)
    h.advance(0)
    assert h.group().state is S.COMPLETING_REBALANCE
    assert h.commit({("t", 0): 99}, member_id=a, generation=3) == {("t", 0): REBALANCE_IN_PROGRESS}
    assert h.committed() == {("t", 0): 1, ("t", 1): 2}


def test_static_commit_with_the_wrong_member_id_is_fenced() -> None:
    h = ShardHarness()
    reply = h.join(instance_id="i")
    h.advance(0)
    member = reply.result().member_id
    assert h.commit({("t", 0): 1}, member_id="other", instance_id="i", generation=1) == {
        ("t", 0): FENCED_INSTANCE_ID
    }
    assert h.commit({("t", 0): 1}, member_id=member, instance_id="j", generation=1) == {
        ("t", 0): UNKNOWN_MEMBER_ID
    }


def test_offset_delete_rules() -> None:
    h = ShardHarness()
    subscribed_group(h, "t")
    h.commit({("t", 0): 1, ("u", 0): 2}, member_id=next(iter(h.group().members)), generation=1)
    request = OffsetDeleteRequest(
        group_id="g",
        topics=[
            OffsetDeleteRequest.OffsetDeleteRequestTopic(
                name, [OffsetDeleteRequest.OffsetDeleteRequestPartition(0)]
            )
            for name in ("t", "u")
        ],
    )
    response = h.run(h.shard.offsets.delete(request))
    assert [(t.name, t.partitions[0].error_code) for t in response.topics] == [
        ("t", GROUP_SUBSCRIBED_TO_TOPIC),
        ("u", NONE),
    ]
    assert h.committed() == {("t", 0): 1}
    # A non-consumer-protocol group must be empty to lose offsets.
    reply = h.join_new(group_id="connect", protocol_type="connect")
    h.advance(0)
    assert reply.result().error_code == NONE
    request.group_id = "connect"
    with pytest.raises(NonEmptyGroupError):
        h.shard.offsets.delete(request)


def test_delete_groups_writes_tombstones_for_offsets_and_group() -> None:
    h = ShardHarness()
    h.commit({("t", 0): 1, ("t", 1): 2}, group_id="old")
    stable_group(h, 1)
    result = h.shard.delete_groups(["old", "g", "missing"])
    assert [(r.group_id, r.error_code) for r in result.response or []] == [
        ("old", NONE),
        ("g", NON_EMPTY_GROUP),
        ("missing", GROUP_ID_NOT_FOUND),
    ]
    h.run(result)
    assert "old" not in h.shard.groups and h.committed("old") == {}
    assert [decode_record(*r).value for r in h.log[-3:]] == [None, None, None]


def test_offsets_of_a_simple_group_expire_after_the_retention() -> None:
    h = ShardHarness(offsets_retention_ms=10 * MINUTE, offsets_retention_check_interval_ms=MINUTE)
    h.commit({("t", 0): 1}, group_id="simple")
    h.advance(9 * MINUTE)
    assert h.committed("simple") == {("t", 0): 1}
    h.advance(MINUTE)
    assert h.committed("simple") == {}
    assert "simple" not in h.shard.groups  # Empty with no offsets left: deleted too


def test_kip_211_offsets_expire_from_when_the_group_became_empty() -> None:
    h = ShardHarness(offsets_retention_ms=10 * MINUTE, offsets_retention_check_interval_ms=MINUTE)
    member = subscribed_group(h, "t")
    h.commit({("t", 0): 1, ("u", 0): 2}, member_id=member, generation=1)
    for _ in range(10):  # the member keeps heartbeating for 20 minutes
        h.advance(2 * MINUTE - 1)
        assert h.heartbeat(member, 1) == NONE
    # Stable and subscribed to t: t's offset stays; u's expired 10 minutes after its commit.
    assert h.committed() == {("t", 0): 1}
    h.leave((member, None))
    assert h.group().state is S.EMPTY
    h.advance(9 * MINUTE)
    assert h.committed() == {("t", 0): 1}  # counted from when the group became empty
    h.advance(MINUTE)
    assert h.committed() == {}
    assert "g" not in h.shard.groups


def test_retention_time_of_old_commits_sets_an_expire_timestamp() -> None:
    h = ShardHarness(offsets_retention_ms=100 * MINUTE, offsets_retention_check_interval_ms=MINUTE)
    h.commit({("t", 0): 1}, group_id="old", version=4, retention_ms=2 * MINUTE)
    h.commit({("t", 1): 1}, group_id="old", version=5, retention_ms=2 * MINUTE)  # ignored at v5
    h.advance(2 * MINUTE)
    assert h.committed("old") == {("t", 1): 1}


def test_a_shard_rebuilt_from_its_records_matches() -> None:
    h = ShardHarness()
    a, b = stable_group(h, 2)
    h.commit({("t", 0): 7, ("t", 1): 8}, member_id=a, generation=2, metadata="meta")
    h.commit({("u", 0): 1}, group_id="simple")
    h.commit({("u", 0): 2}, group_id="simple")
    h.commit({("t", 0): 1}, group_id="gone")
    h.run(h.shard.delete_groups(["gone"]))
    batch = build_batch([decode_record(k, v) for k, v in h.log], h.clock.time_ms())
    fresh = GroupShard(0, h.config, h.clock, random_member_ids(random.Random(1)))
    assert replay_buffer(fresh, batch) == len(h.log)
    assert set(fresh.groups) == {"g", "simple"}
    group = fresh.groups["g"]
    assert group.state_name == "Stable"
    assert set(group.members) == {a, b}  # type: ignore[attr-defined]
    offsets = {
        (g, t, p): (o.offset, o.metadata)
        for g, by_topic in fresh.offsets.offsets.items()
        for t, by_p in by_topic.items()
        for p, o in by_p.items()
    }
    assert offsets == {
        ("g", "t", 0): (7, "meta"),
        ("g", "t", 1): (8, "meta"),
        ("simple", "u", 0): (2, ""),
    }

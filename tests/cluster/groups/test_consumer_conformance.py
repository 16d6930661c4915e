"""The same raw KIP-848 scenarios (ConsumerGroupHeartbeat, ConsumerGroupDescribe, offsets,
listing, deletion) against rafka (one broker, three brokers) and the Apache Kafka reference
broker: every error, epoch, assignment and description each step observes must be the same,
and equal to what Kafka 4.1 answers (the expected values below were taken from it).

Members choose their ids (v1), so the ``range`` assignor's answers are exact; with ``uniform``
only the balance is compared where Kafka's ties depend on Java hash-map order.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from rafka.protocol.messages import (
    ConsumerProtocolAssignment,
    DeleteGroupsRequest,
    LeaveGroupRequest,
    OffsetDeleteRequest,
)
from tests.cluster.groups.consumer_session import ConsumerSession
from tests.cluster.groups.session import assignment
from tests.interop.raw import RawClient, error_name

NONE = "NONE"
HOST = "/127.0.0.1"
CLIENT = "rafka-interop"


def _topics(bootstrap: str, *specs: tuple[str, int]) -> None:
    """Create topics, and wait until the group coordinator sees them (Kafka's coordinator
    learns of new topics a little after its broker): a throwaway group subscribed to them
    must be assigned every partition."""
    with RawClient(bootstrap) as admin:
        for name, partitions in specs:
            assert admin.create_topic(name, partitions).error_code == 0
            admin.wait_for_leaders(name)
    names = [name for name, _ in specs]
    total = sum(partitions for _, partitions in specs)
    probe = ConsumerSession(bootstrap, f"probe-{uuid.uuid4().hex[:8]}", names[0])
    for name in names:
        probe.topic_id(name)
    deadline = time.monotonic() + 30
    answer = probe.join("probe", names)
    while sum(len(p) for p in (answer[2] or {}).values()) < total:
        assert time.monotonic() < deadline, answer
        time.sleep(0.1)
        answer = probe.join("probe", names)
    probe.heartbeat(member_id="probe", member_epoch=-1)
    probe.close()


def dynamic_scenario(bootstrap: str) -> dict[str, Any]:
    """Two members with the range assignor: join, reconcile (revoke before assign), commits
    and fetches by epoch, fencing, leave, delete."""
    suffix = uuid.uuid4().hex[:8]
    topic, other, group = f"ct-{suffix}", f"co-{suffix}", f"cgroup-{suffix}"
    _topics(bootstrap, (topic, 4), (other, 1))
    s = ConsumerSession(bootstrap, group, topic)
    s.topic_id(topic, "T")
    s.topic_id(other, "O")
    a, b = "member-a", "member-b"
    seen: dict[str, Any] = {}
    seen["heartbeat, unknown group"] = s.heartbeat(member_id=a, member_epoch=1)
    seen["describe unknown"] = s.consumer_describe()
    seen["join, no rebalance timeout"] = s.join(a, rebalance_timeout_ms=-1)
    seen["join, owned partitions null"] = s.join(a, topic_partitions=None)
    seen["join, no subscription"] = s.heartbeat(
        member_id=a, member_epoch=0, rebalance_timeout_ms=1000, topic_partitions=[]
    )
    seen["join, unknown assignor"] = s.join(a, server_assignor="sticky")
    seen["join v1, empty member id"] = s.join("")
    seen["join, bad regex"] = s.join(a, subscribed_topic_regex="(")
    seen["heartbeat, epoch -3"] = s.heartbeat(member_id=a, member_epoch=-3)
    seen["a joins"] = s.join(a, server_assignor="range")
    seen["describe, a alone"] = s.consumer_describe()
    seen["describe groups v5"] = s.describe(5)
    seen["describe groups v6"] = s.describe(6)
    seen["listed as consumer, Stable"] = (
        s.listed(["Stable"], ["consumer"]),
        s.listed([], ["classic"]),
    )
    seen["listed, Stable"] = s.listed_entry()
    seen["a, epoch too high"] = s.beat(a, 2, {"T": [0, 1, 2, 3]})
    seen["unknown member"] = s.beat("nobody", 1, {})
    seen["a heartbeats"] = s.beat(a, 1, {"T": [0, 1, 2, 3]})
    seen["b joins"] = s.join(b, server_assignor="range")
    seen["describe, b joined"] = s.consumer_describe()
    seen["a must revoke"] = s.beat(a, 1, {"T": [0, 1, 2, 3]})
    seen["b waits"] = s.beat(b, 2, {})
    seen["commit, a at 1"] = s.commit_epoch({0: 5}, a, 1)
    seen["commit, a stale"] = s.commit_epoch({0: 6}, a, 0)
    seen["commit, a v8"] = s.commit_epoch({0: 7}, a, 1, version=8)
    seen["commit, unknown member"] = s.commit_epoch({0: 8}, "nobody", 1)
    seen["commit, simple, non-empty group"] = s.commit_epoch({0: 9}, "", -1)
    seen["fetch, a"] = s.fetch_epoch(a, 1)
    seen["fetch, a stale"] = s.fetch_epoch(a, 3)
    seen["fetch, unknown member"] = s.fetch_epoch("nobody", 1)
    seen["fetch, admin"] = s.fetch_epoch(None, -1)
    seen["a revoked"] = s.beat(a, 1, {"T": [0, 1]})
    seen["b gets its share"] = s.beat(b, 2, {})
    seen["describe, stable"] = s.consumer_describe()
    seen["a, previous epoch, subset"] = s.beat(a, 1, {"T": [0, 1]})
    seen["a, previous epoch, not a subset"] = s.beat(a, 1, {"T": [0, 3]})
    seen["delete non-empty"] = error_name(
        s.raw.call(DeleteGroupsRequest([group]), 2).results[0].error_code
    )
    deleted = s.raw.call(
        OffsetDeleteRequest(
            group_id=group,
            topics=[
                OffsetDeleteRequest.OffsetDeleteRequestTopic(
                    name, [OffsetDeleteRequest.OffsetDeleteRequestPartition(0)]
                )
                for name in (topic, other)
            ],
        ),
        0,
    )
    seen["offset delete"] = (
        error_name(deleted.error_code),
        sorted(
            (t.name == topic, [error_name(p.error_code) for p in t.partitions])
            for t in deleted.topics
        ),
    )
    seen["a leaves"] = s.heartbeat(member_id=a, member_epoch=-1)
    seen["a leaves again"] = s.heartbeat(member_id=a, member_epoch=-1)
    seen["b takes all"] = s.beat(b, 2, {"T": [2, 3]})
    seen["describe, b alone"] = s.consumer_describe()
    seen["classic leave of b"] = [
        error_name(m.error_code)
        for m in s.raw.call(
            LeaveGroupRequest(
                group_id=group,
                members=[
                    LeaveGroupRequest.MemberIdentity(b, None),
                    LeaveGroupRequest.MemberIdentity("nobody", None),
                ],
            ),
            5,
        ).members
    ]
    seen["b, after removal"] = s.beat(b, 3, {"T": [0, 1, 2, 3]})
    seen["describe, empty"] = s.consumer_describe()
    seen["listed as Empty"] = s.listed(["Empty"], ["consumer"])
    seen["listed, Empty"] = s.listed_entry()
    seen["commit, simple, empty group"] = s.commit_epoch({1: 11}, "", -1)
    seen["fetch after"] = s.fetch_epoch(None, -1)
    delete = s.raw.call(DeleteGroupsRequest([group]), 2)
    seen["delete"] = error_name(delete.results[0].error_code)
    seen["describe, deleted"] = s.consumer_describe()
    seen["fetch, deleted"] = s.fetch_epoch(None, -1)
    s.close()
    return seen


def static_scenario(bootstrap: str) -> dict[str, Any]:
    """Static members: an instance id is owned until released (-2), then taken over."""
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"cs-{suffix}", f"cstatic-{suffix}"
    _topics(bootstrap, (topic, 2))
    s = ConsumerSession(bootstrap, group, topic)
    s.topic_id(topic, "T")
    seen: dict[str, Any] = {}
    seen["s1 joins"] = s.join("s1", instance_id="i-1")
    seen["s2 takes i-1"] = s.join("s2", instance_id="i-1")
    seen["s2 heartbeats as i-1"] = s.beat("s2", 1, {}, instance_id="i-1")
    seen["s1 heartbeats"] = s.beat("s1", 1, {"T": [0, 1]})
    seen["s1 leaves for now"] = s.heartbeat(member_id="s1", member_epoch=-2, instance_id="i-1")
    seen["describe, s1 away"] = s.consumer_describe()
    seen["s2 takes over i-1"] = s.join("s2", instance_id="i-1")
    seen["s1 comes back too late"] = s.beat("s1", 1, {"T": [0, 1]}, instance_id="i-1")
    seen["s1 leave, fenced"] = s.heartbeat(member_id="s1", member_epoch=-1, instance_id="i-1")
    seen["describe, s2"] = s.consumer_describe()
    seen["s3 joins"] = s.join("s3")
    seen["s2 revokes"] = s.beat("s2", 1, {"T": [0, 1]})
    seen["s3 waits"] = s.beat("s3", 2, {})
    seen["s2 leaves"] = s.heartbeat(member_id="s2", member_epoch=-1, instance_id="i-1")
    seen["s3 takes all"] = s.beat("s3", 2, {})
    seen["describe, s3"] = s.consumer_describe()
    seen["admin removal by instance id, unknown"] = [
        error_name(m.error_code)
        for m in s.raw.call(
            LeaveGroupRequest(
                group_id=group, members=[LeaveGroupRequest.MemberIdentity("", "i-1")]
            ),
            5,
        ).members
    ]
    s.close()
    return seen


def regex_scenario(bootstrap: str) -> dict[str, Any]:
    """A regex subscription is resolved in the background; new matching topics join it."""
    suffix = uuid.uuid4().hex[:8]
    first, second, group = f"rx-{suffix}-a", f"rx-{suffix}-b", f"cregex-{suffix}"
    _topics(bootstrap, (first, 2))
    s = ConsumerSession(bootstrap, group, first)
    s.topic_id(first, "A")
    seen: dict[str, Any] = {}
    regex = f"rx-{suffix}-.*"
    s.aliases[f"rx-{suffix}-"] = "RX-"
    seen["join with a regex"] = s.join("r1", subscribed_topic_regex=regex)
    seen["resolved"] = s.wait_heartbeat(
        lambda answer: answer[2] is not None, member_id="r1", epoch=1, owned={}
    )
    seen["describe"] = s.consumer_describe()
    _topics(bootstrap, (second, 1))
    s.topic_id(second, "B")
    seen["a new matching topic"] = s.wait_heartbeat(
        lambda answer: answer[2] is not None and len(answer[2]) == 2,
        timeout=40,
        pause=0.5,
        member_id="r1",
        epoch=2,
        owned={"A": [0, 1]},
    )
    s.close()
    return seen


def session_scenario(bootstrap: str) -> dict[str, Any]:
    """A member that stops heartbeating is fenced when its session expires (configured
    ``group.consumer.session.timeout.ms``); the other one takes its partitions."""
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"cx-{suffix}", f"csession-{suffix}"
    _topics(bootstrap, (topic, 2))
    s = ConsumerSession(bootstrap, group, topic)
    s.topic_id(topic, "T")
    seen: dict[str, Any] = {}
    seen["x joins"] = s.join("x", server_assignor="range")
    seen["y joins"] = s.join("y", server_assignor="range")
    start = time.monotonic()
    answer = s.wait_heartbeat(
        lambda answer: answer[2] == {"T": [0, 1]},
        timeout=40,
        pause=0.25,
        member_id="y",
        epoch=2,
        owned={},
    )
    seen["y alone after x expired"] = answer
    seen["expired after the session timeout"] = time.monotonic() - start > 2.5
    seen["x, fenced"] = s.beat("x", 1, {"T": [0, 1]})
    s.close()
    return seen


def _differences(seen: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    return [
        f"{step}: got {seen.get(step)!r}, expected {value!r}"
        for step, value in expected.items()
        if seen.get(step) != value
    ]


EXPECTED_DYNAMIC: dict[str, Any] = {
    "heartbeat, unknown group": ("GROUP_ID_NOT_FOUND", 0, None),
    "describe unknown": {
        "error": "GROUP_ID_NOT_FOUND",
        "state": "",
        "epoch": 0,
        "assignment epoch": 0,
        "assignor": "",
        "members": [],
    },
    "join, no rebalance timeout": ("INVALID_REQUEST", 0, None),
    "join, owned partitions null": ("INVALID_REQUEST", 0, None),
    "join, no subscription": ("INVALID_REQUEST", 0, None),
    "join, unknown assignor": ("UNSUPPORTED_ASSIGNOR", 0, None),
    "join v1, empty member id": ("INVALID_REQUEST", 0, None),
    "join, bad regex": ("INVALID_REGULAR_EXPRESSION", 0, None),
    "heartbeat, epoch -3": ("INVALID_REQUEST", 0, None),
    "a joins": (NONE, 1, {"T": [0, 1, 2, 3]}),
    "describe, a alone": {
        "error": NONE,
        "state": "Stable",
        "epoch": 1,
        "assignment epoch": 1,
        "assignor": "range",
        "members": [
            (
                "member-a",
                None,
                1,
                CLIENT,
                HOST,
                ["T"],
                "",
                {"T": [0, 1, 2, 3]},
                {"T": [0, 1, 2, 3]},
                1,
            )
        ],
    },
    "describe groups v5": {
        "error": NONE,
        "state": "Dead",
        "protocol_type": "",
        "protocol": "",
        "members": [],
    },
    "describe groups v6": {
        "error": "GROUP_ID_NOT_FOUND",
        "state": "Dead",
        "protocol_type": "",
        "protocol": "",
        "members": [],
    },
    "listed as consumer, Stable": (True, False),
    "a, epoch too high": ("FENCED_MEMBER_EPOCH", 0, None),
    "unknown member": ("UNKNOWN_MEMBER_ID", 0, None),
    "a heartbeats": (NONE, 1, None),
    "b joins": (NONE, 2, {}),
    "describe, b joined": {
        "error": NONE,
        "state": "Reconciling",
        "epoch": 2,
        "assignment epoch": 2,
        "assignor": "range",
        "members": [
            ("member-a", None, 1, CLIENT, HOST, ["T"], "", {"T": [0, 1, 2, 3]}, {"T": [0, 1]}, 1),
            ("member-b", None, 2, CLIENT, HOST, ["T"], "", {}, {"T": [2, 3]}, 1),
        ],
    },
    "a must revoke": (NONE, 1, {"T": [0, 1]}),
    "b waits": (NONE, 2, None),
    "commit, a at 1": {0: NONE},
    "commit, a stale": {0: "STALE_MEMBER_EPOCH"},
    "commit, a v8": {0: "UNSUPPORTED_VERSION"},
    "commit, unknown member": {0: "UNKNOWN_MEMBER_ID"},
    "commit, simple, non-empty group": {0: "UNKNOWN_MEMBER_ID"},
    "fetch, a": (NONE, {0: 5, 1: -1}),
    "fetch, a stale": ("STALE_MEMBER_EPOCH", {}),
    "fetch, unknown member": ("UNKNOWN_MEMBER_ID", {}),
    "fetch, admin": (NONE, {0: 5, 1: -1}),
    "a revoked": (NONE, 2, None),
    "b gets its share": (NONE, 2, {"T": [2, 3]}),
    "describe, stable": {
        "error": NONE,
        "state": "Stable",
        "epoch": 2,
        "assignment epoch": 2,
        "assignor": "range",
        "members": [
            ("member-a", None, 2, CLIENT, HOST, ["T"], "", {"T": [0, 1]}, {"T": [0, 1]}, 1),
            ("member-b", None, 2, CLIENT, HOST, ["T"], "", {"T": [2, 3]}, {"T": [2, 3]}, 1),
        ],
    },
    "a, previous epoch, subset": (NONE, 2, None),
    "a, previous epoch, not a subset": ("FENCED_MEMBER_EPOCH", 0, None),
    "delete non-empty": "NON_EMPTY_GROUP",
    "offset delete": (NONE, [(False, [NONE]), (True, ["GROUP_SUBSCRIBED_TO_TOPIC"])]),
    "a leaves": (NONE, -1, None),
    "a leaves again": ("UNKNOWN_MEMBER_ID", 0, None),
    "b takes all": (NONE, 3, {"T": [0, 1, 2, 3]}),
    "describe, b alone": {
        "error": NONE,
        "state": "Stable",
        "epoch": 3,
        "assignment epoch": 3,
        "assignor": "range",
        "members": [
            (
                "member-b",
                None,
                3,
                CLIENT,
                HOST,
                ["T"],
                "",
                {"T": [0, 1, 2, 3]},
                {"T": [0, 1, 2, 3]},
                1,
            )
        ],
    },
    "classic leave of b": [NONE, "UNKNOWN_MEMBER_ID"],
    "b, after removal": ("UNKNOWN_MEMBER_ID", 0, None),
    "describe, empty": {
        "error": NONE,
        "state": "Empty",
        "epoch": 4,
        "assignment epoch": 3,
        "assignor": "uniform",
        "members": [],
    },
    "listed as Empty": True,
    "listed, Stable": ("Stable", "consumer", "consumer"),
    "listed, Empty": ("Empty", "consumer", "consumer"),
    "commit, simple, empty group": {1: NONE},
    "fetch after": (NONE, {0: 5, 1: 11}),
    "delete": NONE,
    "describe, deleted": {
        "error": "GROUP_ID_NOT_FOUND",
        "state": "",
        "epoch": 0,
        "assignment epoch": 0,
        "assignor": "",
        "members": [],
    },
    "fetch, deleted": (NONE, {0: -1, 1: -1}),
}


EXPECTED_STATIC: dict[str, Any] = {
    "s1 joins": (NONE, 1, {"T": [0, 1]}),
    "s2 takes i-1": ("UNRELEASED_INSTANCE_ID", 0, None),
    "s2 heartbeats as i-1": ("FENCED_INSTANCE_ID", 0, None),
    "s1 heartbeats": (NONE, 1, None),
    "s1 leaves for now": (NONE, -2, None),
    "describe, s1 away": {
        "error": NONE,
        "state": "Reconciling",
        "epoch": 1,
        "assignment epoch": 1,
        "assignor": "uniform",
        "members": [("s1", "i-1", -2, CLIENT, HOST, ["T"], "", {"T": [0, 1]}, {"T": [0, 1]}, 1)],
    },
    "s2 takes over i-1": (NONE, 1, {"T": [0, 1]}),
    "s1 comes back too late": ("FENCED_INSTANCE_ID", 0, None),
    "s1 leave, fenced": ("FENCED_INSTANCE_ID", 0, None),
    "describe, s2": {
        "error": NONE,
        "state": "Stable",
        "epoch": 1,
        "assignment epoch": 1,
        "assignor": "uniform",
        "members": [("s2", "i-1", 1, CLIENT, HOST, ["T"], "", {"T": [0, 1]}, {"T": [0, 1]}, 1)],
    },
    "s3 joins": (NONE, 2, {}),
    "s2 revokes": (NONE, 1, {"T": [0]}),
    "s3 waits": (NONE, 2, None),
    "s2 leaves": (NONE, -1, None),
    "s3 takes all": (NONE, 3, {"T": [0, 1]}),
    "describe, s3": {
        "error": NONE,
        "state": "Stable",
        "epoch": 3,
        "assignment epoch": 3,
        "assignor": "uniform",
        "members": [("s3", None, 3, CLIENT, HOST, ["T"], "", {"T": [0, 1]}, {"T": [0, 1]}, 1)],
    },
    "admin removal by instance id, unknown": ["UNKNOWN_MEMBER_ID"],
}


EXPECTED_REGEX: dict[str, Any] = {
    "join with a regex": (NONE, 1, {}),
    "resolved": (NONE, 2, {"A": [0, 1]}),
    "describe": {
        "error": NONE,
        "state": "Stable",
        "epoch": 2,
        "assignment epoch": 2,
        "assignor": "uniform",
        "members": [("r1", None, 2, CLIENT, HOST, [], "RX-.*", {"A": [0, 1]}, {"A": [0, 1]}, 1)],
    },
    "a new matching topic": (NONE, 3, {"A": [0, 1], "B": [0]}),
}


EXPECTED_SESSION: dict[str, Any] = {
    "x joins": (NONE, 1, {"T": [0, 1]}),
    "y joins": (NONE, 2, {}),
    "y alone after x expired": (NONE, 3, {"T": [0, 1]}),
    "expired after the session timeout": True,
    "x, fenced": ("UNKNOWN_MEMBER_ID", 0, None),
}


def test_dynamic_members(consumer_target: str) -> None:
    differences = _differences(dynamic_scenario(consumer_target), EXPECTED_DYNAMIC)
    assert not differences, "\n".join(differences)


def test_static_members(consumer_target: str) -> None:
    differences = _differences(static_scenario(consumer_target), EXPECTED_STATIC)
    assert not differences, "\n".join(differences)


def test_regex_subscription(consumer_target: str) -> None:
    differences = _differences(regex_scenario(consumer_target), EXPECTED_REGEX)
    assert not differences, "\n".join(differences)


def test_session_expiry(consumer_target: str) -> None:
    differences = _differences(session_scenario(consumer_target), EXPECTED_SESSION)
    assert not differences, "\n".join(differences)


def _partitions(assignment: bytes) -> list[int]:
    if len(assignment) < 2:
        return []
    version = int.from_bytes(assignment[:2], "big")
    decoded, _ = ConsumerProtocolAssignment.decode_from(assignment, 2, min(version, 3))
    return sorted(p for tp in decoded.assigned_partitions for p in tp.partitions)


def migration_scenario(bootstrap: str) -> dict[str, Any]:
    """A classic (JoinGroup) member inside a consumer group, then the group downgraded to a
    classic group when the last consumer-protocol member leaves, and upgraded again when one
    joins (``group.consumer.migration.policy=bidirectional``, Kafka's default)."""
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"cm-{suffix}", f"cmigrate-{suffix}"
    _topics(bootstrap, (topic, 4))
    s = ConsumerSession(bootstrap, group, topic)
    s.topic_id(topic, "T")
    seen: dict[str, Any] = {}
    seen["a joins"] = s.join("a", server_assignor="range")
    first = s.classic_join(instance_id="i-c")
    c = first.member_id
    s.aliases[c] = "C"  # the coordinator's id for it
    seen["classic c joins"] = (
        error_name(first.error_code),
        first.generation_id,
        first.protocol_type,
        first.protocol_name,
        first.leader,
        len(first.members),
        bool(c),
    )
    dynamic = s.classic_join()
    seen["dynamic classic join"] = (error_name(dynamic.error_code), bool(dynamic.member_id))
    seen["classic c, bad protocol"] = error_name(
        s.classic_join(c, instance_id="i-c", protocol="roundrobin").error_code
    )
    synced = s.sync(c, 2, instance_id="i-c")
    seen["c syncs"] = (error_name(synced.error_code), _partitions(synced.assignment))
    seen["c syncs, bad generation"] = error_name(s.sync(c, 1, instance_id="i-c").error_code)
    seen["c heartbeats, waiting"] = s.classic_heartbeat(c, 2, instance_id="i-c")
    seen["c heartbeats, bad generation"] = s.classic_heartbeat(c, 7, instance_id="i-c")
    seen["c heartbeats, fenced instance"] = s.classic_heartbeat("other", 2, instance_id="i-c")
    seen["a revokes"] = s.beat("a", 1, {"T": [0, 1, 2, 3]})
    seen["a revoked"] = s.beat("a", 1, {"T": [2, 3]})
    seen["c heartbeats, released"] = s.classic_heartbeat(c, 2, instance_id="i-c")
    rejoined = s.classic_join(c, instance_id="i-c")
    seen["c rejoins"] = (error_name(rejoined.error_code), rejoined.generation_id)
    synced = s.sync(c, 2, instance_id="i-c")
    seen["c gets its share"] = (error_name(synced.error_code), _partitions(synced.assignment))
    seen["describe, mixed"] = s.consumer_describe()
    seen["commit by c"] = s.commit({0: 3}, member_id=c, generation=2, instance_id="i-c")
    seen["commit by c, bad generation"] = s.commit(
        {0: 4}, member_id=c, generation=1, instance_id="i-c"
    )
    seen["describe groups, mixed"] = s.describe(6)
    seen["a leaves: downgrade"] = s.heartbeat(member_id="a", member_epoch=-1)
    seen["describe groups, downgraded"] = s.describe(6)
    seen["consumer describe, downgraded"] = s.consumer_describe()["error"]
    seen["c heartbeats, downgraded"] = s.classic_heartbeat(c, 2, instance_id="i-c")
    rejoined = s.classic_join(c, instance_id="i-c")
    seen["c rejoins the classic group"] = (
        error_name(rejoined.error_code),
        rejoined.generation_id,
        rejoined.leader == c,
        len(rejoined.members),
    )
    generation = rejoined.generation_id
    synced = s.sync(c, generation, {c: assignment(topic, [0, 1, 2, 3])}, instance_id="i-c")
    seen["c syncs the classic group"] = (
        error_name(synced.error_code),
        _partitions(synced.assignment),
    )
    seen["describe groups, classic"] = s.describe(6)
    seen["b joins: upgrade"] = s.join("b", server_assignor="range")
    seen["describe, upgraded"] = s.consumer_describe()
    seen["c heartbeats, upgraded"] = s.classic_heartbeat(c, generation, instance_id="i-c")
    rejoined = s.classic_join(c, instance_id="i-c")
    seen["c rejoins, upgraded"] = (error_name(rejoined.error_code), rejoined.generation_id)
    seen["classic leave of c"] = [
        error_name(m.error_code)
        for m in s.raw.call(
            LeaveGroupRequest(group_id=group, members=[LeaveGroupRequest.MemberIdentity(c, "i-c")]),
            5,
        ).members
    ]
    seen["describe, b alone"] = s.consumer_describe()
    s.close()
    return seen


EXPECTED_MIGRATION: dict[str, Any] = {
    "a joins": (NONE, 1, {"T": [0, 1, 2, 3]}),
    "classic c joins": (NONE, 2, "consumer", "range", "", 0, True),
    "dynamic classic join": ("MEMBER_ID_REQUIRED", True),
    "classic c, bad protocol": "INCONSISTENT_GROUP_PROTOCOL",
    "c syncs": (NONE, []),
    "c syncs, bad generation": "ILLEGAL_GENERATION",
    "c heartbeats, waiting": NONE,
    "c heartbeats, bad generation": "ILLEGAL_GENERATION",
    "c heartbeats, fenced instance": "FENCED_INSTANCE_ID",
    "a revokes": (NONE, 1, {"T": [2, 3]}),
    "a revoked": (NONE, 2, None),
    "c heartbeats, released": "REBALANCE_IN_PROGRESS",
    "c rejoins": (NONE, 2),
    "c gets its share": (NONE, [0, 1]),
    "describe, mixed": {
        "error": NONE,
        "state": "Stable",
        "epoch": 2,
        "assignment epoch": 2,
        "assignor": "range",
        "members": [
            ("C", "i-c", 2, CLIENT, HOST, ["T"], "", {"T": [0, 1]}, {"T": [0, 1]}, 0),
            ("a", None, 2, CLIENT, HOST, ["T"], "", {"T": [2, 3]}, {"T": [2, 3]}, 1),
        ],
    },
    "commit by c": {0: NONE},
    "commit by c, bad generation": {0: "ILLEGAL_GENERATION"},
    "describe groups, mixed": {
        "error": "GROUP_ID_NOT_FOUND",
        "state": "Dead",
        "protocol_type": "",
        "protocol": "",
        "members": [],
    },
    "a leaves: downgrade": (NONE, -1, None),
    "describe groups, downgraded": {
        "error": NONE,
        "state": "PreparingRebalance",
        "protocol_type": "consumer",
        "protocol": "",
        "members": [(CLIENT, HOST, "i-c", False)],
    },
    "consumer describe, downgraded": "GROUP_ID_NOT_FOUND",
    "c heartbeats, downgraded": "REBALANCE_IN_PROGRESS",
    "c rejoins the classic group": (NONE, 3, True, 1),
    "c syncs the classic group": (NONE, [0, 1, 2, 3]),
    "describe groups, classic": {
        "error": NONE,
        "state": "Stable",
        "protocol_type": "consumer",
        "protocol": "range",
        "members": [(CLIENT, HOST, "i-c", True)],
    },
    "b joins: upgrade": (NONE, 4, {}),
    "describe, upgraded": {
        "error": NONE,
        "state": "Reconciling",
        "epoch": 4,
        "assignment epoch": 4,
        "assignor": "range",
        "members": [
            ("C", "i-c", 3, CLIENT, HOST, ["T"], "", {"T": [0, 1, 2, 3]}, {"T": [0, 1]}, 0),
            ("b", None, 4, CLIENT, HOST, ["T"], "", {}, {"T": [2, 3]}, 1),
        ],
    },
    "c heartbeats, upgraded": "REBALANCE_IN_PROGRESS",
    "c rejoins, upgraded": (NONE, 4),
    "classic leave of c": [NONE],
    "describe, b alone": {
        "error": NONE,
        "state": "Assigning",
        "epoch": 5,
        "assignment epoch": 4,
        "assignor": "range",
        "members": [("b", None, 4, CLIENT, HOST, ["T"], "", {}, {"T": [2, 3]}, 1)],
    },
}


def test_classic_members_and_migration(consumer_target: str) -> None:
    differences = _differences(migration_scenario(consumer_target), EXPECTED_MIGRATION)
    assert not differences, "\n".join(differences)

"""The same raw group-protocol scenarios against rafka (one broker, three brokers) and the Apache
Kafka reference broker: the group states, generations, error codes and committed offsets each
step observes must be the same, and equal to what Kafka 4.1 answers (the expected values below
were taken from the reference broker).

Requests are sent with rafka's codec over plain sockets (``tests/interop/raw.py``); parked
JoinGroup/SyncGroup requests are sent on their own connection and received later.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from rafka.protocol.messages import (
    DeleteGroupsRequest,
    JoinGroupRequest,
    LeaveGroupRequest,
    OffsetDeleteRequest,
    SyncGroupRequest,
)
from tests.cluster.groups.session import Session, assignment, neighbour
from tests.interop.raw import RawClient, error_name

NONE = "NONE"


def dynamic_group_scenario(bootstrap: str) -> dict[str, Any]:
    """One dynamic member, then a second; commits good and bad; leave; delete."""
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"gt-{suffix}", f"group-{suffix}"
    seen: dict[str, Any] = {}
    with RawClient(bootstrap) as admin:
        assert admin.create_topic(topic, 2).error_code == 0
        admin.wait_for_leaders(topic)
    s = Session(bootstrap, group, topic)
    seen["describe unknown v5"] = s.describe(5)
    seen["describe unknown v6"] = s.describe(6)
    seen["heartbeat unknown group"] = s.heartbeat("nobody", 1)
    seen["commit unknown group, generation 1, v8"] = s.commit({0: 1}, member_id="m", generation=1)
    seen["commit unknown group, generation 1, v9"] = s.commit(
        {0: 1}, member_id="m", generation=1, version=9
    )
    bad_session = s.raw.call(
        JoinGroupRequest(
            group_id=group,
            session_timeout_ms=1,
            member_id="",
            protocol_type="consumer",
            protocols=[JoinGroupRequest.JoinGroupRequestProtocol("range", b"")],
        ),
        9,
    )
    seen["join with a 1 ms session"] = error_name(bad_session.error_code)
    first = s.join()
    seen["first join"] = (error_name(first.error_code), bool(first.member_id))
    a = first.member_id
    joined = s.join(a)
    seen["second join"] = (
        error_name(joined.error_code),
        joined.generation_id,
        joined.leader == a,
        joined.protocol_type,
        joined.protocol_name,
        [m.member_id == a for m in joined.members],
    )
    seen["describe while completing"] = s.describe()
    synced = s.sync(a, 1, {a: assignment(topic, [0, 1])})
    seen["leader sync"] = (
        error_name(synced.error_code),
        synced.assignment == assignment(topic, [0, 1]),
    )
    seen["describe stable"] = s.describe()
    seen["sync, wrong protocol name"] = error_name(s.sync(a, 1, protocol="roundrobin").error_code)
    seen["heartbeat"] = s.heartbeat(a, 1)
    seen["heartbeat, stale generation"] = s.heartbeat(a, 0)
    seen["heartbeat, unknown member"] = s.heartbeat("nobody", 1)
    seen["heartbeat, instance id of nobody"] = s.heartbeat(a, 1, instance_id="ghost")
    seen["commit"] = s.commit({0: 5, 1: 6}, member_id=a, generation=1)
    seen["commit, metadata too large (1 of 2)"] = s.commit(
        {0: 100}, member_id=a, generation=1, metadata="x" * 5000
    )
    seen["commit, stale generation"] = s.commit({0: 100}, member_id=a, generation=0)
    seen["commit, unknown member"] = s.commit({0: 100}, member_id="nobody", generation=1)
    seen["commit, simple, to a stable group"] = s.commit({0: 100})
    seen["commit, missing topic"] = s.commit(
        {0: 100}, member_id=a, generation=1, topic=f"missing-{suffix}"
    )
    seen["commit, missing partition"] = s.commit({9: 100}, member_id=a, generation=1)
    seen["committed after bad commits"] = s.committed()
    seen["listed as Stable"] = s.listed(["Stable"])
    seen["listed as stable, classic"] = s.listed(["stable"], ["classic"])
    seen["listed as Empty"] = s.listed(["Empty"])
    seen["listed as consumer type"] = s.listed([], ["consumer"])
    seen["listed entry"] = s.listed_entry()
    delete = s.raw.call(DeleteGroupsRequest([group]), 2)
    seen["delete non-empty"] = error_name(delete.results[0].error_code)

    # A second member joins: the group rebalances around the first member.
    b_raw = s.connect()
    correlation = b_raw.send(s.join_request(), 9)
    b_first = b_raw.receive(11, 9, correlation)
    b = b_first.member_id
    correlation = b_raw.send(s.join_request(b), 9)  # parked until a rejoins
    time.sleep(0.2)
    seen["heartbeat while b joins"] = s.heartbeat(a, 1)
    seen["describe preparing"] = s.describe()
    seen["sync while preparing"] = error_name(s.sync(a, 1).error_code)
    rejoined = s.join(a)
    b_joined = b_raw.receive(11, 9, correlation)
    seen["rebalance"] = (
        error_name(rejoined.error_code),
        rejoined.generation_id,
        b_joined.generation_id,
        rejoined.leader == a,
        len(rejoined.members),
        len(b_joined.members),
    )
    correlation = b_raw.send(
        SyncGroupRequest(
            group_id=group,
            generation_id=2,
            member_id=b,
            protocol_type="consumer",
            protocol_name="range",
        ),
        5,
    )
    time.sleep(0.2)
    s.sync(a, 2, {a: assignment(topic, [0]), b: assignment(topic, [1])})
    b_synced = b_raw.receive(14, 5, correlation)
    seen["follower sync"] = (
        error_name(b_synced.error_code),
        b_synced.assignment == assignment(topic, [1]),
    )
    seen["commit, previous generation"] = s.commit({0: 7}, member_id=a, generation=1)
    seen["commit, new generation"] = s.commit({0: 8}, member_id=a, generation=2)
    leave = s.raw.call(
        LeaveGroupRequest(
            group_id=group,
            members=[
                LeaveGroupRequest.MemberIdentity(b, None),
                LeaveGroupRequest.MemberIdentity("nobody", None),
            ],
        ),
        5,
    )
    seen["leave"] = (
        error_name(leave.error_code),
        [error_name(m.error_code) for m in leave.members],
    )
    seen["describe after b left"] = s.describe()
    leave_v2 = s.raw.call(LeaveGroupRequest(group_id=group, member_id=a), 2)
    seen["leave v2"] = error_name(leave_v2.error_code)
    seen["describe empty"] = s.describe()
    seen["heartbeat, empty group"] = s.heartbeat(a, 3)
    seen["commit, simple, to an empty group"] = s.commit({1: 9})
    seen["committed"] = s.committed()
    offset_delete = s.raw.call(
        OffsetDeleteRequest(
            group_id=group,
            topics=[
                OffsetDeleteRequest.OffsetDeleteRequestTopic(
                    topic, [OffsetDeleteRequest.OffsetDeleteRequestPartition(1)]
                ),
                OffsetDeleteRequest.OffsetDeleteRequestTopic(
                    f"missing-{suffix}", [OffsetDeleteRequest.OffsetDeleteRequestPartition(0)]
                ),
            ],
        ),
        0,
    )
    seen["offset delete"] = (
        error_name(offset_delete.error_code),
        sorted(
            (t.name == topic, [error_name(p.error_code) for p in t.partitions])
            for t in offset_delete.topics
        ),
    )
    seen["committed after offset delete"] = s.committed()
    delete = s.raw.call(DeleteGroupsRequest([group, group, neighbour(group)]), 2)
    seen["delete"] = sorted((r.group_id == group, error_name(r.error_code)) for r in delete.results)
    seen["describe deleted v6"] = s.describe(6)
    seen["committed after delete"] = s.committed()
    b_raw.close()
    s.close()
    return seen


def static_group_scenario(bootstrap: str) -> dict[str, Any]:
    """Static membership: no member id round trip, replacement, fencing."""
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"st-{suffix}", f"static-{suffix}"
    seen: dict[str, Any] = {}
    with RawClient(bootstrap) as admin:
        assert admin.create_topic(topic, 2).error_code == 0
        admin.wait_for_leaders(topic)
    s = Session(bootstrap, group, topic)
    first = s.join(instance_id="i-1")
    old = first.member_id
    seen["static join"] = (error_name(first.error_code), first.generation_id, first.leader == old)
    seen["static sync"] = error_name(
        s.sync(old, 1, {old: assignment(topic, [0, 1])}, "i-1").error_code
    )
    again = s.join(instance_id="i-1")
    new = again.member_id
    seen["static rejoin, new id"] = (
        error_name(again.error_code),
        new != old,
        again.generation_id,
        again.skip_assignment,
        again.leader == new,
    )
    seen["describe after replacement"] = s.describe()
    seen["heartbeat, old id"] = s.heartbeat(old, 1, instance_id="i-1")
    seen["heartbeat, new id"] = s.heartbeat(new, 1, instance_id="i-1")
    seen["heartbeat, new id, other instance"] = s.heartbeat(new, 1, instance_id="i-2")
    seen["commit, fenced"] = s.commit({0: 3}, member_id=old, generation=1, instance_id="i-1")
    seen["commit, static"] = s.commit({0: 4}, member_id=new, generation=1, instance_id="i-1")
    seen["sync, new id"] = error_name(s.sync(new, 1, instance_id="i-1").error_code)
    leave = s.raw.call(
        LeaveGroupRequest(group_id=group, members=[LeaveGroupRequest.MemberIdentity("", "i-1")]),
        5,
    )
    seen["admin removal by instance id"] = [error_name(m.error_code) for m in leave.members]
    seen["describe after removal"] = s.describe()
    seen["committed"] = s.committed()
    s.close()
    return seen


EXPECTED_DYNAMIC: dict[str, Any] = {
    "describe unknown v5": {
        "error": NONE,
        "state": "Dead",
        "protocol_type": "",
        "protocol": "",
        "members": [],
    },
    "describe unknown v6": {
        "error": "GROUP_ID_NOT_FOUND",
        "state": "Dead",
        "protocol_type": "",
        "protocol": "",
        "members": [],
    },
    "heartbeat unknown group": "UNKNOWN_MEMBER_ID",
    "commit unknown group, generation 1, v8": {0: "ILLEGAL_GENERATION"},
    "commit unknown group, generation 1, v9": {0: "GROUP_ID_NOT_FOUND"},
    "join with a 1 ms session": "INVALID_SESSION_TIMEOUT",
    "first join": ("MEMBER_ID_REQUIRED", True),
    "second join": (NONE, 1, True, "consumer", "range", [True]),
    "describe while completing": {
        "error": NONE,
        "state": "CompletingRebalance",
        "protocol_type": "consumer",
        "protocol": "",
        "members": [("rafka-interop", "/127.0.0.1", None, False)],
    },
    "leader sync": (NONE, True),
    "describe stable": {
        "error": NONE,
        "state": "Stable",
        "protocol_type": "consumer",
        "protocol": "range",
        "members": [("rafka-interop", "/127.0.0.1", None, True)],
    },
    "sync, wrong protocol name": "INCONSISTENT_GROUP_PROTOCOL",
    "heartbeat": NONE,
    "heartbeat, stale generation": "ILLEGAL_GENERATION",
    "heartbeat, unknown member": "UNKNOWN_MEMBER_ID",
    "heartbeat, instance id of nobody": "UNKNOWN_MEMBER_ID",
    "commit": {0: NONE, 1: NONE},
    "commit, metadata too large (1 of 2)": {0: "OFFSET_METADATA_TOO_LARGE"},
    "commit, stale generation": {0: "ILLEGAL_GENERATION"},
    "commit, unknown member": {0: "UNKNOWN_MEMBER_ID"},
    "commit, simple, to a stable group": {0: "UNKNOWN_MEMBER_ID"},
    "commit, missing topic": {0: "UNKNOWN_TOPIC_OR_PARTITION"},
    "commit, missing partition": {9: "UNKNOWN_TOPIC_OR_PARTITION"},
    "committed after bad commits": {0: (5, 7, "m"), 1: (6, 7, "m")},
    "listed as Stable": True,
    "listed as stable, classic": True,
    "listed as Empty": False,
    "listed as consumer type": False,
    "listed entry": ("Stable", "classic", "consumer"),
    "delete non-empty": "NON_EMPTY_GROUP",
    "heartbeat while b joins": "REBALANCE_IN_PROGRESS",
    "describe preparing": {
        "error": NONE,
        "state": "PreparingRebalance",
        "protocol_type": "consumer",
        "protocol": "",
        "members": [
            ("rafka-interop", "/127.0.0.1", None, False),
            ("rafka-interop", "/127.0.0.1", None, False),
        ],
    },
    "sync while preparing": "REBALANCE_IN_PROGRESS",
    "rebalance": (NONE, 2, 2, True, 2, 0),
    "follower sync": (NONE, True),
    "commit, previous generation": {0: "ILLEGAL_GENERATION"},
    "commit, new generation": {0: NONE},
    "leave": (NONE, [NONE, "UNKNOWN_MEMBER_ID"]),
    "describe after b left": {
        "error": NONE,
        "state": "PreparingRebalance",
        "protocol_type": "consumer",
        "protocol": "",
        "members": [("rafka-interop", "/127.0.0.1", None, False)],
    },
    "leave v2": NONE,
    "describe empty": {
        "error": NONE,
        "state": "Empty",
        "protocol_type": "consumer",
        "protocol": "",
        "members": [],
    },
    "heartbeat, empty group": "UNKNOWN_MEMBER_ID",
    "commit, simple, to an empty group": {1: NONE},
    "committed": {0: (8, 7, "m"), 1: (9, 7, "m")},
    "offset delete": (NONE, [(False, ["UNKNOWN_TOPIC_OR_PARTITION"]), (True, [NONE])]),
    "committed after offset delete": {0: (8, 7, "m"), 1: (-1, -1, "")},
    "delete": [(False, "GROUP_ID_NOT_FOUND"), (True, NONE)],
    "describe deleted v6": {
        "error": "GROUP_ID_NOT_FOUND",
        "state": "Dead",
        "protocol_type": "",
        "protocol": "",
        "members": [],
    },
    "committed after delete": {0: (-1, -1, ""), 1: (-1, -1, "")},
}

EXPECTED_STATIC: dict[str, Any] = {
    "static join": (NONE, 1, True),
    "static sync": NONE,
    "static rejoin, new id": (NONE, True, 1, True, True),
    "describe after replacement": {
        "error": NONE,
        "state": "Stable",
        "protocol_type": "consumer",
        "protocol": "range",
        "members": [("rafka-interop", "/127.0.0.1", "i-1", True)],
    },
    "heartbeat, old id": "FENCED_INSTANCE_ID",
    "heartbeat, new id": NONE,
    "heartbeat, new id, other instance": "UNKNOWN_MEMBER_ID",
    "commit, fenced": {0: "FENCED_INSTANCE_ID"},
    "commit, static": {0: NONE},
    "sync, new id": NONE,
    "admin removal by instance id": [NONE],
    "describe after removal": {
        "error": NONE,
        "state": "Empty",
        "protocol_type": "consumer",
        "protocol": "",
        "members": [],
    },
    "committed": {0: (4, 7, "m"), 1: (-1, -1, "")},
}


def _differences(seen: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    return [
        f"{step}: got {seen.get(step)!r}, expected {value!r}"
        for step, value in expected.items()
        if seen.get(step) != value
    ]


def test_dynamic_group(target: str) -> None:
    differences = _differences(dynamic_group_scenario(target), EXPECTED_DYNAMIC)
    assert not differences, "\n".join(differences)


def test_static_group(target: str) -> None:
    differences = _differences(static_group_scenario(target), EXPECTED_STATIC)
    assert not differences, "\n".join(differences)

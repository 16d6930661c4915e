"""Real clients as group members, each in its own process, and the checks run on a group.

:class:`Member` starts one member (the Python clients through :mod:`tests.cluster.groups.member`,
kafka-clients through the Java driver's ``group-consume``) and follows its JSON lines;
``stop()`` is a clean leave (SIGTERM), ``kill()`` a death without leaving (SIGKILL).

The checks look at both sides: what each live member says it owns, and what the coordinator
stored (DescribeGroups, decoding each member's assignment), asked over the wire so the same
scenario runs against rafka and Apache Kafka. After a rebalance settles, no partition may be
owned twice and none may be orphaned, on either side.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import rafka
from rafka.protocol.messages import (
    ConsumerGroupDescribeRequest,
    ConsumerProtocolAssignment,
    DescribeGroupsRequest,
    OffsetFetchRequest,
)
from tests.cluster.groups.session import Session
from tests.peers.clients import DriverProcess

ROOT = Path(__file__).resolve().parents[3]
PYTHON_CLIENTS = ("confluent-kafka", "kafka-python", "aiokafka")
PARTITIONS = 6


def create_topic(bootstrap: str, topic: str, replication: int = 1) -> None:
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, replication)])[topic].result(20)


def member_command(client: str, bootstrap: str, group: str, topic: str, **opts: Any) -> list[str]:
    session_ms = str(opts.get("session_ms", 3000))
    heartbeat_ms = str(opts.get("heartbeat_ms", 500))
    instance = opts.get("instance_id")
    protocol = opts.get("group_protocol", "classic")
    if client == "java":
        from tests.peers.java import build_java
        from tests.peers.java_clients import CLIENT_JVM_ARGS

        java = shutil.which("java") or "java"
        cmd = [java, *CLIENT_JVM_ARGS, "-cp", build_java(), "rafka.peer.Clients", "group-consume"]
        cmd += ["--bootstrap", bootstrap, "--topic", topic, "--group", group]
        cmd += ["--session-ms", session_ms, "--heartbeat-ms", heartbeat_ms]
        cmd += ["--group-protocol", protocol]
        return cmd + (["--instance-id", instance] if instance else [])
    cmd = [sys.executable, "-m", "tests.cluster.groups.member", "--client", client]
    cmd += ["--bootstrap", bootstrap, "--group", group, "--topic", topic]
    cmd += ["--session-ms", session_ms, "--heartbeat-ms", heartbeat_ms]
    cmd += ["--group-protocol", protocol]
    return cmd + (["--instance-id", instance] if instance else [])


class Member(DriverProcess):
    """One group member process and what it has said so far."""

    def __init__(self, client: str, bootstrap: str, group: str, topic: str, **opts: Any) -> None:
        self.client = client
        command = member_command(client, bootstrap, group, topic, **opts)
        super().__init__(command, f"{client} member of {group}", cwd=str(ROOT))

    def events(self, kind: str) -> list[dict[str, Any]]:
        return self.of_type(kind)

    def assignment(self) -> set[int] | None:
        """What the member owns now, by its own account (None before its first rebalance)."""
        owned: set[int] | None = None
        for line in self.lines:
            if line["type"] == "assigned":
                owned = set(line["partitions"])
            elif line["type"] == "revoked" and owned is not None:
                owned -= set(line["partitions"])
        return owned

    def consumed(self) -> set[tuple[int, int]]:
        return {(line["partition"], line["offset"]) for line in self.events("record")}

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 30) -> int:
        """Leave the group cleanly (SIGTERM) and wait for the process to end."""
        status = super().stop(timeout)
        assert self.events("closed"), f"{self.client} did not close cleanly: {self.stderr()}"
        return status

    def kill(self) -> None:
        """Die without leaving the group."""
        self.close()


# ---------------------------------------------------------------------------- coordinator view


class GroupView:
    """The coordinator's view of one group, asked over the wire (DescribeGroups, or
    ConsumerGroupDescribe for a ``consumer`` protocol group; OffsetFetch), so the same checks
    run against rafka and against Apache Kafka."""

    def __init__(self, bootstrap: str, group_id: str, protocol: str = "classic") -> None:
        self.group_id = group_id
        self.protocol = protocol
        self.session = Session(bootstrap, group_id, "")

    def describe(self) -> tuple[str, list[set[int]]]:
        """The group's state and each member's assignment as the coordinator stored it (for
        a consumer group: what each member owns now)."""
        if self.protocol == "consumer":
            request = ConsumerGroupDescribeRequest(group_ids=[self.group_id])
            (described,) = self.session.raw.call(request, 1).groups
            if described.error_code == 69:  # GROUP_ID_NOT_FOUND: not created yet, or deleted
                return "Dead", []
            assert described.error_code == 0, described
            return described.group_state, [
                {p for tp in m.assignment.topic_partitions for p in tp.partitions}
                for m in described.members
            ]
        response = self.session.raw.call(DescribeGroupsRequest(groups=[self.group_id]), 5)
        (group,) = response.groups
        owned = []
        for member in group.members:
            partitions: set[int] = set()
            if len(member.member_assignment) > 2:
                decoded, _ = ConsumerProtocolAssignment.decode_from(member.member_assignment, 2, 0)
                for tp in decoded.assigned_partitions:
                    partitions.update(tp.partitions)
            owned.append(partitions)
        return group.group_state, owned

    def state(self) -> str:
        return self.describe()[0]

    def committed(self, topic: str) -> dict[int, int]:
        request = OffsetFetchRequest(
            groups=[OffsetFetchRequest.OffsetFetchRequestGroup(group_id=self.group_id, topics=None)]
        )
        (group,) = self.session.raw.call(request, 8).groups
        assert group.error_code == 0, group.error_code
        return {
            p.partition_index: p.committed_offset
            for t in group.topics
            if t.name == topic
            for p in t.partitions
        }

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> GroupView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def partitions_exactly_covered(owned: list[set[int]], partitions: int) -> bool:
    """Every partition owned by exactly one of ``owned``."""
    return sum(len(o) for o in owned) == partitions and set().union(*owned) == set(
        range(partitions)
    )


def wait_until(condition: Callable[[], bool], timeout: float, describe: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {describe()}")
        time.sleep(0.05)


def wait_settled(
    view: GroupView, members: list[Member], partitions: int, timeout: float = 40
) -> None:
    """Wait until the group is Stable with exactly ``members`` and, on both the coordinator's
    and the members' side, every partition has exactly one owner."""

    def settled() -> bool:
        state, stored = view.describe()
        views = [m.assignment() for m in members]
        return (
            state == "Stable"
            and len(stored) == len(members)
            and partitions_exactly_covered(stored, partitions)
            and all(v is not None for v in views)
            and partitions_exactly_covered([v or set() for v in views], partitions)
        )

    def describe() -> str:
        state, stored = view.describe()
        views = [(m.client, m.alive, m.assignment()) for m in members]
        # The log of every member that is dead or owns nothing says why.
        stderr = "".join(
            f"\n--- member {i} ({m.client}) stderr:\n{m.stderr(8000)}"
            for i, m in enumerate(members)
            if not m.alive or not m.assignment()
        )
        return f"coordinator {state} {stored}; members {views}{stderr}"

    wait_until(settled, timeout, describe)


#: The requests that make a group's membership, for the account :func:`journal_on_failure` gives.
GROUP_APIS = ("JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup", "ConsumerGroupHeartbeat")


def group_calls(cluster: rafka.Cluster) -> str:
    """One line per membership request the cluster's journal holds: when, from which client
    and connection, which member and generation, and how it was answered."""
    entries = [e for e in cluster.journal if e.api in GROUP_APIS]
    if not entries:
        return "(no group requests journaled)"
    t0 = entries[0].start
    lines = []
    for e in entries:
        request, response = e.request, e.response
        member = getattr(request, "member_id", None)
        generation = getattr(request, "generation_id", getattr(request, "member_epoch", ""))
        error = getattr(response, "error_code", None) if response is not None else None
        took = "" if e.duration is None else f" {e.duration * 1000:.0f}ms"
        lines.append(
            f"+{e.start - t0:7.3f}s {e.api:<22} {e.client_id} {e.peer} member={member} "
            f"gen={generation} -> {e.outcome} error={error}{took}"
        )
    return "\n".join(lines)


@contextlib.contextmanager
def journal_on_failure(cluster: rafka.Cluster) -> Iterator[None]:
    """Journal the block's requests; if it fails, add the coordinator's side of the story
    (every membership request and its answer) to the assertion."""
    journal = cluster.journal
    journal.clear()
    journal.start()
    try:
        yield
    except AssertionError as exc:
        journal.stop()  # nothing is appended while the entries are read
        raise AssertionError(f"{exc}\n--- group requests:\n{group_calls(cluster)}") from exc
    finally:
        journal.stop()
    journal.clear()

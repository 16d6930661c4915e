"""A raw client of one group's coordinator: each group API as one call, answers as plain
values (error names, offsets), for scenarios compared between rafka and Apache Kafka."""

from __future__ import annotations

import time
from typing import Any

from rafka.cluster.groups.topic import partition_for
from rafka.protocol.messages import (
    ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
    DescribeGroupsRequest,
    FindCoordinatorRequest,
    HeartbeatRequest,
    JoinGroupRequest,
    ListGroupsRequest,
    OffsetCommitRequest,
    OffsetFetchRequest,
    SyncGroupRequest,
)
from tests.interop.raw import RawClient, error_name

SESSION_MS = 10_000


def subscription(topic: str) -> bytes:
    return b"\x00\x00" + ConsumerProtocolSubscription(topics=[topic]).encode(0)


def assignment(topic: str, partitions: list[int]) -> bytes:
    value = ConsumerProtocolAssignment(
        assigned_partitions=[ConsumerProtocolAssignment.TopicPartition(topic, partitions)]
    )
    return b"\x00\x00" + value.encode(0)


def neighbour(group: str) -> str:
    """A group id in the same ``__consumer_offsets`` partition as ``group`` (so the same
    coordinator answers for both) with 50 partitions (rafka's default) as with 1."""
    for i in range(10_000):
        candidate = f"{group}-n{i}"
        if partition_for(candidate, 50) == partition_for(group, 50):
            return candidate
    raise AssertionError("no neighbour found")


class Session:
    """A client of one group's coordinator, with helpers for each group API."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.group, self.topic = group, topic
        with RawClient(bootstrap) as raw:
            deadline = time.monotonic() + 30
            while True:  # Kafka creates __consumer_offsets on the first lookup: retry
                found = raw.call(FindCoordinatorRequest(key_type=0, coordinator_keys=[group]), 4)
                (coordinator,) = found.coordinators
                if coordinator.error_code == 0:
                    break
                assert time.monotonic() < deadline, error_name(coordinator.error_code)
                time.sleep(0.2)
        self.address = f"{coordinator.host}:{coordinator.port}"
        self.raw = RawClient(self.address)
        while True:  # and the coordinator may still be loading the partition
            described = self.raw.call(DescribeGroupsRequest(groups=[group]), 5)
            if described.groups[0].error_code not in (14, 16):
                break
            assert time.monotonic() < deadline, error_name(described.groups[0].error_code)
            time.sleep(0.2)

    def connect(self) -> RawClient:
        return RawClient(self.address)

    def join_request(
        self, member_id: str = "", instance_id: str | None = None, protocol: str = "range"
    ) -> JoinGroupRequest:
        return JoinGroupRequest(
            group_id=self.group,
            session_timeout_ms=SESSION_MS,
            rebalance_timeout_ms=SESSION_MS,
            member_id=member_id,
            group_instance_id=instance_id,
            protocol_type="consumer",
            protocols=[
                JoinGroupRequest.JoinGroupRequestProtocol(protocol, subscription(self.topic))
            ],
        )

    def join(self, member_id: str = "", instance_id: str | None = None, **kw: Any) -> Any:
        return self.raw.call(self.join_request(member_id, instance_id, **kw), 9)

    def sync(
        self,
        member_id: str,
        generation: int,
        assignments: dict[str, bytes] | None = None,
        instance_id: str | None = None,
        protocol: str = "range",
        raw: RawClient | None = None,
    ) -> Any:
        request = SyncGroupRequest(
            group_id=self.group,
            generation_id=generation,
            member_id=member_id,
            group_instance_id=instance_id,
            protocol_type="consumer",
            protocol_name=protocol,
            assignments=[
                SyncGroupRequest.SyncGroupRequestAssignment(m, a)
                for m, a in (assignments or {}).items()
            ],
        )
        return (raw or self.raw).call(request, 5)

    def heartbeat(self, member_id: str, generation: int, instance_id: str | None = None) -> str:
        response = self.raw.call(
            HeartbeatRequest(self.group, generation, member_id, instance_id), 4
        )
        return error_name(response.error_code)

    def commit(
        self,
        offsets: dict[int, int],
        *,
        member_id: str = "",
        generation: int = -1,
        instance_id: str | None = None,
        metadata: str = "m",
        topic: str | None = None,
        version: int = 8,
    ) -> dict[int, str]:
        request = OffsetCommitRequest(
            group_id=self.group,
            generation_id_or_member_epoch=generation,
            member_id=member_id,
            group_instance_id=instance_id,
            topics=[
                OffsetCommitRequest.OffsetCommitRequestTopic(
                    name=topic or self.topic,
                    partitions=[
                        OffsetCommitRequest.OffsetCommitRequestPartition(p, o, 7, metadata)
                        for p, o in offsets.items()
                    ],
                )
            ],
        )
        response = self.raw.call(request, version)
        return {p.partition_index: error_name(p.error_code) for p in response.topics[0].partitions}

    def committed(self) -> dict[int, tuple[int, int, str | None]]:
        request = OffsetFetchRequest(
            groups=[
                OffsetFetchRequest.OffsetFetchRequestGroup(
                    group_id=self.group,
                    topics=[
                        OffsetFetchRequest.OffsetFetchRequestTopics(
                            name=self.topic, partition_indexes=[0, 1]
                        )
                    ],
                )
            ]
        )
        response = self.raw.call(request, 9)
        (group,) = response.groups
        assert group.error_code == 0
        return {
            p.partition_index: (p.committed_offset, p.committed_leader_epoch, p.metadata)
            for p in group.topics[0].partitions
        }

    def describe(self, version: int = 5) -> dict[str, Any]:
        response = self.raw.call(DescribeGroupsRequest(groups=[self.group]), version)
        (group,) = response.groups
        return {
            "error": error_name(group.error_code),
            "state": group.group_state,
            "protocol_type": group.protocol_type,
            "protocol": group.protocol_data,
            "members": sorted(
                (m.client_id, m.client_host, m.group_instance_id, bool(m.member_metadata))
                for m in group.members
            ),
        }

    def listed(self, states: list[str], types: list[str] | None = None) -> bool:
        response = self.raw.call(
            ListGroupsRequest(states_filter=states, types_filter=types or []), 5
        )
        return self.group in {g.group_id for g in response.groups}

    def listed_entry(self) -> tuple[str, str, str] | None:
        """(state, type, protocol type) of the group in ListGroups v5, or None."""
        response = self.raw.call(ListGroupsRequest(), 5)
        for g in response.groups:
            if g.group_id == self.group:
                return (g.group_state, g.group_type, g.protocol_type)
        return None

    def close(self) -> None:
        self.raw.close()

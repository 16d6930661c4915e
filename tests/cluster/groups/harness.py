"""A group shard on a manual clock, with a fake log: the state machine without any I/O.

``ShardHarness`` writes every result's records to an in-memory list (as if committed at once),
replays them when the result asks for it, and runs due timers when the clock is advanced, so a
45 s session timeout is one ``advance(45_000)`` call.
"""

from __future__ import annotations

import random
from typing import Any

from rafka.cluster.groups.classic_group import ClassicGroup, ClassicGroupState
from rafka.cluster.groups.classic_protocol import JoinContext
from rafka.cluster.groups.records import CoordinatorRecord, decode_record
from rafka.cluster.groups.result import CoordinatorResult, Reply
from rafka.cluster.groups.shard import GroupConfig, GroupShard, random_member_ids
from rafka.errors import KafkaError
from rafka.protocol.messages import (
    HeartbeatRequest,
    JoinGroupRequest,
    JoinGroupResponse,
    LeaveGroupRequest,
    OffsetCommitRequest,
    SyncGroupRequest,
    SyncGroupResponse,
)
from rafka.storage.clock import ManualClock

START_MS = 1_700_000_000_000


class ShardHarness:
    def __init__(self, **config: Any) -> None:
        config.setdefault("initial_rebalance_delay_ms", 0)
        self.config = GroupConfig(**config)
        self.clock = ManualClock(START_MS)
        self.shard = GroupShard(0, self.config, self.clock, random_member_ids(random.Random(5)))
        #: Every record written, encoded as it would be in the log: (key, value).
        self.log: list[tuple[bytes, bytes | None]] = []
        #: Set to a KafkaError to make the next writes fail.
        self.fail_writes: KafkaError | None = None
        self.shard.on_loaded()

    # -------------------------------------------------------------------------- plumbing

    def run(self, result: CoordinatorResult[Any]) -> Any:
        """Write a result's records (or fail them), replay, call its callback; its response."""
        if result.records and self.fail_writes is not None:
            if result.on_written is not None:
                result.on_written(self.fail_writes)
            raise self.fail_writes
        for record in result.records:
            self.append(record, replay=result.replay)
        if result.on_written is not None:
            result.on_written(None)
        return result.response

    def append(self, record: CoordinatorRecord, *, replay: bool) -> None:
        offset = len(self.log)
        key, value = record.encode_key(), record.encode_value()
        self.log.append((key, value))
        if replay:
            self.shard.replay_committed(decode_record(key, value), offset)

    def advance(self, ms: int) -> None:
        """Move the clock and run every timer due by then, in order."""
        self.clock.advance(ms)
        while (operation := self.shard.timer.pop_expired(self.clock.monotonic_ms())) is not None:
            self.run(operation())

    def group(self, group_id: str = "g") -> ClassicGroup:
        group = self.shard.groups[group_id]
        assert isinstance(group, ClassicGroup)
        return group

    # -------------------------------------------------------------------------- requests

    def join(
        self,
        member_id: str = "",
        *,
        group_id: str = "g",
        instance_id: str | None = None,
        protocols: tuple[tuple[str, bytes], ...] = (("range", b"r1"),),
        protocol_type: str = "consumer",
        session_ms: int = 10_000,
        rebalance_ms: int = 30_000,
        version: int = 9,
        client_id: str = "client",
    ) -> Reply[JoinGroupResponse]:
        reply: Reply[JoinGroupResponse] = Reply()
        request = JoinGroupRequest(
            group_id=group_id,
            session_timeout_ms=session_ms,
            rebalance_timeout_ms=rebalance_ms,
            member_id=member_id,
            group_instance_id=instance_id,
            protocol_type=protocol_type,
            protocols=[JoinGroupRequest.JoinGroupRequestProtocol(n, m) for n, m in protocols],
        )
        ctx = JoinContext(client_id, "/127.0.0.1", version)
        self.run(self.shard.join(ctx, request, reply))
        return reply

    def join_new(self, **kwargs: Any) -> Reply[JoinGroupResponse]:
        """Join with an unknown id, then again with the id the coordinator asked for."""
        first = self.join(**kwargs)
        assert first.done
        response = first.result()
        if response.error_code == 79:  # MEMBER_ID_REQUIRED
            return self.join(response.member_id, **kwargs)
        return first

    def sync(
        self,
        member_id: str,
        generation: int,
        assignments: dict[str, bytes] | None = None,
        *,
        group_id: str = "g",
        instance_id: str | None = None,
    ) -> Reply[SyncGroupResponse]:
        reply: Reply[SyncGroupResponse] = Reply()
        request = SyncGroupRequest(
            group_id=group_id,
            generation_id=generation,
            member_id=member_id,
            group_instance_id=instance_id,
            protocol_type="consumer",
            assignments=[
                SyncGroupRequest.SyncGroupRequestAssignment(m, a)
                for m, a in (assignments or {}).items()
            ],
        )
        self.run(self.shard.sync(request, reply))
        return reply

    def heartbeat(
        self,
        member_id: str,
        generation: int,
        *,
        group_id: str = "g",
        instance_id: str | None = None,
    ) -> int:
        try:
            return self.shard.heartbeat(
                HeartbeatRequest(group_id, generation, member_id, instance_id)
            )
        except KafkaError as exc:
            return exc.code

    def leave(self, *members: tuple[str, str | None], group_id: str = "g") -> Any:
        identities = [LeaveGroupRequest.MemberIdentity(m, i) for m, i in members]
        return self.run(self.shard.leave_group(group_id, identities))

    def commit(
        self,
        offsets: dict[tuple[str, int], int],
        *,
        group_id: str = "g",
        generation: int = -1,
        member_id: str = "",
        instance_id: str | None = None,
        metadata: str | None = "",
        version: int = 9,
        retention_ms: int = -1,
    ) -> dict[tuple[str, int], int]:
        """Commit; per partition, its error code (all the group-level error's on failure)."""
        by_topic: dict[str, list[OffsetCommitRequest.OffsetCommitRequestPartition]] = {}
        for (topic, partition), offset in offsets.items():
            by_topic.setdefault(topic, []).append(
                OffsetCommitRequest.OffsetCommitRequestPartition(partition, offset, 3, metadata)
            )
        request = OffsetCommitRequest(
            group_id=group_id,
            generation_id_or_member_epoch=generation,
            member_id=member_id,
            group_instance_id=instance_id,
            retention_time_ms=retention_ms,
            topics=[
                OffsetCommitRequest.OffsetCommitRequestTopic(t, partitions=ps)
                for t, ps in by_topic.items()
            ],
        )
        try:
            response = self.run(self.shard.offsets.commit(request, version, self.clock.time_ms()))
        except KafkaError as exc:
            return {tp: exc.code for tp in offsets}
        return {
            (t.name, p.partition_index): p.error_code for t in response.topics for p in t.partitions
        }

    def committed(self, group_id: str = "g") -> dict[tuple[str, int], int]:
        return {
            (topic, partition): stored.offset
            for topic, partitions in self.shard.offsets.offsets.get(group_id, {}).items()
            for partition, stored in partitions.items()
        }


def stable_group(h: ShardHarness, size: int, session_ms: int = 10_000) -> list[str]:
    """Join ``size`` members one by one into a Stable group; their member ids."""
    members: list[str] = []
    for _ in range(size):
        reply = h.join_new(session_ms=session_ms)
        # the others rejoin the rebalance the new member started
        rejoins = [h.join(m, session_ms=session_ms) for m in members]
        h.advance(0)
        assert reply.done, "the join completes once everyone is in"
        members.append(reply.result().member_id)
        assert all(r.done for r in rejoins)
    group = h.group()
    generation = group.generation_id
    leader = group.leader_id
    assert leader is not None
    syncs = [h.sync(m, generation) for m in members if m != leader]
    syncs.append(h.sync(leader, generation, {m: m.encode() for m in members}))
    assert all(s.done and s.result().error_code == 0 for s in syncs)
    assert group.state is ClassicGroupState.STABLE
    return members

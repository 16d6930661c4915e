"""Random sequences of joins, syncs, heartbeats, leaves, static restarts, failed writes and
clock steps against one classic group: the state machine never breaks its invariants, never
raises, and a Stable group's stored assignment always matches what its members were told."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from rafka.cluster.groups.classic_group import ClassicGroup
from rafka.cluster.groups.classic_group import ClassicGroupState as S
from rafka.cluster.groups.result import Reply
from rafka.errors import KafkaError, NotLeaderOrFollowerError
from rafka.protocol.messages import JoinGroupResponse, SyncGroupResponse
from tests.cluster.groups.harness import ShardHarness

CLIENTS = 4
INSTANCES = ("i-0", "i-1")


class ClassicGroupMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.h = ShardHarness(initial_rebalance_delay_ms=100, max_size=3)
        #: per client: the member id it believes it has, and its generation
        self.ids: dict[int, str] = {}
        self.generations: dict[int, int] = {}
        self.joins: dict[int, Reply[JoinGroupResponse]] = {}
        self.syncs: dict[int, tuple[str, int, Reply[SyncGroupResponse]]] = {}
        #: (member id, generation) -> the assignment a successful sync returned
        self.told: dict[tuple[str, int], bytes] = {}

    def _instance(self, client: int) -> str | None:
        return INSTANCES[client] if client < len(INSTANCES) else None

    def _collect(self) -> None:
        for client, reply in list(self.joins.items()):
            if reply.done:
                response = reply.result()
                del self.joins[client]
                if response.member_id:
                    self.ids[client] = response.member_id
                if response.error_code == 0:
                    self.generations[client] = response.generation_id
        for client, (member_id, generation, sync) in list(self.syncs.items()):
            if sync.done:
                del self.syncs[client]
                synced = sync.result()
                if synced.error_code == 0:
                    self.told[(member_id, generation)] = synced.assignment

    def _run(self, action: Callable[[], object]) -> None:
        with contextlib.suppress(KafkaError):
            action()
        self._collect()

    @rule(client=st.integers(0, CLIENTS - 1), fresh=st.booleans())
    def join(self, client: int, fresh: bool) -> None:
        member_id = "" if fresh else self.ids.get(client, "")

        def go() -> None:
            self.joins[client] = self.h.join(
                member_id, instance_id=self._instance(client), session_ms=3_000, rebalance_ms=5_000
            )

        self._run(go)

    @rule(client=st.integers(0, CLIENTS - 1), assign=st.booleans())
    def sync(self, client: int, assign: bool) -> None:
        if client not in self.ids:
            return
        member_id = self.ids[client]
        generation = self.generations.get(client, 0)
        group = self.h.shard.groups.get("g")
        assignments = None
        if assign and isinstance(group, ClassicGroup):
            assignments = {m: m.encode() for m in group.members}

        def go() -> None:
            reply = self.h.sync(
                member_id, generation, assignments, instance_id=self._instance(client)
            )
            self.syncs[client] = (member_id, generation, reply)

        self._run(go)

    @rule()
    def everyone_rejoins_then_syncs(self) -> None:
        """What well-behaved clients do after a REBALANCE_IN_PROGRESS."""
        for client in list(self.ids):
            if client not in self.joins:
                self.join(client, fresh=False)
        self.advance(100)
        for client in list(self.ids):
            self.sync(client, assign=True)

    @rule(client=st.integers(0, CLIENTS - 1))
    def heartbeat(self, client: int) -> None:
        if client in self.ids:
            self.h.heartbeat(
                self.ids[client],
                self.generations.get(client, 0),
                instance_id=self._instance(client),
            )

    @rule(client=st.integers(0, CLIENTS - 1))
    def leave(self, client: int) -> None:
        if client in self.ids:
            self._run(lambda: self.h.leave((self.ids[client], self._instance(client))))

    @rule(client=st.integers(0, CLIENTS - 1))
    def commit(self, client: int) -> None:
        if client in self.ids:
            self.h.commit(
                {("t", 0): 1},
                member_id=self.ids[client],
                generation=self.generations.get(client, 0),
                instance_id=self._instance(client),
            )
            self._collect()

    @rule(ms=st.sampled_from([0, 50, 100, 1_000, 3_000, 5_000]))
    def advance(self, ms: int) -> None:
        self._run(lambda: self.h.advance(ms))

    @rule(fail=st.booleans())
    def writes_fail(self, fail: bool) -> None:
        self.h.fail_writes = NotLeaderOrFollowerError() if fail else None

    @invariant()
    def group_is_consistent(self) -> None:
        group = self.h.shard.groups.get("g")
        if not isinstance(group, ClassicGroup):
            return
        members = group.members
        assert group.awaiting_join_count == sum(1 for m in members.values() if m.awaiting_join)
        assert group.leader_id is None or group.leader_id in members
        assert (group.leader_id is None) == (not members)
        assert set(group.static_members.values()) <= set(members)
        assert all(members[m].group_instance_id == i for i, m in group.static_members.items())
        assert group.pending_sync_members <= set(members)
        assert not (group.pending_join_members & set(members))
        if group.state is S.EMPTY:
            assert not members
        if group.state in (S.STABLE, S.COMPLETING_REBALANCE):
            assert members and group.protocol_name is not None
            assert not any(m.awaiting_join for m in members.values())
        if group.state is S.STABLE:
            assert not any(m.awaiting_sync for m in members.values())
            for (member_id, generation), assignment in self.told.items():
                if generation == group.generation_id and member_id in members:
                    assert members[member_id].assignment == assignment
        if group.state is S.PREPARING_REBALANCE:
            assert not any(m.awaiting_sync for m in members.values())


ClassicGroupMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestClassicGroupMachine = ClassicGroupMachine.TestCase

"""Random joins, heartbeats, slow revocations, leaves (dynamic and static), subscription and
partition-count changes, failed writes and clock steps against one consumer group: the
coordinator never raises an unexpected error, no partition is ever owned by two members (by
the coordinator's records or by what the clients hold), every member converges to its target,
and replaying the log rebuilds exactly the same group."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from rafka.cluster.groups.consumer_engine import ConsumerConfig
from rafka.cluster.groups.consumer_group import ConsumerGroup, ConsumerGroupState
from rafka.errors import KafkaStorageError
from tests.cluster.groups.consumer_harness import Client, ConsumerHarness
from tests.cluster.groups.test_consumer_protocol import snapshot

CLIENTS = 5
EXPECTED_ERRORS = {0, 25, 69, 110, 111, 82}  # NONE, UNKNOWN_MEMBER_ID, GROUP_ID_NOT_FOUND, ...


class ConsumerGroupMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.h = ConsumerHarness(ConsumerConfig(session_timeout_ms=10_000))
        self.h.create_topic("t", 4)
        self.h.create_topic("u", 3)
        self.clients = [
            Client(
                self.h,
                f"m{i}",
                ["t"] if i % 2 else ["t", "u"],
                instance_id="i-0" if i == 0 else None,
                assignor="range" if i == 4 else None,
                rebalance_timeout_ms=5_000,
            )
            for i in range(CLIENTS)
        ]
        self.joined = [False] * CLIENTS

    def group(self) -> ConsumerGroup | None:
        group = self.h.shard.groups.get("g")
        return group if isinstance(group, ConsumerGroup) else None

    def _check(self, client: Client, code: int) -> None:
        assert code in EXPECTED_ERRORS, (client.member_id, code, client.last)
        if code in (25, 69, 110):  # the member is out: it holds nothing any more
            self.joined[int(client.member_id[1:])] = False

    def _forget_fenced(self) -> None:
        """A member the coordinator fenced (its session or rebalance timed out) stops too."""
        group = self.group()
        for i, client in enumerate(self.clients):
            if self.joined[i] and (group is None or client.member_id not in group.members):
                client.owned, client.epoch, self.joined[i] = {}, 0, False

    @rule(i=st.integers(0, CLIENTS - 1))
    def join(self, i: int) -> None:
        client = self.clients[i]
        if self.joined[i]:
            return
        response = client.join()
        self._check(client, response.error_code)
        self.joined[i] = response.error_code == 0

    @rule(i=st.integers(0, CLIENTS - 1), full=st.booleans())
    def heartbeat(self, i: int, full: bool) -> None:
        if self.joined[i]:
            client = self.clients[i]
            self._check(client, client.heartbeat(full=full).error_code)

    @rule(i=st.integers(0, CLIENTS - 1), slow=st.booleans())
    def set_slow(self, i: int, slow: bool) -> None:
        """A slow member keeps revoked partitions until it is fast again."""
        client = self.clients[i]
        client.slow = slow
        if not slow and self.joined[i] and self.group() is not None:
            group = self.group()
            assert group is not None
            member = group.members.get(client.member_id)
            if member is not None:  # release what it was told to give up
                client.owned = {t: set(ps) for t, ps in member.assigned_partitions.items()}

    @rule(i=st.integers(0, CLIENTS - 1), static_pause=st.booleans())
    def leave(self, i: int, static_pause: bool) -> None:
        client = self.clients[i]
        if not self.joined[i]:
            return
        epoch = -2 if static_pause and client.instance_id is not None else -1
        self._check(client, client.leave(epoch).error_code)
        self.joined[i] = False
        client.owned = {}

    @rule(i=st.integers(0, CLIENTS - 1))
    def resubscribe(self, i: int) -> None:
        client = self.clients[i]
        client.topics = ["u"] if client.topics == ["t", "u"] else ["t", "u"]
        if self.joined[i]:
            self._check(client, client.heartbeat(full=True).error_code)

    @precondition(lambda self: len(self.h.image.topics["u"].partitions) < 6)
    @rule()
    def grow(self) -> None:
        self.h.add_partitions("u", len(self.h.image.topics["u"].partitions) + 1)

    @rule(ms=st.sampled_from([0, 1_000, 3_000, 6_000, 11_000]))
    def advance(self, ms: int) -> None:
        self.h.advance(ms)
        self._forget_fenced()

    @rule(i=st.integers(0, CLIENTS - 1))
    def failed_write(self, i: int) -> None:
        group = self.group()
        before = None if group is None else snapshot(group)
        self.h.fail_writes = KafkaStorageError()
        client = self.clients[i]
        try:
            if self.joined[i]:
                client.heartbeat(full=True)
            else:
                client.join()
        finally:
            self.h.fail_writes = None
        after = self.group()
        assert (None if after is None else snapshot(after)) == before

    @invariant()
    def coordinator_owns_each_partition_once(self) -> None:
        group = self.group()
        if group is None:
            return
        seen: set[tuple[object, int]] = set()
        for member in group.members.values():
            for assignment in (member.assigned_partitions, member.partitions_pending_revocation):
                for topic_id, partitions in assignment.items():
                    for p in partitions:
                        assert (topic_id, p) not in seen
                        seen.add((topic_id, p))
                        epochs = group.partition_epochs[topic_id]
                        assert epochs[p] == member.member_epoch

    @invariant()
    def clients_own_each_partition_once(self) -> None:
        held: set[tuple[object, int]] = set()
        for i, client in enumerate(self.clients):
            if not self.joined[i]:
                continue
            mine = client.partitions()
            assert not held & mine, (client.member_id, held & mine)
            held |= mine

    def teardown(self) -> None:
        group = self.group()
        if group is not None:
            # Every live member, heartbeating and releasing, converges to its target.
            for client in self.clients:
                client.slow = False
            for _ in range(8):
                for i, client in enumerate(self.clients):
                    if self.joined[i]:
                        self.set_slow(i, False)
                        self._check(client, client.heartbeat().error_code)
            if all(m.member_epoch >= 0 for m in group.members.values()):
                assert group.state in (ConsumerGroupState.STABLE, ConsumerGroupState.EMPTY)
            shard = self.h.replayed()
            loaded = shard.groups["g"]
            assert isinstance(loaded, ConsumerGroup)
            assert snapshot(loaded) == snapshot(group)


TestConsumerGroupMachine = ConsumerGroupMachine.TestCase
TestConsumerGroupMachine.settings = settings(
    max_examples=80,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

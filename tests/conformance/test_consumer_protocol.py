"""Consumer conformance with the consumer group protocol of KIP-848 (``group_protocol="consumer"``).

Each scenario runs unchanged against rafka (in process, through the codec, over TCP) and
against Apache Kafka's reference broker, rafka's consumer speaking ConsumerGroupHeartbeat and
committing with its member epoch.

The coordinator sets the heartbeat interval (500 ms on every target here, 5 s by default), and
moving a partition takes two heartbeats (the owner revokes it, then the new owner gets it);
every wait is on a condition.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import anyio
import anyio.to_thread
import pytest

import rafka
from rafka import errors
from rafka.clients.admin import NewTopic
from rafka.clients.consumer.records import ConsumerRecord
from rafka.clients.types import TopicPartition
from tests.cluster.groups.driver import Member
from tests.conformance.conftest import Target, covers, eventually, poll_until

pytestmark = pytest.mark.group_coordinator

#: Consumer settings for the consumer protocol (no session timeout or heartbeat interval:
#: the coordinator owns those).
GROUP: dict[str, Any] = {
    "group_protocol": "consumer",
    "auto_offset_reset": "earliest",
    "request_timeout_ms": 10_000,
    "retry_backoff_ms": 20,
}
#: A rebalance takes a few heartbeat intervals of 500 ms; the bound only ends a failing test.
SETTLE = 20.0


# ----------------------------------------------------------------------------------- helpers


async def _topic(target: Target, partitions: int, records: int = 0, prefix: str = "cgp") -> str:
    name = target.unique_topic(prefix)
    async with target.admin() as admin:
        await admin.create_topics(NewTopic(name, partitions))
        await eventually(lambda: admin.describe_topics(name))
    if records:
        await _produce(target, name, partitions, range(records))
    return name


async def _produce(target: Target, topic: str, partitions: int, values: Iterable[int]) -> None:
    async with target.producer() as producer:
        for i in values:
            await producer.send(topic, value=b"%d" % i, partition=i % partitions)
        await producer.flush()


class Listener:
    """Records a member's rebalance callbacks: ("assign" | "revoke", sorted partitions)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, list[int]]] = []

    def on_assign(self, partitions: list[TopicPartition]) -> None:
        self.events.append(("assign", sorted(tp.partition for tp in partitions)))

    async def on_revoke(self, partitions: list[TopicPartition]) -> None:
        self.events.append(("revoke", sorted(tp.partition for tp in partitions)))

    def changes(self) -> list[tuple[str, list[int]]]:
        """The events that moved partitions (a reconciliation may assign nothing new)."""
        return [event for event in self.events if event[1]]

    def owned(self) -> set[int]:
        owned: set[int] = set()
        for kind, partitions in self.events:
            owned = owned | set(partitions) if kind == "assign" else owned - set(partitions)
        return owned


# --------------------------------------------------------------------------------- scenarios


async def test_one_member_reads_everything_and_commits(target: Target) -> None:
    topic = await _topic(target, 3, records=30)
    group = target.unique_group()
    got: list[ConsumerRecord] = []
    async with target.consumer(group_id=group, enable_auto_commit=False, **GROUP) as consumer:
        consumer.subscribe([topic])
        assert consumer.subscription() == {topic}
        await poll_until([consumer], lambda: len(got) >= 30, got)
        assert consumer.assignment() == {TopicPartition(topic, p) for p in range(3)}
        assert sorted(int(r.value or b"") for r in got) == list(range(30))
        tps = [(topic, p) for p in range(3)]
        assert await consumer.committed(tps) == {}
        await consumer.commit()  # OffsetCommit with the member's id and epoch
        assert await consumer.committed(tps) == {TopicPartition(topic, p): 10 for p in range(3)}
        await consumer.commit({(topic, 0): 4}, metadata="replay from 4")
        assert (await consumer.committed([(topic, 0)]))[TopicPartition(topic, 0)] == 4

    # the group's next member starts at the committed offsets, not at auto.offset.reset
    again: list[ConsumerRecord] = []
    async with target.consumer(group_id=group, enable_auto_commit=False, **GROUP) as consumer:
        consumer.subscribe(topic)
        await poll_until([consumer], lambda: len(again) >= 6, again)
        await anyio.sleep(0.2)
        again.extend(await consumer.poll(0.1))
        assert sorted((r.partition, r.offset) for r in again) == [(0, o) for o in range(4, 10)]


async def test_members_share_incrementally_and_one_takes_over_when_the_other_leaves(
    target: Target,
) -> None:
    topic = await _topic(target, 4, records=40)
    group = target.unique_group()
    everything = [0, 1, 2, 3]
    got: list[ConsumerRecord] = []
    la, lb = Listener(), Listener()
    async with target.consumer(group_id=group, **GROUP) as a:
        a.subscribe([topic], on_assign=la.on_assign, on_revoke=la.on_revoke)
        await poll_until([a], lambda: len(got) >= 40, got)
        assert la.changes() == [("assign", everything)]
        async with target.consumer(group_id=group, **GROUP) as b:
            b.subscribe([topic], on_assign=lb.on_assign, on_revoke=lb.on_revoke)
            await poll_until([a, b], lambda: covers(topic, 4, a, b) and len(lb.owned()) == 2, got)
            moved = sorted(tp.partition for tp in b.assignment())
            kept = sorted(tp.partition for tp in a.assignment())
            assert len(moved) == len(kept) == 2
            # incremental: a gave up only what moved, and neither callback saw the rest
            assert la.changes() == [("assign", everything), ("revoke", moved)]
            assert lb.changes() == [("assign", moved)]
            assert la.owned() == set(kept)
            # a committed its positions before handing partitions over (auto-commit), so
            # b starts where a stopped: every record exactly once across the members
            assert sorted((r.partition, r.offset) for r in got) == [
                (p, o) for p in range(4) for o in range(10)
            ]
        # b left the group on close: a takes its partitions over
        assert lb.changes() == [("assign", moved), ("revoke", moved)]
        await poll_until([a], lambda: covers(topic, 4, a) and la.owned() == set(everything))
        assert la.changes() == [("assign", everything), ("revoke", moved), ("assign", moved)]


# Both coordinators re-resolve a group's regex at most every 10 s (Kafka's minimum for
# group.consumer.regex.refresh.interval.ms), so this runs over TCP only (the in-process
# transport changes nothing the coordinator sees).
@pytest.mark.targets("tcp", "kafka")
async def test_pattern_subscription_follows_new_topics(target: Target) -> None:
    prefix = target.unique_topic("cgp-pattern")
    group = target.unique_group()
    a, b = f"{prefix}-a", f"{prefix}-b"
    async with target.admin() as admin:
        await admin.create_topics(NewTopic(a, 1))
        await eventually(lambda: admin.describe_topics(a))
        async with target.consumer(group_id=group, **GROUP) as c:
            c.subscribe(pattern=f"{prefix}-.*")  # matched by the group coordinator
            await poll_until([c], lambda: c.assignment() == {TopicPartition(a, 0)})
            assert c.subscription() == {a}
            await admin.create_topics(NewTopic(b, 2))
            want = {TopicPartition(a, 0), TopicPartition(b, 0), TopicPartition(b, 1)}
            await poll_until([c], lambda: c.assignment() == want)
            assert c.subscription() == {a, b}
            c.unsubscribe()
            await poll_until([c], lambda: not c.assignment())


async def test_a_static_member_restarts_into_its_own_partitions(target: Target) -> None:
    topic = await _topic(target, 2)
    group = target.unique_group()
    static = {"group_instance_id": f"{group}-static", **GROUP}
    lb = Listener()
    async with target.consumer(group_id=group, **GROUP) as b:
        b.subscribe([topic], on_assign=lb.on_assign, on_revoke=lb.on_revoke)
        async with target.consumer(group_id=group, **static) as a:
            a.subscribe([topic])
            await poll_until([a, b], lambda: covers(topic, 2, a, b) and len(lb.owned()) == 1)
            theirs = a.assignment()
        before = lb.changes()
        # a left as a static member (epoch -2): the coordinator keeps its partitions for it
        la = Listener()
        async with target.consumer(group_id=group, **static) as again:
            again.subscribe([topic], on_assign=la.on_assign, on_revoke=la.on_revoke)
            await poll_until([again, b], lambda: again.assignment() == theirs)
            assert la.changes() == [("assign", sorted(tp.partition for tp in theirs))]
            for _ in range(5):  # b keeps consuming meanwhile: no rebalance reaches it
                await b.poll(0.05)
            assert lb.changes() == before


async def test_commits_of_a_member_that_left_are_refused(target: Target) -> None:
    topic = await _topic(target, 2, records=4)
    group = target.unique_group()
    # a member that stops polling leaves the group after max.poll.interval.ms (also its
    # rebalance timeout) and the other member takes everything: its commit is refused
    slow_cfg: dict[str, Any] = {**GROUP, "max_poll_interval_ms": 1000}
    async with target.consumer(group_id=group, enable_auto_commit=False, **slow_cfg) as slow:
        slow.subscribe([topic])
        await poll_until([slow], lambda: covers(topic, 2, slow))
        async with target.consumer(group_id=group, **GROUP) as other:
            other.subscribe([topic])
            await poll_until([other], lambda: covers(topic, 2, other))

            async def lost() -> None:  # when it left (without polling it, which rejoins)
                assert not slow.assignment()

            await eventually(lost)
            with pytest.raises(errors.CommitFailedError) as refused:
                await slow.commit({(topic, 0): 1})
            assert isinstance(refused.value.__cause__, errors.UnknownMemberIdError)
            # polling again joins again, and commits work again
            await poll_until(
                [slow, other],
                lambda: covers(topic, 2, slow, other) and len(slow.assignment()) == 1,
            )
            (mine,) = slow.assignment()
            await slow.commit({mine: 1})


async def test_a_stale_member_epoch_is_a_commit_failure(target: Target) -> None:
    topic = await _topic(target, 1, records=2)
    group = target.unique_group()
    static = {"group_instance_id": f"{group}-static", **GROUP}
    async with target.consumer(group_id=group, enable_auto_commit=False, **static) as c:
        c.subscribe([topic])
        await poll_until([c], lambda: covers(topic, 1, c))
        await c.commit({(topic, 0): 1})
        c.unsubscribe()  # a static member leaves with epoch -2: the coordinator keeps it
        assert c.coordinator is not None

        async def left() -> None:
            assert not c.coordinator.leave_pending  # type: ignore[union-attr]

        await eventually(left)
        # committing outside the group (epoch -1) for a member the coordinator still holds
        with pytest.raises(errors.CommitFailedError) as refused:
            await c.commit({(topic, 0): 2})
        assert isinstance(refused.value.__cause__, errors.StaleMemberEpochError)
        assert await c.committed([(topic, 0)]) == {TopicPartition(topic, 0): 1}


async def test_the_coordinators_assignor_is_chosen_by_name(target: Target) -> None:
    topic = await _topic(target, 2)
    group = target.unique_group()
    async with target.consumer(group_id=group, group_remote_assignor="range", **GROUP) as c:
        c.subscribe([topic])
        await poll_until([c], lambda: covers(topic, 2, c))
    async with target.consumer(
        group_id=target.unique_group(), group_remote_assignor="no-such-assignor", **GROUP
    ) as c:
        c.subscribe([topic])
        with pytest.raises(errors.UnsupportedAssignorError):
            await poll_until([c], lambda: False, timeout=20)
        assert not c.assignment()  # failed for good: it does not join again


# ------------------------------------------------------------------------- with other clients


@pytest.mark.targets("tcp", "kafka")
async def test_a_rafka_member_and_a_java_member_share_a_group(target: Target) -> None:
    assert target.bootstrap_servers is not None
    topic = await _topic(target, 4, records=40)
    group = target.unique_group()
    got: list[ConsumerRecord] = []
    async with target.consumer(group_id=group, enable_auto_commit=False, **GROUP) as a:
        a.subscribe([topic])
        await poll_until([a], lambda: len(got) >= 40, got)
        await a.commit()
        # kafka-clients' KafkaConsumer with group.protocol=consumer (the Java driver's
        # group-consume), in a process of its own
        java = Member("java", target.bootstrap_servers, group, topic, group_protocol="consumer")
        try:
            owned = java.assignment

            def shared() -> bool:
                theirs = owned() or set()
                ours = {tp.partition for tp in a.assignment()}
                return (
                    bool(theirs)
                    and bool(ours)
                    and sorted(theirs | ours) == [0, 1, 2, 3]
                    and (not theirs & ours)
                )

            await poll_until([a], lambda: shared() or not java.alive, timeout=60)
            assert java.alive, java.stderr()
            # new records go to whichever member owns their partition, each exactly once
            got.clear()
            await _produce(target, topic, 4, range(40, 80))
            await poll_until([a], lambda: len(got) + len(java.events("record")) >= 40, got)
            ours = {(r.partition, r.offset) for r in got}
            theirs = java.consumed()
            assert not ours & theirs
            assert sorted(ours | theirs) == [(p, o) for p in range(4) for o in range(10, 20)]
            assert {p for p, _ in ours} == {tp.partition for tp in a.assignment()}
            await anyio.to_thread.run_sync(java.stop)
        finally:
            java.close()
        # the Java member left: the rafka member takes its partitions over
        await poll_until([a], lambda: covers(topic, 4, a))


@pytest.mark.targets("tcp", "kafka")
async def test_the_sync_consumer_speaks_the_consumer_protocol(target: Target) -> None:
    topic = await _topic(target, 2, records=10)
    group = target.unique_group()
    bootstrap = target.bootstrap_servers
    seen: dict[str, Any] = {}

    def consume() -> None:
        with rafka.Consumer(bootstrap_servers=bootstrap, group_id=group, **GROUP) as consumer:

            def on_assign(partitions: list[TopicPartition]) -> None:
                # runs on a worker thread, so it may call the consumer
                seen.setdefault("assigned", []).extend(partitions)
                seen.setdefault("positions", {}).update(
                    {tp: consumer.position(tp) for tp in partitions}
                )

            consumer.subscribe([topic], on_assign=on_assign)
            values: list[bytes | None] = []
            deadline = time.monotonic() + SETTLE
            while len(values) < 10 and time.monotonic() < deadline:
                values.extend(record.value for record in consumer.poll(0.5))
            consumer.commit()
            seen["values"] = values
            seen["committed"] = consumer.committed([(topic, 0), (topic, 1)])

    await anyio.to_thread.run_sync(consume)
    assert sorted(int(v or b"") for v in seen["values"]) == list(range(10))
    assert sorted(seen["assigned"]) == [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    assert seen["positions"] == {TopicPartition(topic, 0): 0, TopicPartition(topic, 1): 0}
    assert seen["committed"] == {TopicPartition(topic, 0): 5, TopicPartition(topic, 1): 5}

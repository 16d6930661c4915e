"""Consumer conformance: subscribing consumers share a group's partitions and commit offsets.

Each scenario runs unchanged against rafka (in process, through the codec, over TCP) and
against Apache Kafka's reference broker, with rafka's consumer speaking the classic group
protocol (JoinGroup/SyncGroup/Heartbeat/LeaveGroup, OffsetCommit/OffsetFetch).
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from rafka import errors
from rafka.clients.admin import NewTopic
from rafka.clients.consumer.records import ConsumerRecord
from rafka.clients.types import TopicPartition
from tests.conformance.conftest import Target, covers, eventually, poll_until

pytestmark = pytest.mark.group_coordinator

#: Group timings that keep rebalances short on both sides (Kafka's minimum session timeout
#: is 6 s; heartbeats every 100 ms mean members notice a rebalance within that).
GROUP = {
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 100,
    "auto_offset_reset": "earliest",
    "request_timeout_ms": 10_000,
    "retry_backoff_ms": 20,
}


async def _topic(target: Target, partitions: int, records: int = 0) -> str:
    name = target.unique_topic("groups")
    async with target.admin() as admin:
        await admin.create_topics(NewTopic(name, partitions))
        await eventually(lambda: admin.describe_topics(name))
    if records:
        async with target.producer() as producer:
            for i in range(records):
                await producer.send(name, value=b"%d" % i, partition=i % partitions)
            await producer.flush()
    return name


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
        await consumer.commit()
        assert await consumer.committed(tps) == {TopicPartition(topic, p): 10 for p in range(3)}
        await consumer.commit({(topic, 0): 4}, metadata="replay from 4")
        assert (await consumer.committed([(topic, 0)]))[TopicPartition(topic, 0)] == 4

    # the next member of the group starts at the committed offsets, not at auto.offset.reset
    again: list[ConsumerRecord] = []
    async with target.consumer(group_id=group, enable_auto_commit=False, **GROUP) as consumer:
        consumer.subscribe(topic)
        await poll_until([consumer], lambda: len(again) >= 6, again)
        await anyio.sleep(0.2)
        again.extend(await consumer.poll(0.1))
        assert sorted((r.partition, r.offset) for r in again) == [(0, o) for o in range(4, 10)]


async def test_members_share_partitions_and_rebalance_when_one_leaves(target: Target) -> None:
    topic = await _topic(target, 4, records=40)
    group = target.unique_group()
    got: list[ConsumerRecord] = []
    async with target.consumer(group_id=group, **GROUP) as a:
        a.subscribe([topic])
        async with target.consumer(group_id=group, **GROUP) as b:
            b.subscribe([topic])
            # (a may own everything for a moment, until b's join rebalances the group)
            await poll_until(
                [a, b],
                lambda: covers(topic, 4, a, b) and bool(b.assignment()) and len(got) >= 40,
                got,
            )
            assert len(a.assignment()) == len(b.assignment()) == 2  # range: two each
            # every record exactly once across the members
            assert sorted((r.partition, r.offset) for r in got) == sorted(
                (p, o) for p in range(4) for o in range(10)
            )
        # b left the group on close: a takes every partition over
        await poll_until([a], lambda: covers(topic, 4, a))


async def test_rebalance_callbacks_see_revoked_and_assigned_partitions(target: Target) -> None:
    topic = await _topic(target, 2)
    group = target.unique_group()
    events: list[tuple[str, list[TopicPartition]]] = []

    async def on_revoke(partitions: list[TopicPartition]) -> None:
        events.append(("revoke", sorted(partitions)))

    def on_assign(partitions: list[TopicPartition]) -> None:
        events.append(("assign", sorted(partitions)))

    both = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    async with target.consumer(group_id=group, **GROUP) as a:
        a.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
        await poll_until([a], lambda: ("assign", both) in events)
        async with target.consumer(group_id=group, **GROUP) as b:
            b.subscribe([topic])
            await poll_until([a, b], lambda: covers(topic, 2, a, b) and bool(b.assignment()))
        assert events[0] == ("assign", both)
        assert ("revoke", both) in events  # eager: everything is handed back first
        assert events[-1] == ("assign", sorted(a.assignment()))
        assert len(a.assignment()) == 1


async def test_auto_commit_commits_positions_and_close_commits_the_rest(target: Target) -> None:
    topic = await _topic(target, 1, records=5)
    group = target.unique_group()
    got: list[ConsumerRecord] = []
    tp = TopicPartition(topic, 0)
    async with target.consumer(group_id=group, auto_commit_interval_ms=50, **GROUP) as consumer:
        consumer.subscribe([topic])
        await poll_until([consumer], lambda: len(got) >= 5, got)

        async def committed() -> None:
            assert await consumer.committed([tp]) == {tp: 5}

        await eventually(committed)
    async with target.producer() as producer:
        await producer.send(topic, value=b"late", partition=0)
        await producer.flush()
    async with target.consumer(group_id=group, auto_commit_interval_ms=60_000, **GROUP) as c:
        c.subscribe([topic])
        late: list[ConsumerRecord] = []
        await poll_until([c], lambda: bool(late), late)
        assert [(r.offset, r.value) for r in late] == [(5, b"late")]
    # closing committed the position although the interval had not passed
    async with target.admin() as admin:
        stored = (await admin.list_group_offsets(group))[tp]
        assert stored is not None and stored.offset == 6


async def test_assign_with_a_group_starts_at_committed_offsets(target: Target) -> None:
    topic = await _topic(target, 2, records=10)
    group = target.unique_group()
    async with target.admin() as admin:
        await admin.alter_group_offsets(group, {(topic, 0): 3})
    async with target.consumer(group_id=group, enable_auto_commit=False, **GROUP) as consumer:
        consumer.assign([(topic, 0), (topic, 1)])
        assert await consumer.position((topic, 0)) == 3  # committed
        assert await consumer.position((topic, 1)) == 0  # auto.offset.reset=earliest
        await consumer.commit({(topic, 1): 2})  # a "simple" group: no membership needed
        assert await consumer.committed([(topic, 0), (topic, 1)]) == {
            TopicPartition(topic, 0): 3,
            TopicPartition(topic, 1): 2,
        }


async def test_pattern_subscription_follows_new_topics(target: Target) -> None:
    prefix = target.unique_topic("pattern")
    group = target.unique_group()
    async with target.admin() as admin:
        await admin.create_topics(NewTopic(f"{prefix}-a", 1))
        await eventually(lambda: admin.describe_topics(f"{prefix}-a"))
        async with target.consumer(group_id=group, metadata_max_age_ms=200, **GROUP) as c:
            c.subscribe(pattern=f"{prefix}-.*")
            await poll_until([c], lambda: c.assignment() == {TopicPartition(f"{prefix}-a", 0)})
            await admin.create_topics(NewTopic(f"{prefix}-b", 1))
            await poll_until(
                [c],
                lambda: (
                    c.assignment()
                    == {TopicPartition(f"{prefix}-a", 0), TopicPartition(f"{prefix}-b", 0)}
                ),
            )
            assert c.subscription() == {f"{prefix}-a", f"{prefix}-b"}
            c.unsubscribe()
            await poll_until([c], lambda: not c.assignment())


async def test_misuse_is_an_illegal_state(target: Target) -> None:
    topic = await _topic(target, 1)
    async with target.consumer(**GROUP) as no_group:
        with pytest.raises(errors.IllegalStateError, match="group_id"):
            no_group.subscribe([topic])
        with pytest.raises(errors.IllegalStateError, match="group_id"):
            await no_group.commit({(topic, 0): 1})
    async with target.consumer(group_id=target.unique_group(), **GROUP) as c:
        c.assign([(topic, 0)])
        with pytest.raises(errors.IllegalStateError, match="assign"):
            c.subscribe([topic])
        c.assign([])
        c.subscribe([topic])
        with pytest.raises(errors.IllegalStateError, match="unsubscribe"):
            c.assign([(topic, 0)])
        with pytest.raises(errors.IllegalStateError, match="pattern"):
            c.subscribe(["^a.*", "b"])


async def test_a_member_that_stops_polling_is_removed_and_its_commit_fails(
    target: Target,
) -> None:
    topic = await _topic(target, 2, records=4)
    group = target.unique_group()
    slow_cfg: dict[str, Any] = {**GROUP, "max_poll_interval_ms": 500}
    async with target.consumer(group_id=group, enable_auto_commit=False, **slow_cfg) as slow:
        slow.subscribe([topic])
        await poll_until([slow], lambda: covers(topic, 2, slow))
        async with target.consumer(group_id=group, **GROUP) as other:
            other.subscribe([topic])
            # slow does not poll: after max.poll.interval.ms it leaves and other owns all
            await poll_until([other], lambda: covers(topic, 2, other))
            with pytest.raises(errors.CommitFailedError):
                await slow.commit({(topic, 0): 1})

"""The virtual clock: cluster time that moves only in ``cluster.advance(ms)``.

Session expiry, the initial rebalance delay, long-poll fetches and retention run on it, take no
wall time, and repeat exactly for a given seed. Requests go to the brokers through the wire
codec (:func:`tests.cluster.handlers.conftest.call`), as the listener sends them.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

import rafka
from rafka.cluster.broker import Broker
from rafka.cluster.clock import VirtualClock, make_clock, wait_all_tasks_blocked
from rafka.protocol.messages import (
    DescribeGroupsRequest,
    FetchRequest,
    FindCoordinatorRequest,
    JoinGroupRequest,
    ProduceRequest,
    SyncGroupRequest,
)
from rafka.protocol.records.builder import encode_batch
from tests.cluster.handlers.conftest import call, create_topic

pytestmark = pytest.mark.anyio

MEMBER_ID_REQUIRED = 79


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# ------------------------------------------------------------------------------ the clock


async def test_timers_fire_in_order_and_only_on_advance() -> None:
    clock = VirtualClock(start_ms=1_000_000)
    fired: list[tuple[str, int]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        fired.append((name, clock.monotonic_ms()))

    async with anyio.create_task_group() as tg:
        for name, seconds in (("b", 2.0), ("a", 1.0), ("c", 2.0)):
            tg.start_soon(sleeper, name, seconds)
            await wait_all_tasks_blocked()  # trio starts tasks in random order
        await clock.advance(999)
        assert fired == []
        await clock.advance(1)
        assert fired == [("a", 1000)]
        await clock.advance(5000)
    assert fired == [("a", 1000), ("b", 2000), ("c", 2000)]  # same instant: registration order
    assert clock.monotonic_ms() == 6000
    assert clock.time_ms() == 1_006_000


async def test_wait_returns_on_event_or_virtual_timeout() -> None:
    clock = VirtualClock()
    results: list[bool] = []
    event = anyio.Event()

    async def waiter(ev: anyio.Event) -> None:
        results.append(await clock.wait(ev, 10.0))

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter, event)
        tg.start_soon(waiter, anyio.Event())
        await clock.advance(5_000)
        event.set()
        await clock.advance(0)
        assert results == [True]
        await clock.advance(5_000)
    assert results == [True, False]
    assert clock.pending_timers == 0
    assert await clock.wait(anyio.Event(), 0) is False


async def test_advance_rejects_going_backwards() -> None:
    with pytest.raises(ValueError):
        await VirtualClock().advance(-1)


def test_make_clock() -> None:
    assert isinstance(make_clock("virtual"), VirtualClock)
    with pytest.raises(ValueError):
        make_clock("sundial")


async def test_advance_needs_a_virtual_clock() -> None:
    async with rafka.AsyncCluster() as cluster:
        with pytest.raises(TypeError, match="virtual"):
            await cluster.advance(1)


# -------------------------------------------------------------------- group session expiry


async def join(broker: Broker, group: str, member_id: str = "") -> Any:
    request = JoinGroupRequest(
        group_id=group,
        session_timeout_ms=45_000,
        rebalance_timeout_ms=60_000,
        member_id=member_id,
        protocol_type="consumer",
        protocols=[JoinGroupRequest.JoinGroupRequestProtocol("range", b"meta")],
    )
    return await call(broker, request, 9)


async def describe(broker: Broker, group: str) -> Any:
    (described,) = (await call(broker, DescribeGroupsRequest(groups=[group]), 5)).groups
    return described


async def session_scenario(cluster: rafka.AsyncCluster, journal: list[str]) -> None:
    """A member joins (through the 3 s initial rebalance delay), syncs, then stops
    heartbeating; 45 s later it is gone."""
    found = await call(cluster.brokers[1], FindCoordinatorRequest(key="g"), 3)
    assert found.error_code == 0
    journal.append(repr(found))
    broker = cluster.brokers[found.node_id]
    first = await join(broker, "g")
    assert first.error_code == MEMBER_ID_REQUIRED
    journal.append(repr(first))

    joined: list[Any] = []

    async def join_parked() -> None:
        joined.append(await join(broker, "g", first.member_id))

    async with anyio.create_task_group() as tg:
        tg.start_soon(join_parked)
        await cluster.advance(2_999)
        assert joined == []  # group.initial.rebalance.delay.ms is 3 s of virtual time
        await cluster.advance(1)
        assert joined, "the join completes once the initial delay has passed"
    (response,) = joined
    assert response.error_code == 0
    journal.append(repr(response))
    sync = SyncGroupRequest(
        group_id="g",
        generation_id=response.generation_id,
        member_id=response.member_id,
        protocol_type="consumer",
        protocol_name="range",
        assignments=[SyncGroupRequest.SyncGroupRequestAssignment(response.member_id, b"a")],
    )
    journal.append(repr(await call(broker, sync, 5)))

    await cluster.advance(44_999)
    stable = await describe(broker, "g")
    assert (stable.group_state, len(stable.members)) == ("Stable", 1)
    journal.append(repr(stable))
    await cluster.advance(1)  # session.timeout.ms (45 s) after the join: expired
    empty = await describe(broker, "g")
    assert (empty.group_state, empty.members) == ("Empty", [])
    journal.append(repr(empty))


async def test_session_timeout_expires_in_virtual_time() -> None:
    async with rafka.AsyncCluster(clock="virtual", seed=5) as cluster:
        started = time.monotonic()
        await session_scenario(cluster, [])
        elapsed = time.monotonic() - started
        assert cluster.clock.monotonic_ms() == 48_000
    assert elapsed < 1.0  # 48 s of cluster time, next to no wall time


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_same_seed_same_run(anyio_backend: str) -> None:
    journals = []
    for _ in range(2):
        journal: list[str] = []
        clock = VirtualClock(start_ms=1_700_000_000_000)
        async with rafka.AsyncCluster(brokers=3, clock=clock, seed=42) as cluster:
            await session_scenario(cluster, journal)
            journal.append(cluster.cluster_id)
        journals.append(journal)
    assert journals[0] == journals[1]
    assert "MEMBER_ID_REQUIRED" not in journals[0][0]


def test_sync_cluster_advance() -> None:
    with rafka.Cluster(clock="virtual", seed=3) as cluster:
        journal: list[str] = []
        cluster.portal.call(session_scenario, cluster.async_cluster, journal)
        cluster.advance(1_000)
        assert cluster.clock.monotonic_ms() == 49_000


# ------------------------------------------------------------------------- long-poll fetch


async def test_delayed_fetch_answers_after_max_wait_of_virtual_time() -> None:
    async with rafka.AsyncCluster(clock="virtual", seed=1) as cluster:
        broker = cluster.brokers[1]
        await create_topic(broker, "t")
        topic_id = cluster.core.controller.image.topics["t"].topic_id
        F = FetchRequest
        request = F(
            replica_id=-1,
            max_wait_ms=30_000,
            min_bytes=1,
            max_bytes=1 << 20,
            topics=[F.FetchTopic(topic_id=topic_id, partitions=[F.FetchPartition(0, -1, 0)])],
        )
        answered: list[Any] = []

        async def fetch() -> None:
            answered.append(await call(broker, request, 17))

        async with anyio.create_task_group() as tg:
            tg.start_soon(fetch)
            await cluster.advance(29_999)
            assert answered == []
            await cluster.advance(1)
            assert len(answered) == 1
        (response,) = answered
        (partition,) = response.responses[0].partitions
        assert (partition.error_code, partition.high_watermark) == (0, 0)
        assert not partition.records


# ------------------------------------------------------------------------------- retention


async def produce(broker: Broker, topic: str, timestamp: int, acks: int = -1) -> None:
    batch = encode_batch([(timestamp, b"k", b"v", [])])
    P = ProduceRequest
    request = P(
        acks=acks,
        timeout_ms=5000,
        topic_data=[
            P.TopicProduceData(name=topic, partition_data=[P.PartitionProduceData(0, batch)])
        ],
    )
    response = await call(broker, request, 9)
    assert response.responses[0].partition_responses[0].error_code == 0


async def test_retention_ms_deletes_segments_after_advance() -> None:
    config = {"log.retention.check.interval.ms": 10_000}
    async with rafka.AsyncCluster(clock="virtual", config=config, seed=1) as cluster:
        broker = cluster.brokers[1]
        await create_topic(broker, "old", retention_ms="60000", segment_ms="10000")
        log = broker.replica_manager.partitions[("old", 0)].log
        await produce(broker, "old", cluster.clock.time_ms())  # t=0
        await cluster.advance(20_000)
        await produce(broker, "old", cluster.clock.time_ms())  # t=20 s: segment.ms rolls
        assert [s.base_offset for s in log.segments] == [0, 1]
        await cluster.advance(35_000)  # t=55 s: checks at 30, 40, 50 s keep both
        assert log.log_start_offset == 0
        await cluster.advance(20_000)  # t=75 s: the check at 70 s finds offset 0 too old
        assert log.log_start_offset == 1
        assert [s.base_offset for s in log.segments] == [1]


# -------------------------------------------------------------------------------- ISR shrink


def isr(cluster: rafka.AsyncCluster, topic: str) -> list[int]:
    part = cluster.core.controller.image.partition(topic, 0)
    assert part is not None
    return list(part.isr)


async def test_isr_shrinks_after_replica_lag_time_of_virtual_time() -> None:
    async with rafka.AsyncCluster(brokers=3, clock="virtual", seed=2) as cluster:
        await create_topic(cluster.brokers[1], "r", rf=3)
        part = cluster.core.controller.image.partition("r", 0)
        assert part is not None and len(part.isr) == 3
        follower = next(r for r in part.replicas if r != part.leader)
        cluster.brokers[follower].replica_manager.running = False  # stops fetching at t=0
        await produce(cluster.brokers[part.leader], "r", cluster.clock.time_ms(), acks=1)
        # The leader checks every replica.lag.time.max.ms / 2 (15 s): at 30 s the follower has
        # lagged exactly 30 s, which is not more than replica.lag.time.max.ms; at 45 s it has.
        await cluster.advance(44_999)
        assert follower in isr(cluster, "r")
        await cluster.advance(1)
        assert follower not in isr(cluster, "r")
        cluster.brokers[follower].replica_manager.running = True

"""Virtual time: a 45-second session timeout and two hours of retention, in milliseconds.

Run it: ``python examples/virtual_clock.py``. The cluster's clock moves only when the program
calls ``cluster.advance(ms)``; everything that time causes (a silent group member expiring,
old segments deleted) has happened when that call returns. See docs/testing.md.
"""

from __future__ import annotations

import time
from typing import Any

import anyio

import rafka
from rafka.clients.admin import AsyncAdmin, NewTopic, OffsetSpec, TopicPartition
from rafka.protocol.messages import FindCoordinatorRequest, JoinGroupRequest, SyncGroupRequest

HOUR_MS = 3_600_000


async def silent_member(cluster: rafka.AsyncCluster, admin: AsyncAdmin) -> None:
    """A consumer group member joins, syncs, and then never heartbeats again."""
    transport = cluster.transport()
    found: Any = await transport.request(-1, FindCoordinatorRequest(key="payments"), version=3)
    join = JoinGroupRequest(
        group_id="payments",
        session_timeout_ms=45_000,
        rebalance_timeout_ms=60_000,
        member_id="",
        protocol_type="consumer",
        protocols=[JoinGroupRequest.JoinGroupRequestProtocol("range", b"")],
    )
    first: Any = await transport.request(found.node_id, join, version=9)  # MEMBER_ID_REQUIRED
    join.member_id = first.member_id
    joined: list[Any] = []

    async def rejoin() -> None:
        joined.append(await transport.request(found.node_id, join, version=9))

    async with anyio.create_task_group() as tg:
        tg.start_soon(rejoin)
        await cluster.advance(3_000)  # group.initial.rebalance.delay.ms
    (response,) = joined
    sync = SyncGroupRequest(
        group_id="payments",
        generation_id=response.generation_id,
        member_id=response.member_id,
        protocol_type="consumer",
        protocol_name="range",
        assignments=[SyncGroupRequest.SyncGroupRequestAssignment(response.member_id, b"")],
    )
    await transport.request(found.node_id, sync, version=5)

    group = await admin.describe_groups("payments")
    print(f"after joining: {group.state}, {len(group.members)} member(s)")
    await cluster.advance(45_000)  # session.timeout.ms without a heartbeat
    group = await admin.describe_groups("payments")
    print(f"45 s later:    {group.state}, {len(group.members)} member(s)")
    assert group.state.lower() == "empty" and not group.members


async def retention(cluster: rafka.AsyncCluster, admin: AsyncAdmin) -> None:
    """Records older than retention.ms disappear at the next retention check."""
    topic = NewTopic("clicks", 1, 1, configs={"retention.ms": str(HOUR_MS)})
    await admin.create_topics(topic)
    async with cluster.producer() as producer:
        for i in range(3):
            await producer.send_and_wait("clicks", b"click %d" % i)

    async def log_start() -> int:
        clicks = TopicPartition("clicks", 0)
        offsets = await admin.list_offsets({clicks: OffsetSpec.earliest()})
        return offsets[clicks].offset

    print(f"log start offset now:          {await log_start()}")
    await cluster.advance(2 * HOUR_MS)  # retention runs every log.retention.check.interval.ms
    print(f"log start offset 2 hours later: {await log_start()}")
    assert await log_start() == 3


async def main() -> None:
    started = time.monotonic()
    async with (
        rafka.AsyncCluster(clock="virtual", seed=7) as cluster,
        cluster.admin() as admin,
    ):
        await silent_member(cluster, admin)
        await retention(cluster, admin)
        print(f"cluster time passed: {cluster.clock.monotonic_ms() / 1000:.0f} s")
    print(f"wall time passed:    {time.monotonic() - started:.2f} s")


if __name__ == "__main__":
    anyio.run(main)

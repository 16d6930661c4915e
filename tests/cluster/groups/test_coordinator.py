"""The group coordinator inside a broker, in process (requests through the wire codec):
finding coordinators and creating ``__consumer_offsets``, routing (NOT_COORDINATOR), loading
(COORDINATOR_LOAD_IN_PROGRESS), and moving to a new leader of an offsets partition."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import rafka
from rafka.cluster.broker import Broker
from rafka.cluster.groups import OFFSETS_TOPIC, partition_for
from rafka.protocol.messages import (
    DescribeGroupsRequest,
    FindCoordinatorRequest,
    HeartbeatRequest,
    JoinGroupRequest,
    OffsetCommitRequest,
    OffsetFetchRequest,
)
from tests.cluster.handlers.conftest import call, create_topic

pytestmark = pytest.mark.anyio

CONFIG = {"group.initial.rebalance.delay.ms": 0}
NOT_COORDINATOR, LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, INVALID_REQUEST = 16, 14, 15, 42


def coordinator_of(cluster: rafka.AsyncCluster, group: str) -> Broker:
    part = cluster.core.controller.image.partition(OFFSETS_TOPIC, partition_for(group, 50))
    assert part is not None
    return cluster.brokers[part.leader]


def other_than(cluster: rafka.AsyncCluster, broker: Broker) -> Broker:
    return next(b for b in cluster.brokers.values() if b is not broker)


async def find(broker: Broker, key: str, version: int = 3, key_type: int = 0) -> Any:
    return await call(broker, FindCoordinatorRequest(key=key, key_type=key_type), version)


async def commit(broker: Broker, group: str, topic: str, offsets: dict[int, int]) -> list[int]:
    request = OffsetCommitRequest(
        group_id=group,
        topics=[
            OffsetCommitRequest.OffsetCommitRequestTopic(
                name=topic,
                partitions=[
                    OffsetCommitRequest.OffsetCommitRequestPartition(p, o, 1, "meta")
                    for p, o in offsets.items()
                ],
            )
        ],
    )
    response = await call(broker, request, 9)
    return [p.error_code for p in response.topics[0].partitions]


async def fetch(broker: Broker, group: str, topic: str) -> tuple[int, dict[int, int]]:
    request = OffsetFetchRequest(
        groups=[
            OffsetFetchRequest.OffsetFetchRequestGroup(
                group_id=group,
                topics=[
                    OffsetFetchRequest.OffsetFetchRequestTopics(
                        name=topic, partition_indexes=[0, 1]
                    )
                ],
            )
        ]
    )
    (group_out,) = (await call(broker, request, 9)).groups
    if group_out.error_code:
        return group_out.error_code, {}
    return 0, {p.partition_index: p.committed_offset for p in group_out.topics[0].partitions}


async def test_find_coordinator_creates_the_offsets_topic() -> None:
    async with rafka.AsyncCluster(brokers=3, seed=3, config=CONFIG) as cluster:
        broker = cluster.brokers[1]
        response = await find(broker, "g1")
        assert (response.error_code, response.error_message) == (0, "NONE")
        topic = cluster.core.controller.image.topics[OFFSETS_TOPIC]
        assert len(topic.partitions) == 50
        assert {len(p.replicas) for p in topic.partitions.values()} == {3}
        assert cluster.core.controller.image.topic_configs(OFFSETS_TOPIC) == {
            "cleanup.policy": "compact",
            "compression.type": "producer",
            "segment.bytes": "104857600",
        }
        assert response.node_id == coordinator_of(cluster, "g1").node_id
        batched = await call(
            broker, FindCoordinatorRequest(key_type=0, coordinator_keys=["a", "b", "c"]), 4
        )
        assert [(c.key, c.error_code, c.node_id) for c in batched.coordinators] == [
            (k, 0, coordinator_of(cluster, k).node_id) for k in "abc"
        ]
        v0 = await find(broker, "g1", version=0)
        assert (v0.error_code, v0.node_id) == (0, response.node_id)
        txn = await find(broker, "txn", key_type=1)
        assert (txn.error_code, txn.node_id) == (COORDINATOR_NOT_AVAILABLE, -1)
        share = await call(broker, FindCoordinatorRequest(key_type=2, coordinator_keys=["s"]), 6)
        assert share.coordinators[0].error_code == INVALID_REQUEST


async def test_offsets_topic_replication_is_capped_unless_set_explicitly() -> None:
    async with rafka.AsyncCluster(brokers=2, config=CONFIG) as cluster:
        assert (await find(cluster.brokers[1], "g")).error_code == 0
        topic = cluster.core.controller.image.topics[OFFSETS_TOPIC]
        assert {len(p.replicas) for p in topic.partitions.values()} == {2}
    strict = {**CONFIG, "offsets.topic.replication.factor": 3, "offsets.topic.num.partitions": 4}
    async with rafka.AsyncCluster(brokers=2, config=strict) as cluster:
        response = await find(cluster.brokers[1], "g")
        assert (response.error_code, response.node_id) == (COORDINATOR_NOT_AVAILABLE, -1)
        assert OFFSETS_TOPIC not in cluster.core.controller.image.topics


async def test_requests_to_another_broker_get_not_coordinator() -> None:
    async with rafka.AsyncCluster(brokers=3, seed=5, config=CONFIG) as cluster:
        await find(cluster.brokers[1], "routed")
        await create_topic(cluster.brokers[1], "data", 2, 3)
        wrong = other_than(cluster, coordinator_of(cluster, "routed"))
        join = await call(
            wrong,
            JoinGroupRequest(
                group_id="routed",
                session_timeout_ms=10_000,
                protocol_type="consumer",
                protocols=[JoinGroupRequest.JoinGroupRequestProtocol("range", b"")],
            ),
            9,
        )
        assert join.error_code == NOT_COORDINATOR
        assert await commit(wrong, "routed", "data", {0: 1}) == [NOT_COORDINATOR]
        assert (await fetch(wrong, "routed", "data"))[0] == NOT_COORDINATOR
        described = await call(wrong, DescribeGroupsRequest(groups=["routed"]), 5)
        assert described.groups[0].error_code == NOT_COORDINATOR
        heartbeat = await call(wrong, HeartbeatRequest("routed", 1, "m"), 4)
        assert heartbeat.error_code == NOT_COORDINATOR


async def test_loading_answers_load_in_progress_then_serves_the_log() -> None:
    async with rafka.AsyncCluster(config=CONFIG) as cluster:
        broker = cluster.brokers[1]
        await find(broker, "loaded")
        await create_topic(broker, "data", 2)
        assert await commit(broker, "loaded", "data", {0: 11, 1: 12}) == [0, 0]
        coordinator = broker.group_coordinator
        index = coordinator.partition_for("loaded")
        partition = broker.replica_manager.partitions[(OFFSETS_TOPIC, index)]
        # The broker resigns and is elected again: the partition is read back from its log.
        coordinator.on_leadership(partition, False)
        assert (await fetch(broker, "loaded", "data"))[0] == NOT_COORDINATOR
        coordinator.on_leadership(partition, True)
        assert (await fetch(broker, "loaded", "data"))[0] == LOAD_IN_PROGRESS
        heartbeat = await call(broker, HeartbeatRequest("loaded", 1, "m"), 4)
        assert heartbeat.error_code == 0  # Kafka answers heartbeats blindly while loading
        with anyio.fail_after(5):
            while (result := await fetch(broker, "loaded", "data"))[0] == LOAD_IN_PROGRESS:
                await anyio.sleep(0.01)
        assert result == (0, {0: 11, 1: 12})


async def test_a_new_leader_of_the_offsets_partition_takes_over() -> None:
    async with rafka.AsyncCluster(brokers=3, seed=9, config=CONFIG) as cluster:
        await find(cluster.brokers[1], "moving")
        await create_topic(cluster.brokers[1], "data", 2, 3)
        old = coordinator_of(cluster, "moving")
        assert await commit(old, "moving", "data", {0: 21, 1: 22}) == [0, 0]
        cluster.core.controller.fence_broker(old.node_id)
        new = coordinator_of(cluster, "moving")
        assert new is not old
        assert (await fetch(old, "moving", "data"))[0] == NOT_COORDINATOR
        with anyio.fail_after(5):
            while (result := await fetch(new, "moving", "data"))[0] == LOAD_IN_PROGRESS:
                await anyio.sleep(0.01)
        assert result == (0, {0: 21, 1: 22})
        assert await commit(new, "moving", "data", {0: 23}) == [0]
        assert await fetch(new, "moving", "data") == (0, {0: 23, 1: 22})

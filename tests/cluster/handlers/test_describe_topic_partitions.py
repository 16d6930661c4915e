"""DescribeTopicPartitions: pages of partitions with a cursor, and topic errors."""

from __future__ import annotations

from typing import Any

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

import rafka
from rafka import errors
from rafka.cluster.handlers.metadata import TOPIC_OPERATIONS
from rafka.protocol.messages import DescribeTopicPartitionsRequest
from tests.cluster.handlers.conftest import call, create_topic

pytestmark = pytest.mark.anyio

T = DescribeTopicPartitionsRequest


async def describe(
    cluster: rafka.AsyncCluster,
    topics: list[str],
    limit: int = 2000,
    cursor: tuple[str, int] | None = None,
) -> Any:
    req = T(
        topics=[T.TopicRequest(t) for t in topics],
        response_partition_limit=limit,
        cursor=None if cursor is None else T.Cursor(*cursor),
    )
    return await call(cluster.brokers[1], req, 0)


def pages(response: Any) -> list[tuple[str, int, list[int]]]:
    return [
        (t.name, t.error_code, [p.partition_index for p in t.partitions]) for t in response.topics
    ]


def cursor(response: Any) -> tuple[str, int] | None:
    c = response.next_cursor
    return None if c is None else (c.topic_name, c.partition_index)


async def test_topics_and_errors(cluster: rafka.AsyncCluster) -> None:
    await create_topic(cluster.brokers[1], "a", 2, 3)
    await create_topic(cluster.brokers[1], "b", 3, 2)
    response = await describe(cluster, ["b", "a", "nope", "bad/x", "b"])
    assert pages(response) == [
        ("a", 0, [0, 1]),
        ("b", 0, [0, 1, 2]),
        ("bad/x", errors.InvalidTopicExceptionError.code, []),
        ("nope", errors.UnknownTopicOrPartitionError.code, []),
    ]
    assert cursor(response) is None
    image = cluster.core.controller.image
    for topic in response.topics:
        assert topic.topic_authorized_operations == TOPIC_OPERATIONS
        if topic.error_code == 0:
            assert topic.topic_id == image.topics[topic.name].topic_id
            for p in topic.partitions:
                part = image.topics[topic.name].partitions[p.partition_index]
                assert (p.leader_id, p.leader_epoch, p.replica_nodes, p.isr_nodes) == (
                    part.leader,
                    part.leader_epoch,
                    part.replicas,
                    part.isr,
                )
                assert (p.eligible_leader_replicas, p.last_known_elr, p.offline_replicas) == (
                    [],
                    [],
                    [],
                )
    everything = await describe(cluster, [])
    assert pages(everything) == [("a", 0, [0, 1]), ("b", 0, [0, 1, 2])]


async def test_pagination(cluster: rafka.AsyncCluster) -> None:
    for name, count in (("p1", 2), ("p2", 3), ("p3", 1)):
        await create_topic(cluster.brokers[1], name, count, 1)
    first = await describe(cluster, [], limit=3)
    assert (pages(first), cursor(first)) == ([("p1", 0, [0, 1]), ("p2", 0, [0])], ("p2", 1))
    second = await describe(cluster, [], limit=3, cursor=("p2", 1))
    assert (pages(second), cursor(second)) == ([("p2", 0, [1, 2]), ("p3", 0, [0])], None)
    exact = await describe(cluster, ["p1", "p3"], limit=2)
    assert (pages(exact), cursor(exact)) == ([("p1", 0, [0, 1])], ("p3", 0))
    at_least_one = await describe(cluster, ["p2"], limit=0)
    assert (pages(at_least_one), cursor(at_least_one)) == ([("p2", 0, [0])], ("p2", 1))
    past_the_end = await describe(cluster, ["p1", "p3"], cursor=("p1", 9))
    assert pages(past_the_end) == [("p1", 0, []), ("p3", 0, [0])]


@pytest.mark.parametrize(
    ("topics", "start", "message"),
    [
        (["p1"], ("p2", 0), "topic list should contain the cursor topic: p2"),
        (["p1"], ("p1", -1), "cursor partition must be valid"),
    ],
)
async def test_bad_cursor(
    cluster: rafka.AsyncCluster, topics: list[str], start: tuple[str, int], message: str
) -> None:
    await create_topic(cluster.brokers[1], "p1", 1, 1)
    response = await describe(cluster, topics, cursor=start)
    assert [(t.name, t.error_code, t.partitions) for t in response.topics] == [
        ("p1", errors.InvalidRequestError.code, [])
    ]


async def test_fenced_leader(cluster: rafka.AsyncCluster) -> None:
    await create_topic(cluster.brokers[1], "solo", 1, 1)
    part = cluster.core.controller.image.partition("solo", 0)
    assert part is not None
    cluster.core.controller.fence_broker(part.leader)
    response = await describe(cluster, ["solo"])
    (p,) = response.topics[0].partitions
    assert (p.error_code, p.leader_id, p.offline_replicas) == (0, -1, [part.replicas[0]])


def test_kafka_python(tcp_cluster: rafka.Cluster) -> None:
    admin = KafkaAdminClient(bootstrap_servers=tcp_cluster.bootstrap_servers)
    try:
        admin.create_topics([NewTopic("kp-dtp", 3, 2)])
        result = admin.describe_topic_partitions(["kp-dtp"], response_partition_limit=2)
        (topic,) = result["topics"]
        assert [p["partition_index"] for p in topic["partitions"]] == [0, 1]
        assert result["next_cursor"]["topic_name"] == "kp-dtp"
        rest = admin.describe_topic_partitions(["kp-dtp"], cursor=result["next_cursor"])
        assert [p["partition_index"] for p in rest["topics"][0]["partitions"]] == [2]
    finally:
        admin.close()

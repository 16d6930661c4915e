"""Bugs found in review, each pinned by the test that would have caught it."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

import rafka
from rafka.cluster.config import BrokerConfig
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import (
    CreateTopicsRequest,
    DeleteRecordsRequest,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ProduceRequest,
)
from rafka.protocol.records import encode_batch

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_short_broker_configs_parse() -> None:
    config = BrokerConfig.from_dict({"offsets.topic.replication.factor": "1"})
    assert config.get("offsets.topic.replication.factor") == 1


async def _create(broker: object, name: str, partitions: int = 1, rf: int = 1) -> None:
    T = CreateTopicsRequest
    await broker.handle(  # type: ignore[attr-defined]
        RequestContext(19, 7, 1, "t"),
        T(topics=[T.CreatableTopic(name, partitions, rf)], timeout_ms=1000),
    )


async def _produce(broker: object, topic: str, n: int) -> None:
    P = ProduceRequest
    batch = encode_batch([(i, None, b"v", ()) for i in range(n)])
    await broker.handle(  # type: ignore[attr-defined]
        RequestContext(0, 9, 2, "t"),
        P(
            acks=-1,
            timeout_ms=5000,
            topic_data=[
                P.TopicProduceData(topic, partition_data=[P.PartitionProduceData(0, batch)])
            ],
        ),
    )


async def test_list_offsets_old_versions_encode() -> None:
    async with rafka.AsyncCluster() as cluster:
        broker = cluster.brokers[1]
        await _create(broker, "t")
        await _produce(broker, "t", 3)
        L = ListOffsetsRequest
        for version in (1, 3, 4, 10):
            response = await broker.handle(
                RequestContext(2, version, 3, "t"),
                L(
                    replica_id=-1,
                    topics=[L.ListOffsetsTopic("t", [L.ListOffsetsPartition(0, -1, -1)])],
                ),
            )
            assert isinstance(response, ListOffsetsResponse)
            response.encode(version)  # v1-3 cannot carry a leader epoch
            assert response.topics[0].partitions[0].offset == 3


async def test_disk_cluster_without_listener_starts(tmp_path: Path) -> None:
    async with rafka.AsyncCluster(data_dir=tmp_path) as cluster:
        await _create(cluster.brokers[1], "t")


async def test_followers_follow_the_log_start_offset() -> None:
    async with rafka.AsyncCluster(brokers=2) as cluster:
        leader = cluster.brokers[1]
        await _create(leader, "d", rf=2)
        image = leader.controller.image.topics["d"].partitions[0]
        leader = cluster.brokers[image.leader]
        follower = cluster.brokers[next(r for r in image.replicas if r != image.leader)]
        await _produce(leader, "d", 10)
        D = DeleteRecordsRequest
        await leader.handle(
            RequestContext(21, 2, 4, "t"),
            D(
                topics=[D.DeleteRecordsTopic("d", [D.DeleteRecordsPartition(0, 6)])],
                timeout_ms=1000,
            ),
        )
        flog = follower.replica_manager.partitions[("d", 0)].log
        deadline = time.monotonic() + 5
        while flog.log_start_offset < 6 and time.monotonic() < deadline:
            await anyio.sleep(0.01)
        assert flog.log_start_offset == 6


async def test_dynamic_cluster_defaults_reach_existing_logs() -> None:
    from rafka.protocol.messages import IncrementalAlterConfigsRequest as I

    async with rafka.AsyncCluster() as cluster:
        broker = cluster.brokers[1]
        await _create(broker, "dyn")
        log = broker.replica_manager.partitions[("dyn", 0)].log
        assert log.config.retention_ms == 7 * 24 * 3600 * 1000
        await broker.handle(
            RequestContext(44, 1, 5, "t"),
            I(
                resources=[
                    I.AlterConfigsResource(
                        4, "", [I.AlterableConfig("log.retention.ms", 0, "60000")]
                    )
                ]
            ),
        )
        assert log.config.retention_ms == 60000


async def test_listeners_config_reports_the_bound_address() -> None:
    """DescribeConfigs said PLAINTEXT://127.0.0.1:9092 whatever port a broker had bound."""
    from rafka.clients.admin import ConfigResource

    async with rafka.AsyncCluster(brokers=2, listen=True) as cluster, cluster.admin() as admin:
        ports = [b.port for b in cluster.brokers.values()]
        for node_id, port in zip(cluster.brokers, ports, strict=True):
            entry = (await admin.describe_configs(ConfigResource.broker(node_id)))["listeners"]
            assert entry.value == f"PLAINTEXT://127.0.0.1:{port}"

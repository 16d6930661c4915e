"""DescribeLogDirs: the broker's log directory (memory or disk) and its partitions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

import rafka
from rafka.protocol.messages import DescribeLogDirsRequest
from tests.cluster.handlers.conftest import call, create_topic, leader_of, produce

pytestmark = pytest.mark.anyio

L = DescribeLogDirsRequest


def request(topics: dict[str, list[int]] | None) -> L:
    if topics is None:
        return L(topics=None)
    return L(topics=[L.DescribableLogDirTopic(t, p) for t, p in topics.items()])


def summary(result: Any) -> dict[str, list[tuple[int, int, int, bool]]]:
    return {
        t.name: [
            (p.partition_index, p.partition_size, p.offset_lag, p.is_future_key)
            for p in t.partitions
        ]
        for t in result.topics
    }


@pytest.mark.parametrize("version", [1, 4])
async def test_in_memory(cluster: rafka.AsyncCluster, version: int) -> None:
    await create_topic(cluster.brokers[1], "a", 2, 3)
    await create_topic(cluster.brokers[1], "b", 1, 3)
    await produce(cluster, "a", 4)
    broker = leader_of(cluster, "a")
    size = broker.replica_manager.partitions[("a", 0)].log.size
    assert size > 0
    response = await call(broker, request(None), version)
    assert response.error_code == 0
    (result,) = response.results
    assert (result.error_code, result.log_dir) == (0, "/tmp/kafka-logs")
    assert (result.total_bytes, result.usable_bytes) == (-1, -1)
    assert summary(result) == {
        "a": [(0, size, 0, False), (1, 0, 0, False)],
        "b": [(0, 0, 0, False)],
    }
    response = await call(broker, request({"a": [0, 7], "missing": [0]}), version)
    assert summary(response.results[0]) == {"a": [(0, size, 0, False)]}
    response = await call(broker, request({}), version)
    assert [(r.log_dir, r.topics) for r in response.results] == [("/tmp/kafka-logs", [])]


async def test_configured_log_dirs() -> None:
    async with rafka.AsyncCluster(config={"log.dirs": "/data/k1,/data/k2"}) as cluster:
        response = await call(cluster.brokers[1], request(None), 2)
        assert [r.log_dir for r in response.results] == ["/data/k1"]


async def test_on_disk(tmp_path: Path) -> None:
    # listen=True: a disk cluster registers its brokers' ports in the metadata log
    async with rafka.AsyncCluster(data_dir=tmp_path, seed=5, listen=True) as cluster:
        await create_topic(cluster.brokers[1], "disk", 1, 1)
        await produce(cluster, "disk", 3)
        response = await call(cluster.brokers[1], request(None), 4)
        (result,) = response.results
        assert result.log_dir == os.path.abspath(tmp_path / "broker-1")
        assert result.total_bytes > 0 and 0 < result.usable_bytes <= result.total_bytes
        ((index, size, lag, future),) = summary(result)["disk"]
        assert (index, lag, future) == (0, 0, False)
        assert size == cluster.brokers[1].replica_manager.partitions[("disk", 0)].log.size > 0


def test_kafka_python(tcp_cluster: rafka.Cluster) -> None:
    admin = KafkaAdminClient(bootstrap_servers=tcp_cluster.bootstrap_servers)
    try:
        admin.create_topics([NewTopic("kp-dirs", 2, 3)])
        described = admin.describe_log_dirs({"kp-dirs": [0, 1]})
        assert sorted(d["broker"] for d in described) == [1, 2, 3]
        for broker in described:
            (log_dir,) = broker["log_dirs"]
            assert (log_dir["error_code"], log_dir["log_dir"]) == (0, "/tmp/kafka-logs")
            (topic,) = log_dir["topics"]
            assert topic["name"] == "kp-dirs"
            assert sorted(p["partition_index"] for p in topic["partitions"]) == [0, 1]
    finally:
        admin.close()

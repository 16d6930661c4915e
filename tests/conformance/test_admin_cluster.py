"""Admin conformance: describing the cluster and its log directories; a closed client."""

from __future__ import annotations

import pytest

from rafka import errors
from rafka.clients.admin import LogDirDescription, NewTopic, TopicPartition
from tests.conformance.conftest import Target, eventually


async def test_describe_cluster(target: Target) -> None:
    async with target.admin() as admin:
        cluster = await admin.describe_cluster()
    assert isinstance(cluster.cluster_id, str) and len(cluster.cluster_id) == 22
    assert [b.node_id for b in cluster.brokers] == target.broker_ids
    assert cluster.controller_id in target.broker_ids
    if not target.in_process:
        host, _, port = (target.bootstrap_servers or "").partition(":")
        assert [(b.host, b.port) for b in cluster.brokers] == [(host, int(port))]


async def test_describe_log_dirs(target: Target) -> None:
    broker = target.broker_ids[0]
    async with target.admin() as admin:
        name = target.unique_topic()
        await admin.create_topics(NewTopic(name, 2))
        await eventually(lambda: admin.describe_topics(name))
        async with target.producer(linger_ms=0) as producer:
            await producer.send_and_wait(name, b"x" * 100, partition=1)

        async def described() -> dict[str, LogDirDescription]:
            dirs = await admin.describe_log_dirs(broker)
            assert len(dirs) == 1
            [(path, log_dir)] = dirs.items()
            assert log_dir.path == path and log_dir.error is None
            assert log_dir.replicas[TopicPartition(name, 1)].size > 100
            return dirs

        dirs = await eventually(described)
        [log_dir] = dirs.values()
        empty = log_dir.replicas[TopicPartition(name, 0)]
        assert (empty.size, empty.offset_lag, empty.is_future) == (0, 0, False)
        assert log_dir.total_bytes is None or log_dir.total_bytes > 0
        every = await admin.describe_log_dirs()
        assert list(every) == [broker]
        assert TopicPartition(name, 1) in next(iter(every[broker].values())).replicas
        with pytest.raises(errors.ClientTimeoutError):
            await admin.describe_log_dirs(broker + 100, timeout=0.3)


async def test_closed_admin(target: Target) -> None:
    admin = target.admin()
    async with admin:
        assert (await admin.describe_cluster()).brokers
    assert admin.closed
    with pytest.raises(errors.ClientClosedError):
        await admin.list_topics()
    with pytest.raises(errors.ClientClosedError):
        await admin.describe_topics(["a"])
    with pytest.raises(errors.ClientClosedError):
        await admin.start()
    await admin.close()  # again: nothing to do

"""The synchronous ``rafka.Admin``: on the cluster's own event loop (``cluster.admin()``), on
its own loop thread over TCP, and against the Apache Kafka reference broker."""

from __future__ import annotations

import threading

import pytest

import rafka
from rafka import errors
from rafka.clients.admin import (
    ConfigResource,
    CreatedTopic,
    NewTopic,
    OffsetSpec,
    Results,
    TopicPartition,
)
from tests.peers.kafka_broker import KafkaBroker


def _scenario(admin: rafka.Admin, name: str) -> None:
    created = admin.create_topics(NewTopic(name, 2, configs={"retention.ms": 60000}))
    assert isinstance(created, CreatedTopic) and created.num_partitions == 2
    for _ in range(200):  # the reference broker's metadata catches up shortly after
        try:
            described = admin.describe_topics(name)
            break
        except errors.UnknownTopicOrPartitionError:
            threading.Event().wait(0.05)
    assert [p.partition for p in described.partitions] == [0, 1]
    assert name in admin.list_topics()
    retention = admin.describe_configs(ConfigResource.topic(name))["retention.ms"]
    assert retention.value == "60000"
    offsets = admin.list_offsets({(name, 0): OffsetSpec.latest(), (name, 1): OffsetSpec.earliest()})
    assert isinstance(offsets, Results)
    assert [o.offset for o in offsets.values()] == [0, 0]
    assert offsets.keys() == {TopicPartition(name, 0), TopicPartition(name, 1)}
    results = admin.delete_topics([name, f"{name}-missing"])
    assert results[name] is None
    assert isinstance(results.errors[f"{name}-missing"], errors.UnknownTopicOrPartitionError)
    assert admin.describe_cluster().brokers


def test_cluster_admin_runs_on_the_cluster_loop() -> None:
    with rafka.Cluster(brokers=2) as cluster, cluster.admin(through_codec=True) as admin:
        assert isinstance(admin, rafka.Admin)
        _scenario(admin, "sync")
        assert [b.node_id for b in admin.describe_cluster().brokers] == [1, 2]
    assert admin.closed
    with pytest.raises(errors.ClientClosedError):
        admin.list_topics()


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_standalone_admin_has_its_own_loop(backend: str) -> None:
    with rafka.Cluster(listen=True) as cluster:
        with rafka.Admin(bootstrap_servers=cluster.bootstrap_servers, backend=backend) as admin:
            assert admin.async_admin.config["bootstrap.servers"] == [cluster.bootstrap_servers]
            _scenario(admin, "standalone")
        with pytest.raises(errors.ClientClosedError):
            admin.describe_topics("standalone")


def test_sync_admin_against_apache_kafka(kafka_broker: KafkaBroker) -> None:
    with rafka.Admin(bootstrap_servers=kafka_broker.bootstrap_servers) as admin:
        _scenario(admin, f"sync-admin-{threading.get_ident()}")


def test_sync_admin_errors_are_typed() -> None:
    with pytest.raises(errors.ConfigError):
        rafka.Admin(bootstrap_servers="localhost:9092", nonsense=1)
    with rafka.Cluster() as cluster, cluster.admin() as admin:
        with pytest.raises(errors.UnknownTopicOrPartitionError):
            admin.describe_topics("nope")
        with pytest.raises(errors.ClientTimeoutError):
            admin.describe_configs(ConfigResource.broker(9), timeout=0.2)

"""Topic administration and metadata, over TCP with a real client (kafka-python's admin)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import InvalidReplicationFactorError, TopicAlreadyExistsError

import rafka


@pytest.fixture(scope="module")
def cluster() -> Iterator[rafka.Cluster]:
    with rafka.Cluster(brokers=3, listen=True) as c:
        yield c


@pytest.fixture
def admin(cluster: rafka.Cluster) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    yield client
    client.close()


def test_create_describe_delete(admin: KafkaAdminClient) -> None:
    admin.create_topics([NewTopic("orders", 3, 2, topic_configs={"retention.ms": "60000"})])
    assert "orders" in admin.list_topics()
    (described,) = admin.describe_topics(["orders"])
    partitions = sorted(described["partitions"], key=lambda p: p["partition_index"])
    assert [p["partition_index"] for p in partitions] == [0, 1, 2]
    for p in partitions:
        assert len(p["replica_nodes"]) == 2
        assert p["leader_id"] in p["replica_nodes"]
        assert set(p["isr_nodes"]) == set(p["replica_nodes"])
    admin.delete_topics(["orders"])
    assert "orders" not in admin.list_topics()


def test_create_errors(admin: KafkaAdminClient) -> None:
    admin.create_topics([NewTopic("twice", 1, 1)])
    with pytest.raises(TopicAlreadyExistsError):
        admin.create_topics([NewTopic("twice", 1, 1)])
    with pytest.raises(InvalidReplicationFactorError):
        admin.create_topics([NewTopic("too-many-replicas", 1, 4)])


def test_describe_cluster(cluster: rafka.Cluster, admin: KafkaAdminClient) -> None:
    described = admin.describe_cluster()
    assert described["cluster_id"] == cluster.cluster_id
    assert sorted(b["broker_id"] for b in described["brokers"]) == [1, 2, 3]


def test_node_id_and_advertised_listeners() -> None:
    config = {
        "node.id": 7,
        "advertised.listeners": "PLAINTEXT://kafka.example:0",
        "broker.rack": "r1",
    }
    with rafka.Cluster(listen=True, config=config) as c:
        (broker,) = c.brokers.values()
        assert broker.node_id == 7
        image = broker.controller.image.brokers[7]
        assert (image.host, image.port, image.rack) == ("kafka.example", broker.port, "r1")

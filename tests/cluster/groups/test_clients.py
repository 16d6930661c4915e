"""Real clients run consumer groups against rafka: rafka's own Consumer, confluent-kafka,
kafka-python, aiokafka and the Java KafkaConsumer (``group.protocol=classic``), three members
over six partitions -- all of one client, or rafka's, Java's and librdkafka's in one group;
and the KIP-848 consumer protocol (``group.protocol=consumer``) with the Java KafkaConsumer
and librdkafka, on rafka and on Apache Kafka.

Each scenario: three members join and share the partitions; one leaves cleanly, then one is
killed without leaving (its session expires); after every rebalance no partition is owned
twice and none is orphaned (by the members' accounts and by the coordinator's stored
assignment); every record is consumed and its offset committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence

import pytest
from confluent_kafka import Producer

import rafka
from tests.cluster.groups.conftest import KAFKA_GROUP_CONFIG
from tests.cluster.groups.driver import (
    PARTITIONS,
    GroupView,
    Member,
    create_topic,
    journal_on_failure,
    wait_settled,
    wait_until,
)
from tests.peers.kafka_broker import KafkaBroker

PER_ROUND = 10  # records per partition per round


def produce_round(bootstrap: str, topic: str, round_: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for partition in range(PARTITIONS):
        for i in range(PER_ROUND):
            producer.produce(topic, value=f"{round_}-{partition}-{i}".encode(), partition=partition)
    assert producer.flush(20) == 0


def wait_all_committed(view: GroupView, topic: str, end: int, members: list[Member]) -> None:
    wait_until(
        lambda: view.committed(topic) == dict.fromkeys(range(PARTITIONS), end),
        40,
        lambda: (
            f"committed {view.committed(topic)}, expected {end} each; "
            f"{[(m.client, m.alive, m.assignment()) for m in members]}"
        ),
    )


def run_group_scenario(
    bootstrap: str,
    clients: str | Sequence[str],
    replication: int = 1,
    protocol: str | Sequence[str] = "classic",
) -> None:
    """``clients``: one client's name (three members of it) or each member's client;
    ``protocol``: the group protocol they use (``classic`` or ``consumer``, KIP-848), or each
    member's (a consumer group with classic members in it)."""
    kinds = [clients] * 3 if isinstance(clients, str) else list(clients)
    protocols = [protocol] * len(kinds) if isinstance(protocol, str) else list(protocol)
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"{kinds[0]}-{suffix}", f"group-{kinds[0]}-{suffix}"
    create_topic(bootstrap, topic, replication)
    members = [
        Member(client, bootstrap, group, topic, group_protocol=p)
        for client, p in zip(kinds, protocols, strict=True)
    ]
    view = GroupView(bootstrap, group, "consumer" if "consumer" in protocols else "classic")
    try:
        wait_settled(view, members, PARTITIONS)
        produce_round(bootstrap, topic, 1)
        wait_all_committed(view, topic, PER_ROUND, members)

        leaving, killed, last = members
        leaving.stop()  # a clean LeaveGroup
        wait_settled(view, [killed, last], PARTITIONS)
        produce_round(bootstrap, topic, 2)
        wait_all_committed(view, topic, 2 * PER_ROUND, [killed, last])

        killed.kill()  # no LeaveGroup: the coordinator notices when its session expires
        wait_settled(view, [last], PARTITIONS)
        produce_round(bootstrap, topic, 3)
        wait_all_committed(view, topic, 3 * PER_ROUND, [last])

        consumed = set().union(*(m.consumed() for m in members))
        everything = {(p, o) for p in range(PARTITIONS) for o in range(3 * PER_ROUND)}
        assert everything <= consumed
        last.stop()
        wait_until(lambda: view.state() == "Empty", 20, view.state)
        assert view.committed(topic) == dict.fromkeys(range(PARTITIONS), 3 * PER_ROUND)
    finally:
        view.close()
        for member in members:
            member.close()


@pytest.mark.parametrize("client", ["rafka", "confluent-kafka", "kafka-python", "aiokafka"])
def test_python_clients_run_a_group(group_cluster: rafka.Cluster, client: str) -> None:
    with journal_on_failure(group_cluster):
        run_group_scenario(group_cluster.bootstrap_servers, client)


@pytest.mark.java
def test_java_consumer_runs_a_classic_group(
    group_cluster: rafka.Cluster, java_clients: object
) -> None:
    with journal_on_failure(group_cluster):
        run_group_scenario(group_cluster.bootstrap_servers, "java")


def test_group_on_three_brokers(group_cluster3: rafka.Cluster) -> None:
    """The coordinator on a three-broker cluster: ``__consumer_offsets`` replicated three
    times, commits acknowledged once the followers have them."""
    run_group_scenario(group_cluster3.bootstrap_servers, "confluent-kafka", replication=3)


def test_the_same_scenario_on_apache_kafka(
    kafka_broker_factory: Callable[[Mapping[str, object]], KafkaBroker],
) -> None:
    """The reference: the scenario and its checks hold on Apache Kafka as on rafka."""
    kafka = kafka_broker_factory(KAFKA_GROUP_CONFIG)
    run_group_scenario(kafka.bootstrap_servers, "confluent-kafka")


#: One group, three clients: each member's client differs, so every assignment the leader
#: computes is read by the other two (all offer ``range``).
MIXED = ("rafka", "java", "confluent-kafka")


@pytest.mark.java
def test_rafka_java_and_librdkafka_share_a_group(
    group_cluster: rafka.Cluster, java_clients: object
) -> None:
    with journal_on_failure(group_cluster):
        run_group_scenario(group_cluster.bootstrap_servers, MIXED)


@pytest.mark.java
def test_the_mixed_group_on_apache_kafka(
    kafka_broker_factory: Callable[[Mapping[str, object]], KafkaBroker], java_clients: object
) -> None:
    """rafka's consumer in a group with Java's and librdkafka's on Apache Kafka itself."""
    kafka = kafka_broker_factory(KAFKA_GROUP_CONFIG)
    run_group_scenario(kafka.bootstrap_servers, MIXED)


# ------------------------------------------------------------------ KIP-848 consumer protocol


@pytest.mark.java
def test_java_consumer_runs_a_consumer_protocol_group(
    group_cluster: rafka.Cluster, java_clients: object
) -> None:
    run_group_scenario(group_cluster.bootstrap_servers, "java", protocol="consumer")


@pytest.mark.java
def test_java_consumer_protocol_group_on_apache_kafka(
    kafka_broker_factory: Callable[[Mapping[str, object]], KafkaBroker], java_clients: object
) -> None:
    """The reference: the same scenario and checks with the consumer protocol on Kafka."""
    kafka = kafka_broker_factory(KAFKA_GROUP_CONFIG)
    run_group_scenario(kafka.bootstrap_servers, "java", protocol="consumer")


def test_librdkafka_runs_a_consumer_protocol_group(group_cluster: rafka.Cluster) -> None:
    run_group_scenario(group_cluster.bootstrap_servers, "confluent-kafka", protocol="consumer")


def test_consumer_protocol_group_on_three_brokers(group_cluster3: rafka.Cluster) -> None:
    run_group_scenario(
        group_cluster3.bootstrap_servers, "confluent-kafka", replication=3, protocol="consumer"
    )


def test_librdkafka_consumer_protocol_group_on_apache_kafka(
    kafka_broker_factory: Callable[[Mapping[str, object]], KafkaBroker],
) -> None:
    kafka = kafka_broker_factory(KAFKA_GROUP_CONFIG)
    run_group_scenario(kafka.bootstrap_servers, "confluent-kafka", protocol="consumer")


@pytest.mark.java
def test_java_and_librdkafka_share_a_consumer_protocol_group(
    group_cluster: rafka.Cluster, java_clients: object
) -> None:
    run_group_scenario(
        group_cluster.bootstrap_servers,
        ("java", "confluent-kafka", "java"),
        protocol="consumer",
    )


#: A consumer group with a classic member in it: the Java consumer with each protocol and
#: librdkafka's KIP-848 consumer; the classic member is the one killed (its JoinGroup session
#: timeout expires it).
MIXED_PROTOCOLS = (("java", "consumer"), ("java", "classic"), ("confluent-kafka", "consumer"))


@pytest.mark.java
def test_classic_member_in_a_consumer_group(
    group_cluster: rafka.Cluster, java_clients: object
) -> None:
    run_group_scenario(
        group_cluster.bootstrap_servers,
        [c for c, _ in MIXED_PROTOCOLS],
        protocol=[p for _, p in MIXED_PROTOCOLS],
    )


@pytest.mark.java
def test_classic_member_in_a_consumer_group_on_apache_kafka(
    kafka_broker_factory: Callable[[Mapping[str, object]], KafkaBroker], java_clients: object
) -> None:
    kafka = kafka_broker_factory(KAFKA_GROUP_CONFIG)
    run_group_scenario(
        kafka.bootstrap_servers,
        [c for c, _ in MIXED_PROTOCOLS],
        protocol=[p for _, p in MIXED_PROTOCOLS],
    )

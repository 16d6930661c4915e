"""Smoke test of the interop harness, against Apache Kafka itself.

The reference broker starts (once per session); the Java driver creates one topic per client;
every client peer (kafka-clients, franz-go, confluent-kafka, kafka-python, aiokafka) produces
the same ten records (keyed and unkeyed, headers, a null and an empty value) to its topic, and
every client consumes every topic back: same records, same offsets, same timestamps. Kafka's CLI
tools run against the same broker. If this file passes, later scenario tests can trust the
harness and compare what rafka does with what these peers see from Kafka.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace

import pytest

from tests.peers.clients import (
    ConsumedRecord,
    Delivery,
    DriverClient,
    PeerClient,
    ProduceResult,
    Record,
    generated_records,
)
from tests.peers.kafka_broker import KafkaBroker, KafkaCli, _metadata_brokers
from tests.peers.kafka_fixtures import CLIENT_NAMES

PARTITIONS = 2


def _records() -> list[Record]:
    records = generated_records(10, keyed=True, headers=2)
    records[7] = replace(records[7], value=None)  # a tombstone
    # (no null header value: kafka-python cannot send one)
    records[8] = replace(records[8], value=b"", headers=(("empty", b""), ("h1", b"\x00\xff")))
    records[9] = replace(records[9], key=None)  # unkeyed
    return records


RECORDS = _records()


def _topic(client: str) -> str:
    return f"smoke-{client}"


@pytest.fixture(scope="module")
def topics(kafka_broker: KafkaBroker, java_clients: DriverClient) -> list[str]:
    """One topic per producing client, created in one go by the Java driver (Admin)."""
    names = [_topic(name) for name in CLIENT_NAMES]
    out = java_clients.run(
        "create-topics",
        bootstrap=kafka_broker.bootstrap_servers,
        topic=names,
        partitions=PARTITIONS,
        replication_factor=1,
        config={"message.timestamp.type": "CreateTime"},
    )
    assert [line["type"] for line in out.lines] == ["created"] * len(names), out.lines
    return names


@pytest.fixture(scope="module")
def produced(
    kafka_broker: KafkaBroker, topics: list[str], peer_client: Callable[[str], PeerClient]
) -> Callable[[str], ProduceResult]:
    """``produced(client)``: what producing :data:`RECORDS` with that client returned (it
    produces on first use)."""
    cache: dict[str, ProduceResult] = {}

    def get(name: str) -> ProduceResult:
        if name not in cache:
            client = peer_client(name)
            cache[name] = client.produce(kafka_broker.bootstrap_servers, _topic(name), RECORDS)
        return cache[name]

    return get


def test_broker_serves_metadata(kafka_broker: KafkaBroker) -> None:
    host, _, port = kafka_broker.bootstrap_servers.rpartition(":")
    assert host == "127.0.0.1"
    assert _metadata_brokers(host, int(port), timeout=5) == 1
    assert kafka_broker.is_running()
    assert kafka_broker.startup_seconds is not None and kafka_broker.startup_seconds < 120


@pytest.mark.parametrize("producer", CLIENT_NAMES)
def test_produce(producer: str, produced: Callable[[str], ProduceResult]) -> None:
    deliveries = produced(producer).check().deliveries
    assert [d.index for d in deliveries] == list(range(len(RECORDS)))
    by_partition: dict[int, list[int]] = {}
    for d in deliveries:
        assert d.partition is not None and 0 <= d.partition < PARTITIONS
        assert d.offset is not None
        by_partition.setdefault(d.partition, []).append(d.offset)
    for offsets in by_partition.values():
        assert offsets == list(range(len(offsets))), by_partition


def _check_consumed(deliveries: list[Delivery], consumed: list[ConsumedRecord]) -> None:
    at = {(r.partition, r.offset): r for r in consumed}
    assert len(at) == len(consumed) == len(RECORDS)
    for record, delivery in zip(RECORDS, deliveries, strict=True):
        got = at[(delivery.partition, delivery.offset)]  # type: ignore[index]
        assert got.content == (record.key, record.value, record.headers)
        assert got.timestamp == delivery.timestamp
        assert got.timestamp_type == "CreateTime"
    for partition in range(PARTITIONS):  # in order within each partition
        offsets = [r.offset for r in consumed if r.partition == partition]
        assert offsets == sorted(offsets)


@pytest.mark.parametrize("consumer", CLIENT_NAMES)
@pytest.mark.parametrize("producer", CLIENT_NAMES)
def test_consume(
    producer: str,
    consumer: str,
    kafka_broker: KafkaBroker,
    produced: Callable[[str], ProduceResult],
    peer_client: Callable[[str], PeerClient],
) -> None:
    deliveries = produced(producer).check().deliveries
    client = peer_client(consumer)
    result = client.consume(kafka_broker.bootstrap_servers, _topic(producer), timeout=30)
    _check_consumed(deliveries, result.check().records)


@pytest.mark.parametrize("client", ["java", "franz-go"])
def test_driver_admin_commands(
    client: str,
    kafka_broker: KafkaBroker,
    produced: Callable[[str], ProduceResult],
    peer_client: Callable[[str], PeerClient],
) -> None:
    deliveries = produced("java").check().deliveries
    driver = peer_client(client)
    assert isinstance(driver, DriverClient)
    bootstrap, topic = kafka_broker.bootstrap_servers, _topic("java")

    ends = driver.list_offsets(bootstrap, topic, "latest")
    expected = {p: sum(1 for d in deliveries if d.partition == p) for p in range(PARTITIONS)}
    assert {line["partition"]: line["offset"] for line in ends.of_type("offset")} == expected

    described = driver.describe_topics(bootstrap, topic, "smoke-missing")
    (found,) = described.of_type("topic")
    assert [p["partition"] for p in found["partitions"]] == list(range(PARTITIONS))
    assert all(p["leader"] == 1 and p["isr"] == [1] for p in found["partitions"])
    assert len(base64.urlsafe_b64decode(found["topicId"] + "==")) == 16
    assert [e.error for e in described.errors] == ["UNKNOWN_TOPIC_OR_PARTITION"]

    again = driver.create_topic(bootstrap, topic)
    assert again.error is not None and again.error.error == "TOPIC_ALREADY_EXISTS"


def test_cli_topics_and_offsets(
    kafka_broker: KafkaBroker,
    kafka_cli: KafkaCli,
    topics: list[str],
    produced: Callable[[str], ProduceResult],
) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    deliveries = produced("java").check().deliveries

    code, out, err = kafka_cli("kafka-topics", "--bootstrap-server", bootstrap, "--list")
    assert code == 0, err
    assert set(topics) <= set(out.split())

    result = kafka_cli(
        "kafka-get-offsets", "--bootstrap-server", bootstrap, "--topic", _topic("java")
    )
    result.check()
    ends = {}
    for line in result.stdout.split():  # topic:partition:offset
        _, partition, offset = line.rsplit(":", 2)
        ends[int(partition)] = int(offset)
    assert ends == {p: sum(1 for d in deliveries if d.partition == p) for p in range(PARTITIONS)}


def test_cli_console_clients(kafka_broker: KafkaBroker, kafka_cli: KafkaCli) -> None:
    bootstrap, topic = kafka_broker.bootstrap_servers, "smoke-console"
    kafka_cli("kafka-topics", "--bootstrap-server", bootstrap, "--create", "--topic", topic).check()
    lines = ["one", "two", "three"]
    kafka_cli(
        "kafka-console-producer",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        input="\n".join(lines) + "\n",
    ).check()
    result = kafka_cli(
        "kafka-console-consumer",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--from-beginning",
        "--max-messages",
        str(len(lines)),
        "--timeout-ms",
        "20000",
    ).check()
    assert result.stdout.splitlines() == lines

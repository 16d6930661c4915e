"""Produce and fetch through real clients over TCP, with replication across brokers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KTopicPartition

import rafka


@pytest.fixture(scope="module")
def cluster() -> Iterator[rafka.Cluster]:
    config = {"default.replication.factor": 3, "num.partitions": 3}
    with rafka.Cluster(brokers=3, listen=True, config=config) as c:
        yield c


@pytest.mark.parametrize("compression", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_confluent_kafka_round_trip(cluster: rafka.Cluster, compression: str) -> None:
    topic = f"ck-{compression}"
    producer = Producer(
        {
            "bootstrap.servers": cluster.bootstrap_servers,
            "compression.type": compression,
            "linger.ms": 5,
            "acks": "all",
        }
    )
    errors: list[object] = []
    sent = 600
    for i in range(sent):
        producer.produce(
            topic,
            key=b"key-%d" % i,
            value=b"value-%d" % i,
            headers=[("h", b"%d" % i)],
            on_delivery=lambda err, _msg: errors.append(err) if err else None,
        )
    assert producer.flush(20) == 0
    assert not errors
    consumer = Consumer(
        {
            "bootstrap.servers": cluster.bootstrap_servers,
            "group.id": "unused",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
    got: dict[int, list[tuple[int, bytes, bytes]]] = {}
    deadline = time.monotonic() + 20
    while sum(map(len, got.values())) < sent and time.monotonic() < deadline:
        for msg in consumer.consume(500, 0.5):
            if msg.error():
                raise KafkaException(msg.error())
            got.setdefault(msg.partition(), []).append((msg.offset(), msg.key(), msg.value()))
    consumer.close()
    assert sum(map(len, got.values())) == sent
    for records in got.values():
        assert [o for o, _, _ in records] == list(range(len(records)))  # in order, no gaps
    keys = sorted(int(k.split(b"-")[1]) for records in got.values() for _, k, _ in records)
    assert keys == list(range(sent))


def test_kafka_python_round_trip_with_null_values(cluster: rafka.Cluster) -> None:
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks=1)
    futures = [
        producer.send("kp", key=b"k%d" % i, value=None if i % 2 else b"v", partition=0)
        for i in range(100)
    ]
    producer.flush()
    offsets = [f.get(10).offset for f in futures]
    producer.close()
    assert offsets == list(range(100))
    consumer = KafkaConsumer(
        bootstrap_servers=cluster.bootstrap_servers,
        consumer_timeout_ms=3000,
        enable_auto_commit=False,
    )
    consumer.assign([KTopicPartition("kp", 0)])
    consumer.seek_to_beginning()
    records = list(consumer)
    consumer.close()
    assert [r.offset for r in records] == list(range(100))
    assert [r.value for r in records] == [None if i % 2 else b"v" for i in range(100)]


def test_replicas_catch_up(cluster: rafka.Cluster) -> None:
    producer = Producer({"bootstrap.servers": cluster.bootstrap_servers, "acks": "all"})
    for i in range(50):
        producer.produce("replicated", value=b"%d" % i, partition=0)
    assert producer.flush(10) == 0
    ends = {
        node: broker.replica_manager.partitions[("replicated", 0)].log.log_end_offset
        for node, broker in cluster.brokers.items()
    }
    assert set(ends.values()) == {50}

"""pytest with kafka-python against rafka, through rafka's pytest plugin.

Run it with pytest, or as a script (it runs pytest on itself).
"""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

import rafka


def test_round_trip(rafka_cluster: rafka.Cluster, kafka_bootstrap: str, rafka_topic: str) -> None:
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    metadata = producer.send(rafka_topic, b"hello", headers=[("trace", b"42")]).get(10)
    producer.close()
    assert metadata.offset == 0

    [record] = rafka_cluster.read_topic(rafka_topic)
    assert (record.value, record.headers) == (b"hello", (("trace", b"42"),))

    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, consumer_timeout_ms=5000)
    consumer.assign([TopicPartition(rafka_topic, 0)])
    consumer.seek_to_beginning()
    assert [r.value for r in consumer] == [b"hello"]
    consumer.close()


@pytest.mark.rafka(config={"auto.create.topics.enable": False})
def test_a_cluster_with_its_own_settings(kafka_bootstrap: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        assert admin.list_topics() == []
    finally:
        admin.close()


if __name__ == "__main__":  # run pytest on this file
    import subprocess
    import sys

    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__]
    raise SystemExit(subprocess.call(command))

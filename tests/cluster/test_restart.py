"""A cluster restarted on its data_dir keeps topics, configs and data."""

from __future__ import annotations

from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import rafka


def _consume_all(bootstrap: str, topic: str, partitions: int, expected: int) -> list[bytes]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    values: list[bytes] = []
    for _ in range(40):
        for msg in consumer.consume(1000, 0.5):
            assert not msg.error(), msg.error()
            values.append(msg.value())
        if len(values) >= expected:
            break
    consumer.close()
    return values


def test_restart_keeps_topics_configs_and_data(tmp_path: Path) -> None:
    with rafka.Cluster(brokers=2, listen=True, data_dir=tmp_path) as cluster:
        cluster_id = cluster.cluster_id
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap_servers})
        futures = admin.create_topics(
            [NewTopic("kept", 2, 2, config={"retention.ms": "123456789"})]
        )
        futures["kept"].result(10)
        producer = Producer({"bootstrap.servers": cluster.bootstrap_servers, "acks": "all"})
        for i in range(200):
            producer.produce("kept", value=b"%d" % i, partition=i % 2)
        assert producer.flush(10) == 0
        topic_id = cluster.brokers[1].controller.image.topics["kept"].topic_id

    with rafka.Cluster(brokers=2, listen=True, data_dir=tmp_path) as cluster:
        assert cluster.cluster_id == cluster_id
        image = cluster.brokers[1].controller.image
        assert image.topics["kept"].topic_id == topic_id
        assert image.topic_configs("kept") == {"retention.ms": "123456789"}
        values = _consume_all(cluster.bootstrap_servers, "kept", 2, 200)
        assert sorted(int(v) for v in values) == list(range(200))
        # And it keeps working: new records follow the old ones.
        producer = Producer({"bootstrap.servers": cluster.bootstrap_servers, "acks": "all"})
        producer.produce("kept", value=b"after", partition=0)
        assert producer.flush(10) == 0
        log = cluster.brokers[1].replica_manager.partitions[("kept", 0)].log
        assert log.log_end_offset == 101

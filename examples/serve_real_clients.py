"""Serve real Kafka clients: a 3-broker rafka cluster on loopback, used by kafka-python.

Run it: ``python examples/serve_real_clients.py``. Any client works the same way: give it
``cluster.bootstrap_servers``.
"""

from __future__ import annotations

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

import rafka


def main() -> None:
    with rafka.Cluster(brokers=3, listen=True) as cluster:
        print("bootstrap servers:", cluster.bootstrap_servers)

        admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
        admin.create_topics([NewTopic("greetings", num_partitions=1, replication_factor=3)])
        admin.close()

        producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all")
        for word in ("hello", "from", "rafka"):
            metadata = producer.send("greetings", key=b"k", value=word.encode()).get(10)
            print(f"produced {word!r} at offset {metadata.offset}")
        producer.close()

        consumer = KafkaConsumer(
            bootstrap_servers=cluster.bootstrap_servers, consumer_timeout_ms=2000
        )
        consumer.assign([TopicPartition("greetings", 0)])
        consumer.seek_to_beginning()
        words = [record.value.decode() for record in consumer]
        consumer.close()
        print("consumed:", " ".join(words))
        assert words == ["hello", "from", "rafka"]


if __name__ == "__main__":
    main()

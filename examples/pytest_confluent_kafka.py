"""pytest with confluent-kafka (librdkafka) against rafka, through rafka's pytest plugin.

``kafka_bootstrap`` is the session cluster's ``host:port``; ``rafka_topic`` a fresh topic per
test; ``rafka_cluster`` shows what the broker holds. Run it with pytest, or as a script.
"""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, Producer

import rafka


def test_produce_and_consume_in_a_group(
    rafka_cluster: rafka.Cluster, kafka_bootstrap: str, rafka_topic: str, rafka_group: str
) -> None:
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for i in range(3):
        producer.produce(rafka_topic, value=b"order-%d" % i, key=b"customer-1")
    assert producer.flush(10) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": rafka_group,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.subscribe([rafka_topic])
        values: list[bytes] = []
        while len(values) < 3:
            message = consumer.poll(1.0)
            if message is not None and not message.error():
                values.append(message.value())
        assert values == [b"order-0", b"order-1", b"order-2"]
        consumer.commit(asynchronous=False)

        group = rafka_cluster.wait_for_group_state(rafka_group, "Stable")
        assert group is not None and len(group.members) == 1
        assert group.members[0].assignment == {(rafka_topic, 0)}
        assert group.offsets[(rafka_topic, 0)].offset == 3
    finally:
        consumer.close()


@pytest.mark.rafka_topic(partitions=4)
def test_keys_pick_partitions(
    rafka_cluster: rafka.Cluster, kafka_bootstrap: str, rafka_topic: str
) -> None:
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for _ in range(20):
        producer.produce(rafka_topic, value=b"v", key=b"same-key")
    assert producer.flush(10) == 0
    filled = [p for p in rafka_cluster.describe_topic(rafka_topic).partitions if p.log_end_offset]  # type: ignore[union-attr]
    assert len(filled) == 1 and filled[0].log_end_offset == 20


if __name__ == "__main__":  # run pytest on this file
    import subprocess
    import sys

    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__]
    raise SystemExit(subprocess.call(command))

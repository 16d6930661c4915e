"""pytest with rafka's own clients, through the fixtures of rafka's pytest plugin.

Installing rafka installs the plugin: no conftest needed. Run this file with pytest
(``pytest examples/pytest_rafka_clients.py``, also under ``-n auto`` with pytest-xdist) or as a
script (``python examples/pytest_rafka_clients.py`` runs pytest on itself).
"""

from __future__ import annotations

import pytest

import rafka
from rafka.clients.consumer import AsyncConsumer
from rafka.clients.consumer.sync import Consumer
from rafka.clients.producer import AsyncProducer
from rafka.clients.sync import Producer


def test_produce_and_consume(
    rafka_cluster: rafka.Cluster,
    rafka_topic: str,
    rafka_group: str,
    rafka_producer: Producer,
    rafka_consumer: Consumer,
) -> None:
    # rafka_topic is a fresh topic on the session's cluster; the clients are in process.
    rafka_producer.send(rafka_topic, b"hello", key=b"greeting").result(10)
    rafka_consumer.subscribe([rafka_topic])
    records = []
    while not records:
        records = rafka_consumer.poll(1.0)
    assert [(r.key, r.value) for r in records] == [(b"greeting", b"hello")]
    # The cluster's state, as plain objects.
    assert [r.value for r in rafka_cluster.read_topic(rafka_topic)] == [b"hello"]
    # rafka_consumer is in the group rafka_group.
    group = rafka_cluster.describe_group(rafka_group)
    assert group is not None and group.state == "Stable"


@pytest.mark.rafka(brokers=3)  # this test gets a 3-broker cluster of its own
@pytest.mark.rafka_topic(partitions=3, replication_factor=3)
def test_replicated_topic(rafka_cluster: rafka.Cluster, rafka_topic: str) -> None:
    with rafka_cluster.producer(acks="all") as producer:
        for i in range(30):
            producer.send(rafka_topic, b"%d" % i, partition=i % 3)
    for partition in rafka_cluster.describe_topic(rafka_topic).partitions:  # type: ignore[union-attr]
        assert partition.high_watermark == 10
        assert sorted(partition.isr) == [1, 2, 3]


@pytest.mark.anyio
async def test_async_clients(
    async_rafka_producer: AsyncProducer, async_rafka_consumer: AsyncConsumer, rafka_topic: str
) -> None:
    # The async clients connect over TCP, so they run on the test's own event loop.
    await async_rafka_producer.send_and_wait(rafka_topic, b"async")
    async_rafka_consumer.assign([(rafka_topic, 0)])
    records = await async_rafka_consumer.poll(10.0)
    assert [r.value for r in records] == [b"async"]


if __name__ == "__main__":  # run pytest on this file
    import subprocess
    import sys

    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__]
    raise SystemExit(subprocess.call(command))

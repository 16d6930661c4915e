"""pytest with aiokafka against rafka, through rafka's pytest plugin and anyio's.

aiokafka runs on asyncio, so the module pins anyio's backend to asyncio. Run it with pytest,
or as a script (it runs pytest on itself).
"""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

import rafka


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_consumer_group(
    rafka_cluster: rafka.Cluster, kafka_bootstrap: str, rafka_topic: str, rafka_group: str
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(rafka_topic, b"event-%d" % i)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        rafka_topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=rafka_group,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        values = []
        while len(values) < 5:
            batches = await consumer.getmany(timeout_ms=1000)
            values += [r.value for records in batches.values() for r in records]
        assert values == [b"event-%d" % i for i in range(5)]
        await consumer.commit()
        # Inspecting the cluster from async code: the session cluster runs on its own thread
        # and these calls return at once.
        group = rafka_cluster.describe_group(rafka_group)
        assert group is not None and group.offsets[(rafka_topic, 0)].offset == 5
    finally:
        await consumer.stop()


if __name__ == "__main__":  # run pytest on this file
    import subprocess
    import sys

    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__]
    raise SystemExit(subprocess.call(command))

"""An application with its own on-disk Kafka: an async service that keeps an audit log.

Run it: ``python examples/embedded_app.py [DATA_DIR]``. The broker lives inside the app's
event loop and keeps its partitions in ``DATA_DIR`` in Apache Kafka's own file format, so
``kafka-dump-log`` reads them and nothing is lost when the app stops. The second run below
is the app restarting: it finds the events and its consumer group's committed offset where
the first run left them, and resumes after the last event it processed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import anyio

import rafka
from rafka.clients.admin import NewTopic

TOPIC = "audit"
#: Kafka's defaults, except that a lone group member need not wait 3 s for company.
CONFIG = {"group.initial.rebalance.delay.ms": 0}


async def run_once(data_dir: Path, events: list[str]) -> list[str]:
    """Start the app: record ``events``, then process every event not processed before."""
    async with rafka.AsyncCluster(data_dir=data_dir, config=CONFIG) as cluster:
        async with cluster.admin() as admin:
            if TOPIC not in await admin.list_topics():
                await admin.create_topics(NewTopic(TOPIC, num_partitions=1))

        async with cluster.producer(acks="all") as producer:
            for event in events:
                await producer.send(TOPIC, event.encode())
            await producer.flush()

        processed: list[str] = []
        async with cluster.consumer(
            group_id="auditor", auto_offset_reset="earliest", enable_auto_commit=False
        ) as consumer:
            consumer.subscribe([TOPIC])
            end = (await consumer.end_offsets([(TOPIC, 0)]))[(TOPIC, 0)]
            while not consumer.assignment() or await consumer.position((TOPIC, 0)) < end:
                processed += [(r.value or b"").decode() for r in await consumer.poll(0.2)]
            await consumer.commit()  # the next start resumes after these
        return processed


async def main(data_dir: Path) -> None:
    first = await run_once(data_dir, ["login alice", "login bob"])
    print("first run processed:", first)
    assert first == ["login alice", "login bob"]

    # The app restarts on the same directory: old events stay, only new ones are processed.
    second = await run_once(data_dir, ["logout alice"])
    print("second run processed:", second)
    assert second == ["logout alice"]

    segments = sorted(p.name for p in data_dir.rglob(f"{TOPIC}-0/*.log"))
    print("segment files:", segments)
    assert segments


if __name__ == "__main__":
    if len(sys.argv) > 1:
        anyio.run(main, Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            anyio.run(main, Path(tmp))

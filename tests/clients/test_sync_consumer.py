"""The synchronous Consumer, on its own loop thread and on a sync Cluster's."""

from __future__ import annotations

import pytest

import rafka


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sync_round_trip_over_tcp(backend: str) -> None:
    with rafka.Cluster(listen=True) as cluster:
        with rafka.Producer(bootstrap_servers=cluster.bootstrap_servers) as producer:
            for i in range(100):
                producer.send("t", b"%d" % i, partition=0)
        with rafka.Consumer(
            bootstrap_servers=cluster.bootstrap_servers,
            backend=backend,
            auto_offset_reset="earliest",
        ) as consumer:
            consumer.assign([("t", 0)])
            values: list[bytes | None] = []
            for record in consumer:
                values.append(record.value)
                if len(values) == 100:
                    break
            assert values == [b"%d" % i for i in range(100)]
            assert consumer.position(("t", 0)) == 100
            assert consumer.end_offsets([("t", 0)]) == {("t", 0): 100}


def test_in_process_on_the_clusters_loop() -> None:
    with rafka.Cluster() as cluster:
        with cluster.producer() as producer:
            producer.send("t", b"x").result(5)
        with cluster.consumer(auto_offset_reset="earliest") as consumer:
            consumer.assign([("t", 0)])
            records = consumer.poll(5)
            assert [r.value for r in records] == [b"x"]

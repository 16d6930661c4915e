"""The synchronous Producer: same behaviour as the async one, driven from plain threads."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import rafka
from rafka import errors
from rafka.clients.partitioner import partition_for_key


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_own_loop_over_tcp(backend: str) -> None:
    with rafka.Cluster(listen=True, config={"num.partitions": 2}) as cluster:
        with rafka.Producer(bootstrap_servers=cluster.bootstrap_servers, backend=backend) as p:
            futures = [p.send("t", b"v%d" % i, key=b"k%d" % i) for i in range(200)]
            p.flush()
            metas = [f.result(5) for f in futures]
        for i, meta in enumerate(metas):
            assert meta.partition == partition_for_key(b"k%d" % i, 2)
        for partition in (0, 1):
            offsets = [m.offset for m in metas if m.partition == partition]
            assert offsets == list(range(len(offsets)))


def test_in_process_on_the_clusters_loop() -> None:
    seen: list[Any] = []
    with rafka.Cluster() as cluster, cluster.producer(linger_ms=0) as producer:
        first = producer.send("t", b"first", on_delivery=seen.append).result(5)
        assert first.offset == 0
        threads = [
            threading.Thread(
                target=lambda n=n: [producer.send("t", b"%d-%d" % (n, i)) for i in range(500)]
            )
            for n in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        producer.flush()
        log = cluster.brokers[1].replica_manager.partitions[("t", 0)].log
        assert log.log_end_offset == 2001
    assert len(seen) == 1 and seen[0].metadata().offset == 0


def test_errors_surface_in_the_callers_thread() -> None:
    with (
        rafka.Cluster(config={"auto.create.topics.enable": False}) as cluster,
        cluster.producer(max_block_ms=200) as producer,
        pytest.raises(errors.UnknownTopicOrPartitionError),
    ):
        producer.send("missing", b"x")
    with rafka.Cluster() as cluster, cluster.producer() as producer:
        producer.send("t", b"x").result(5)
        with pytest.raises(errors.MessageTooLargeError):  # checked once metadata is known
            producer.send("t", b"x" * 2_000_000)

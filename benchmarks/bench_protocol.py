"""Message codec speed: rafka's generated codecs against kafka-python's protocol classes.

(a) a Produce request with 100 partitions (v11), (b) a Metadata v12 response with 1,000
partitions, encode and decode, in messages per second, plus the import time of ``rafka``.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

from benchmarks._util import best_rate, print_table, row

PRODUCE_VERSION = 11
METADATA_VERSION = 12
RECORDS = bytes(range(256)) * 4  # a stand-in 1 KiB record batch per partition


def _rafka_messages() -> tuple[Any, Any]:
    from rafka.protocol.messages import MetadataResponse as M
    from rafka.protocol.messages import ProduceRequest as P

    produce = P(
        acks=-1,
        timeout_ms=30000,
        topic_data=[
            P.TopicProduceData(
                name=f"topic-{t}",
                partition_data=[
                    P.PartitionProduceData(index=i, records=RECORDS) for i in range(10)
                ],
            )
            for t in range(10)
        ],
    )
    metadata = M(
        brokers=[M.MetadataResponseBroker(n, f"broker-{n}.example", 9092, None) for n in range(3)],
        cluster_id="cluster",
        controller_id=0,
        topics=[
            M.MetadataResponseTopic(
                name=f"topic-{t}",
                topic_id=uuid.UUID(int=t + 1),
                partitions=[
                    M.MetadataResponsePartition(
                        partition_index=i,
                        leader_id=i % 3,
                        leader_epoch=5,
                        replica_nodes=[0, 1, 2],
                        isr_nodes=[0, 1, 2],
                    )
                    for i in range(100)
                ],
            )
            for t in range(10)
        ],
    )
    return produce, metadata


def _kafka_python_messages() -> tuple[Any, Any] | None:
    try:
        from kafka.protocol.metadata import MetadataResponse as M
        from kafka.protocol.producer import ProduceRequest as P
    except ImportError:
        return None
    produce = P(
        transactional_id=None,
        acks=-1,
        timeout_ms=30000,
        topic_data=[
            P.TopicProduceData(
                name=f"topic-{t}",
                partition_data=[
                    P.TopicProduceData.PartitionProduceData(index=i, records=RECORDS)
                    for i in range(10)
                ],
            )
            for t in range(10)
        ],
    )
    topic_cls = M.MetadataResponseTopic
    metadata = M(
        throttle_time_ms=0,
        brokers=[
            M.MetadataResponseBroker(node_id=n, host=f"broker-{n}.example", port=9092, rack=None)
            for n in range(3)
        ],
        cluster_id="cluster",
        controller_id=0,
        topics=[
            topic_cls(
                error_code=0,
                name=f"topic-{t}",
                topic_id=uuid.UUID(int=t + 1),
                is_internal=False,
                partitions=[
                    topic_cls.MetadataResponsePartition(
                        error_code=0,
                        partition_index=i,
                        leader_id=i % 3,
                        leader_epoch=5,
                        replica_nodes=[0, 1, 2],
                        isr_nodes=[0, 1, 2],
                        offline_replicas=[],
                    )
                    for i in range(100)
                ],
            )
            for t in range(10)
        ],
    )
    return produce, metadata


def import_time_ms() -> float:
    code = "import time; t=time.perf_counter(); import rafka; print(time.perf_counter()-t)"
    times = [
        float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(5)
    ]
    return min(times) * 1000


def run() -> list[dict[str, Any]]:
    produce, metadata = _rafka_messages()
    kp = _kafka_python_messages()
    produce_bytes = produce.encode(PRODUCE_VERSION)
    metadata_bytes = metadata.encode(METADATA_VERSION)
    rows = []
    cases = [
        ("Produce v11, 100 partitions", produce, PRODUCE_VERSION, produce_bytes, 0),
        ("Metadata v12 response, 1,000 partitions", metadata, METADATA_VERSION, metadata_bytes, 1),
    ]
    for name, message, version, data, idx in cases:
        cls = type(message)
        ours_enc = best_rate(lambda m=message, v=version: m.encode(v))
        ours_dec = best_rate(lambda c=cls, d=data, v=version: c.decode(d, v))
        peer_enc = peer_dec = None
        if kp is not None:
            theirs = kp[idx]
            their_bytes = theirs.encode(version=version)
            assert their_bytes == data, f"kafka-python encodes {name} differently"
            peer_enc = best_rate(lambda m=theirs, v=version: m.encode(version=v))
            their_cls = type(theirs)
            peer_dec = best_rate(lambda c=their_cls, d=data, v=version: c.decode(d, version=v))
        rows.append(row(f"{name}: encode", "msgs/s", ours_enc, peer_enc, "kafka-python"))
        rows.append(row(f"{name}: decode", "msgs/s", ours_dec, peer_dec, "kafka-python"))
    rows.append(row("import rafka", "ms", import_time_ms(), None, "target < 200"))
    return rows


if __name__ == "__main__":
    print_table("Protocol codecs", run())

"""Quick start: a Kafka cluster in this process, driven by rafka's own clients.

Run it: ``python examples/quickstart.py``. No sockets, no JVM: the clients talk to the
brokers in process. Give the cluster ``listen=True`` and any Kafka client can join in over
``cluster.bootstrap_servers``.
"""

from __future__ import annotations

import rafka
from rafka.clients.admin import NewTopic


def main() -> None:
    # Kafka's defaults, except that a new group need not wait 3 s for more members to arrive.
    with rafka.Cluster(brokers=3, config={"group.initial.rebalance.delay.ms": 0}) as cluster:
        with cluster.admin() as admin:
            admin.create_topics(NewTopic("orders", num_partitions=3, replication_factor=3))

        with cluster.producer(linger_ms=5) as producer:
            futures = [
                producer.send("orders", key=f"customer-{i % 4}".encode(), value=b"order %d" % i)
                for i in range(12)
            ]
            producer.flush()
            for future in futures[:3]:
                meta = future.result()
                print(f"{meta.topic}-{meta.partition} @ {meta.offset}")

        # Two members of one consumer group share the three partitions (frequent heartbeats:
        # the first member hears of the second's arrival sooner).
        group = {
            "group_id": "billing",
            "auto_offset_reset": "earliest",
            "heartbeat_interval_ms": 100,
        }
        first = cluster.consumer(**group)
        second = cluster.consumer(**group)
        with first, second:
            first.subscribe(["orders"])
            second.subscribe(["orders"])
            seen: list[bytes] = []
            while len(seen) < 12:
                for consumer in (first, second):
                    seen += [r.value or b"" for r in consumer.poll(0.2)]
            first.commit()
            second.commit()
            print("first owns", sorted(tp.partition for tp in first.assignment()))
            print("second owns", sorted(tp.partition for tp in second.assignment()))
        assert sorted(seen) == sorted(b"order %d" % i for i in range(12))

        with cluster.admin() as admin:
            committed = admin.list_group_offsets("billing")
            print("committed:", {tp.partition: o.offset for tp, o in committed.items() if o})


if __name__ == "__main__":
    main()

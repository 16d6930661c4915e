"""Fault plans and the request journal: a producer survives injected errors and a stopped
leader, and the journal shows what happened.

Run it: ``python examples/fault_plan.py``. The same plans act on any client over TCP
(``listen=True`` and ``cluster.bootstrap_servers``); here rafka's own clients run in process.
"""

from __future__ import annotations

import time

import rafka
from rafka.clients.admin import NewTopic
from rafka.faults import FaultPlan


def wait_until(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.02)


def main() -> None:
    with rafka.Cluster(brokers=3, seed=42, journal=True) as cluster:
        with cluster.admin() as admin:
            admin.create_topics(NewTopic("orders", 1, 3, configs={"min.insync.replicas": "2"}))

        with cluster.producer({"retry.backoff.ms": 20}) as producer:
            # 1. Three NOT_LEADER_OR_FOLLOWER answers: the producer refreshes its metadata and
            #    retries; the fourth try succeeds.
            plan = FaultPlan(api="Produce", topic="orders", error="NOT_LEADER_OR_FOLLOWER", times=3)
            with cluster.faults.add(plan) as handle:
                producer.send("orders", value=b"first", partition=0).result(10)
            print(f"the plan fired {handle.fired} times; then 'first' was written")

            # 2. The same as a dict (the form a pytest marker takes): every Metadata answer
            #    is slowed down by 50 ms for the next two requests.
            cluster.faults.add({"api": "Metadata", "delay": 0.05, "times": 2})

            # 3. Stop the partition's leader: leadership moves to an in-sync replica.
            leader = cluster.leader_of("orders", 0)
            cluster.stop_broker(leader)
            print(f"stopped broker {leader}; broker {cluster.leader_of('orders', 0)} leads now")
            producer.send("orders", value=b"second", partition=0).result(10)

            # 4. Start it again (same data): it catches up, rejoins the ISR, and can lead.
            cluster.start_broker(leader)
            image = cluster.async_cluster.core.controller.image
            wait_until(lambda: leader in image.partition("orders", 0).isr)  # type: ignore[union-attr]
            cluster.move_leader("orders", 0, to=leader)
            producer.send("orders", value=b"third", partition=0).result(10)
            print(f"broker {leader} is back and leads again")

        # The journal: every request every broker handled, with its outcome.
        for entry in cluster.requests("Produce", topic="orders"):
            codes = [p.error_code for t in entry.response.responses for p in t.partition_responses]
            print(f"  broker {entry.broker} Produce v{entry.api_version}: error codes {codes}")
        with cluster.consumer({"auto.offset.reset": "earliest"}) as consumer:
            consumer.assign([("orders", 0)])
            written: list[bytes | None] = []
            deadline = time.monotonic() + 20
            while len(written) < 3 and time.monotonic() < deadline:
                written += [record.value for record in consumer.poll(0.5)]
        print("written:", written)
        assert written == [b"first", b"second", b"third"]


if __name__ == "__main__":
    main()

"""Java kafka-clients react to rafka's faults as to a real cluster's (a representative subset:
a JVM per run is slow on a small machine; confluent-kafka covers every fault in
test_confluent.py).

- NOT_LEADER_OR_FOLLOWER: the producer refreshes its metadata and retries;
- a dropped response: the request times out after ``request.timeout.ms``, the connection is
  closed, the idempotent producer's retry duplicates nothing;
- a stopped leader: the producer (bootstrapped with every broker, the stopped one included)
  fails over to the new leader; the broker restarts on its port with its data and the
  consumer reads everything; the same for a killed leader (no clean shutdown, on disk);
- a closed connection is reopened; a delayed response and per-broker latency are waited for;
  a hung leader (accepts, never answers) times requests out until healed; a refused one is
  reconnected to once it listens again; a moved leader is followed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.faults.helpers import cluster_with_topic, consume_values, in_sync, wait_until
from tests.peers.clients import PeerClient, generated_records

pytestmark = pytest.mark.java

TOPIC = "java-faults"
FAST = {"retry.backoff.ms": "50", "reconnect.backoff.ms": "50", "metadata.max.age.ms": "30000"}


def test_not_leader_is_retried_after_a_metadata_refresh(java_clients: PeerClient) -> None:
    with cluster_with_topic(TOPIC, journal=True) as cluster:
        plan = cluster.faults.add(
            {"api": "Produce", "topic": TOPIC, "error": "NOT_LEADER_OR_FOLLOWER", "times": 3}
        )
        result = java_clients.produce(
            cluster.bootstrap_servers,
            TOPIC,
            generated_records(4, partition=0),
            config=FAST,  # type: ignore[call-arg]
        )
        result.check()
        assert [d.offset for d in result.deliveries] == [0, 1, 2, 3]
        assert plan.fired == 3
        produces = cluster.requests("Produce", topic=TOPIC)
        refreshes = [
            e
            for e in cluster.requests("Metadata", topic=TOPIC)
            if produces[0].start < e.start < produces[-1].start
        ]
        assert refreshes, "no metadata refresh after NOT_LEADER_OR_FOLLOWER"


def test_dropped_response_times_out_and_is_retried_once(java_clients: PeerClient) -> None:
    with cluster_with_topic(TOPIC, journal=True) as cluster:
        plan = cluster.faults.add({"api": "Produce", "drop": True, "once": True})
        began = time.monotonic()
        result = java_clients.produce(
            cluster.bootstrap_servers,
            TOPIC,
            generated_records(3, partition=0),
            config={**FAST, "request.timeout.ms": "1500", "linger.ms": "0"},  # type: ignore[call-arg]
        )
        result.check()
        assert time.monotonic() - began >= 1.5
        assert plan.fired == 1
        produces = cluster.requests("Produce")
        assert produces[0].outcome == "dropped"
        assert len({e.connection_id for e in produces}) >= 2  # it gave up on that connection
        values = consume_values(cluster.bootstrap_servers, TOPIC, 3)
        assert values == [b"value-0", b"value-1", b"value-2"]  # nothing twice


def test_stopped_leader_fails_over_and_restarts(java_clients: PeerClient) -> None:
    with cluster_with_topic(
        TOPIC, brokers=3, configs={"min.insync.replicas": "2"}, journal=True
    ) as cluster:
        bootstrap = cluster.bootstrap_servers  # every broker, the one to stop included
        leader = cluster.leader_of(TOPIC, 0)
        cluster.stop_broker(leader)
        successor = cluster.leader_of(TOPIC, 0)
        assert successor not in (leader, -1)
        first = java_clients.produce(
            bootstrap,
            TOPIC,
            generated_records(5, partition=0),
            config=FAST,  # type: ignore[call-arg]
        )
        first.check()
        assert {e.broker for e in cluster.requests("Produce", topic=TOPIC)} == {successor}

        cluster.start_broker(leader)
        wait_until(lambda: in_sync(cluster, TOPIC, 0, leader), what="the broker to rejoin")
        cluster.move_leader(TOPIC, 0, to=leader)
        consumed = java_clients.consume(bootstrap, TOPIC, partitions=[0], count=5).check()
        assert [r.value for r in consumed.records] == [f"value-{i}".encode() for i in range(5)]
        fetches = cluster.requests("Fetch", topic=TOPIC, client_id="consumer-*")
        assert fetches and fetches[-1].broker == leader


def test_a_closed_connection_is_reconnected(java_clients: PeerClient) -> None:
    """The broker closes the connection a Produce came on: kafka-clients opens another and
    retries (the idempotent producer's retry duplicates nothing). Corrupt frames are covered
    by confluent-kafka's tests only: after an unparsable Metadata answer kafka-clients did not
    recover within max.block.ms here, and Apache Kafka cannot be made to send one to compare."""
    with cluster_with_topic(TOPIC, journal=True) as cluster:
        plan = cluster.faults.add({"api": "Produce", "close": True, "once": True})
        result = java_clients.produce(
            cluster.bootstrap_servers,
            TOPIC,
            generated_records(3, partition=0),
            config=FAST,  # type: ignore[call-arg]
        )
        result.check()
        assert plan.fired == 1
        connections = {e.connection_id for e in cluster.requests(client_id="producer-*")}
        assert len(connections) >= 2  # a new connection after the broken one
        values = consume_values(cluster.bootstrap_servers, TOPIC, 3)
        assert values == [b"value-0", b"value-1", b"value-2"]


def test_delayed_responses_are_waited_for(java_clients: PeerClient) -> None:
    with cluster_with_topic(TOPIC) as cluster:
        with cluster.faults.add({"api": "Produce", "delay": 1.0}) as plan:
            began = time.monotonic()
            java_clients.produce(
                cluster.bootstrap_servers,
                TOPIC,
                generated_records(1, partition=0),
                config=FAST,  # type: ignore[call-arg]
            ).check()
            assert time.monotonic() - began >= 1.0
        assert plan.fired >= 1


def test_killed_leader_fails_over_and_comes_back_with_its_data(
    java_clients: PeerClient, tmp_path: Any
) -> None:
    with cluster_with_topic(
        TOPIC, brokers=3, configs={"min.insync.replicas": "2"}, data_dir=tmp_path
    ) as cluster:
        bootstrap = cluster.bootstrap_servers
        records = generated_records(6, partition=0)
        java_clients.produce(bootstrap, TOPIC, records[:3], config=FAST).check()  # type: ignore[call-arg]
        leader = cluster.leader_of(TOPIC, 0)
        cluster.kill_broker(leader)  # no clean shutdown
        assert cluster.leader_of(TOPIC, 0) not in (leader, -1)
        java_clients.produce(bootstrap, TOPIC, records[3:], config=FAST).check()  # type: ignore[call-arg]
        cluster.start_broker(leader)
        wait_until(lambda: in_sync(cluster, TOPIC, 0, leader), what="the broker to rejoin")
        cluster.move_leader(TOPIC, 0, to=leader)
        consumed = java_clients.consume(bootstrap, TOPIC, partitions=[0], count=6).check()
        assert [r.value for r in consumed.records] == [r.value for r in records]


def test_hung_leader_times_requests_out_until_healed(java_clients: PeerClient) -> None:
    with cluster_with_topic(TOPIC, brokers=3, configs={"min.insync.replicas": "2"}) as cluster:
        bootstrap = cluster.bootstrap_servers
        leader = cluster.leader_of(TOPIC, 0)
        cluster.isolate_broker(leader, "hang")  # connects, never answers
        short = {
            **FAST,
            "request.timeout.ms": "1000",
            "delivery.timeout.ms": "2000",
            "linger.ms": "0",
            "enable.idempotence": "false",
            "acks": "1",
        }
        hung = java_clients.produce(
            bootstrap,
            TOPIC,
            generated_records(1, partition=0),
            config=short,  # type: ignore[call-arg]
        )
        assert [d.error is not None for d in hung.deliveries] == [True]
        assert cluster.leader_of(TOPIC, 0) == leader  # still running, still leading
        cluster.heal_broker(leader)
        java_clients.produce(
            bootstrap,
            TOPIC,
            generated_records(1, partition=0),
            config=FAST,  # type: ignore[call-arg]
        ).check()


def test_moved_leader_is_followed(java_clients: PeerClient) -> None:
    with cluster_with_topic(
        TOPIC, brokers=3, configs={"min.insync.replicas": "2"}, journal=True
    ) as cluster:
        bootstrap = cluster.bootstrap_servers
        old = cluster.leader_of(TOPIC, 0)
        new = next(b for b in (1, 2, 3) if b != old)
        wait_until(lambda: in_sync(cluster, TOPIC, 0, new), what="a follower in sync")
        cluster.move_leader(TOPIC, 0, to=new)
        java_clients.produce(
            bootstrap,
            TOPIC,
            generated_records(2, partition=0),
            config=FAST,  # type: ignore[call-arg]
        ).check()
        assert cluster.requests("Produce", topic=TOPIC)[-1].broker == new


def test_broker_latency_slows_every_request(java_clients: PeerClient) -> None:
    with cluster_with_topic(TOPIC) as cluster:
        cluster.set_latency(1, 0.3)  # bootstrap, metadata and produce: at least three trips
        began = time.monotonic()
        java_clients.produce(
            cluster.bootstrap_servers,
            TOPIC,
            generated_records(1, partition=0),
            config=FAST,  # type: ignore[call-arg]
        ).check()
        assert time.monotonic() - began >= 0.9
        cluster.set_latency(1, None)


def test_refused_leader_is_reconnected_when_healed(java_clients: PeerClient) -> None:
    """Connections to the leader are refused: the producer keeps the record and retries with
    reconnect backoff; once the broker listens again the record is delivered."""
    with cluster_with_topic(TOPIC) as cluster:
        cluster.isolate_broker(1, "refuse")
        healer = threading.Timer(2.0, cluster.heal_broker, (1,))
        healer.start()
        try:
            began = time.monotonic()
            java_clients.produce(
                cluster.bootstrap_servers,
                TOPIC,
                generated_records(1, partition=0),
                config=FAST,  # type: ignore[call-arg]
            ).check()
            assert time.monotonic() - began >= 2.0
        finally:
            healer.join()
        assert consume_values(cluster.bootstrap_servers, TOPIC, 1) == [b"value-0"]

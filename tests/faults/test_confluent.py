"""confluent-kafka (librdkafka) over TCP reacts to rafka's faults as to a real cluster's.

Every single-broker scenario runs twice (the ``target`` fixture, conftest.py): on rafka, and on
Apache Kafka behind rafka's fault proxy (tests/peers/fault_proxy.py), which applies the same
plans with rafka's own code to Kafka's real answers -- the client must react the same way to
both. Request faults: retriable errors are retried (NOT_LEADER_OR_FOLLOWER with a metadata
refresh first), fatal ones reported; a dropped response times the request out, a closed
connection or a corrupted frame makes the client reconnect, and the idempotent producer's
retries duplicate nothing; delays, per-broker latency and throttling are seen; a hung broker
times requests out and a refused one is reconnected to once healed. Broker faults that need
several brokers run on three rafka brokers and on three Apache Kafka nodes, each behind its own
fault proxy (the ``cluster`` fixture, tests/peers/kafka_cluster.py): a stopped or killed leader
fails over to an in-sync replica and comes back on the same port with its data; moved leaders
and group coordinators are followed.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.faults.helpers import (
    FAST_LIBRDKAFKA,
    ConfluentProducer,
    consume_values,
    new_leader,
    numbered,
    wait_until,
)
from tests.faults.targets import ClusterTarget, FaultTarget

confluent_kafka = pytest.importorskip("confluent_kafka")

MIN_ISR_2 = {"min.insync.replicas": "2"}


# -- request faults, on rafka and on Kafka behind the fault proxy --------------------------------


def test_not_leader_is_retried_after_a_metadata_refresh(target: FaultTarget) -> None:
    topic = target.new_topic("t")
    plan = target.add(
        {"api": "Produce", "topic": topic, "error": "NOT_LEADER_OR_FOLLOWER", "times": 3}
    )
    producer = ConfluentProducer(target.bootstrap_servers)
    reports = producer.send(topic, [b"v"])
    assert reports == [(None, 0)]
    assert plan.fired == 3
    produces = target.requests("Produce", topic=topic)
    assert [e.faults != [] for e in produces] == [True, True, True, False]
    # after the first error, before the success, librdkafka asked who leads the partition
    # (its leader query runs beside the retries: not necessarily before each one)
    refreshes = [
        e
        for e in target.requests("Metadata", topic=topic)
        if produces[0].start < e.start < produces[-1].start
    ]
    assert refreshes, "no metadata refresh after NOT_LEADER_OR_FOLLOWER"


def test_retriable_error_is_retried_and_fatal_error_is_reported(target: FaultTarget) -> None:
    topic = target.new_topic("t")
    with target.add({"api": "Produce", "error": "NOT_ENOUGH_REPLICAS", "times": 2}):
        producer = ConfluentProducer(target.bootstrap_servers)
        assert producer.send(topic, [b"a"]) == [(None, 0)]
    fatal = target.add({"api": "Produce", "error": "INVALID_RECORD"})
    reports = producer.send(topic, [b"b"])
    assert reports == [("INVALID_RECORD", -1)]
    assert fatal.fired == 1  # not retried
    fatal.remove()
    assert producer.send(topic, [b"c"]) == [(None, 1)]
    assert consume_values(target.bootstrap_servers, topic, 2) == [b"a", b"c"]


def test_dropped_response_times_out_and_the_retry_duplicates_nothing(
    target: FaultTarget,
) -> None:
    topic = target.new_topic("t")
    plan = target.add({"api": "Produce", "drop": True, "once": True})
    producer = ConfluentProducer(
        target.bootstrap_servers, **{"enable.idempotence": True, "socket.timeout.ms": 1500}
    )
    began = time.monotonic()
    reports = producer.send(topic, [b"once"])
    assert reports == [(None, 0)]
    assert time.monotonic() - began >= 1.4  # it waited for the lost response
    assert plan.fired == 1
    # the broker appended the first try; the retry was recognised as a duplicate
    outcomes = [e.outcome for e in target.requests("Produce")]
    assert outcomes == ["dropped", "response"]
    assert consume_values(target.bootstrap_servers, topic, 1) == [b"once"]


@pytest.mark.parametrize(
    "fault",
    [
        {"api": "Produce", "close": True},
        {"api": "Metadata", "corrupt": "short"},
        {"api": "Metadata", "corrupt": "garbage"},
    ],
    ids=["close", "short-frame", "garbage-frame"],
)
def test_broken_connections_are_reconnected(target: FaultTarget, fault: dict[str, Any]) -> None:
    topic = target.new_topic("t")
    plan = target.add({"once": True, "client_id": "rdkafka", **fault})
    producer = ConfluentProducer(target.bootstrap_servers, **{"enable.idempotence": True})
    assert producer.send(topic, numbered("m", 3)) == [(None, 0), (None, 1), (None, 2)]
    assert plan.fired == 1
    connections = {e.connection_id for e in target.requests(client_id="rdkafka")}
    assert len(connections) >= 2  # a new connection after the broken one
    assert consume_values(target.bootstrap_servers, topic, 3) == numbered("m", 3)


def test_a_corrupted_produce_response_fails_the_batch_that_was_written(
    target: FaultTarget,
) -> None:
    # librdkafka cannot parse the answer: it reports the batch failed, yet the broker wrote
    # it (a lost acknowledgement)
    topic = target.new_topic("t")
    target.add({"api": "Produce", "corrupt": "short", "once": True})
    producer = ConfluentProducer(target.bootstrap_servers)
    reports = producer.send(topic, [b"x"])
    assert reports[0][0] is not None and reports[0][0].startswith("_")
    assert producer.send(topic, [b"y"])[0][0] is None
    assert consume_values(target.bootstrap_servers, topic, 2) == [b"x", b"y"]


def test_delay_and_broker_latency_slow_requests_down(target: FaultTarget) -> None:
    topic = target.new_topic("t")
    producer = ConfluentProducer(target.bootstrap_servers)
    producer.send(topic, [b"warm-up"])
    with target.add({"api": "Produce", "delay": 0.4}):
        began = time.monotonic()
        producer.send(topic, [b"slow"])
        assert time.monotonic() - began >= 0.4
    target.set_latency(0.3)
    began = time.monotonic()
    producer.send(topic, [b"slower"])
    assert time.monotonic() - began >= 0.3
    target.set_latency(None)
    began = time.monotonic()
    producer.send(topic, [b"fast"])
    assert time.monotonic() - began < 0.3


def test_throttle_time_reaches_the_client(target: FaultTarget) -> None:
    topic = target.new_topic("t")
    throttles: list[float] = []
    producer = ConfluentProducer(
        target.bootstrap_servers,
        throttle_cb=lambda event: throttles.append(event.throttle_time),
    )
    with target.add({"api": "Produce", "throttle_ms": 700, "once": True}) as plan:
        producer.send(topic, [b"x"])
        wait_until(lambda: producer.producer.poll(0.05) is not None and throttles, 10)
    assert plan.fired == 1
    assert throttles[0] == pytest.approx(0.7)


def test_fetch_not_leader_is_survived_by_a_consumer(target: FaultTarget) -> None:
    topic = target.new_topic("t")
    ConfluentProducer(target.bootstrap_servers).send(topic, numbered("f", 5))
    plan = target.add({"api": "Fetch", "error": "NOT_LEADER_OR_FOLLOWER", "times": 2})
    assert consume_values(target.bootstrap_servers, topic, 5) == numbered("f", 5)
    assert plan.fired == 2


def test_hung_broker_times_clients_out_until_healed(target: FaultTarget) -> None:
    topic = target.new_topic("t")
    # Once healed, the producer's connection may still wait on a request the hung broker
    # swallowed: librdkafka gives it up after socket.timeout.ms, noticed by a scan that runs
    # once a second, then reconnects (backoff up to 300 ms). Every message, the one sent after
    # the heal included, must be given more time than that (about 1.8 s here).
    producer = ConfluentProducer(
        target.bootstrap_servers,
        **{"message.timeout.ms": 4000, "socket.timeout.ms": 500, "enable.idempotence": False},
    )
    producer.send(topic, [b"before"])
    target.isolate("hang")
    reports = producer.send(topic, [b"lost"], timeout=10)
    assert reports == [("_MSG_TIMED_OUT", -1)]
    target.heal()
    assert producer.send(topic, [b"after"], timeout=15)[0][0] is None


def test_refused_broker_is_reconnected_when_healed(target: FaultTarget) -> None:
    topic = target.new_topic("t")
    producer = ConfluentProducer(target.bootstrap_servers, **{"message.timeout.ms": 20000})
    producer.send(topic, [b"before"])
    target.isolate("refuse")
    delivered = len(producer.reports)
    producer.producer.produce(
        topic, value=b"while-refused", partition=0, on_delivery=producer.report
    )
    producer.producer.poll(0.5)
    assert len(producer.reports) == delivered  # its leader cannot be reached
    target.heal()
    assert producer.producer.flush(15) == 0
    assert producer.reports[-1] == (None, 1)
    assert consume_values(target.bootstrap_servers, topic, 2) == [b"before", b"while-refused"]


@pytest.mark.parametrize("kill", [False, True], ids=["stop", "kill"])
def test_restarted_broker_is_reconnected_and_loses_nothing(target: FaultTarget, kill: bool) -> None:
    """The only broker goes down (a clean stop, or killed: no clean shutdown) and comes back
    on its port with its data while the idempotent producer has more to send: it reconnects,
    and the partition holds every record exactly once."""
    topic = target.new_topic("t")
    producer = ConfluentProducer(
        target.bootstrap_servers, **{"enable.idempotence": True, "message.timeout.ms": 60000}
    )
    assert producer.send(topic, numbered("a", 5)) == [(None, i) for i in range(5)]
    target.restart(kill=kill)
    assert producer.send(topic, numbered("b", 5), timeout=60) == [(None, i) for i in range(5, 10)]
    assert consume_values(target.bootstrap_servers, topic, 10) == numbered("a", 5) + numbered(
        "b", 5
    )


# -- broker faults, on three rafka brokers and on three Kafka nodes behind proxies ---------------


@pytest.mark.parametrize("how", ["stop", pytest.param("kill", marks=pytest.mark.on_disk)])
def test_leader_failover_and_recovery(how: str, cluster: ClusterTarget) -> None:
    topic = cluster.new_topic("t", configs=MIN_ISR_2)
    producer = ConfluentProducer(
        cluster.bootstrap_servers, **{"enable.idempotence": True, "acks": "all"}
    )
    assert all(err is None for err, _ in producer.send(topic, numbered("a", 5)))
    leader = cluster.leader_of(topic, 0)
    getattr(cluster, f"{how}_broker")(leader)
    assert not cluster.broker_running(leader)
    if how == "stop":  # a controlled shutdown hands the leaderships over first
        successor = cluster.leader_of(topic, 0)
        assert successor not in (leader, -1)
    else:  # a crashed leader loses them once the controller fences it
        successor = new_leader(cluster, topic, leader)
    assert all(err is None for err, _ in producer.send(topic, numbered("b", 5)))
    assert {e.broker for e in cluster.requests("Produce")[-1:]} == {successor}

    cluster.start_broker(leader)  # same port, same data
    wait_until(lambda: cluster.in_sync(topic, 0, leader), what="the broker to rejoin")
    cluster.move_leader(topic, 0, to=leader)
    assert all(err is None for err, _ in producer.send(topic, numbered("c", 5)))
    assert cluster.requests("Produce")[-1].broker == leader
    expected = numbered("a", 5) + numbered("b", 5) + numbered("c", 5)
    assert consume_values(cluster.bootstrap_servers, topic, 15) == expected


def test_moved_leader_is_followed(cluster: ClusterTarget) -> None:
    topic = cluster.new_topic("t", configs=MIN_ISR_2)
    producer = ConfluentProducer(cluster.bootstrap_servers, **{"enable.idempotence": True})
    producer.send(topic, [b"one"])
    old = cluster.leader_of(topic, 0)
    new = next(b for b in (1, 2, 3) if b != old)
    wait_until(lambda: cluster.in_sync(topic, 0, new), what="a follower in sync")
    moved_at = time.time()
    cluster.move_leader(topic, 0, to=new)
    assert producer.send(topic, [b"two"]) == [(None, 1)]
    after = [e for e in cluster.requests("Produce") if e.start >= moved_at]
    assert after[-1].broker == new
    for entry in after[:-1]:  # tries at the old leader: refused, not written
        assert entry.broker == old
        assert entry.response.responses[0].partition_responses[0].error_code == 6


def test_moved_group_coordinator_is_rediscovered(cluster: ClusterTarget) -> None:
    topic = cluster.new_topic("t", configs=MIN_ISR_2)
    group = f"movers-{topic}"
    ConfluentProducer(cluster.bootstrap_servers).send(topic, numbered("g", 4))
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": cluster.bootstrap_servers,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 200,
            **FAST_LIBRDKAFKA,
        }
    )
    try:
        consumer.subscribe([topic])
        first = wait_until(lambda: consumer.poll(0.2), what="a first record")
        consumer.commit(message=first, asynchronous=False)
        old = cluster.requests("OffsetCommit")[-1].broker
        new = next(b for b in (1, 2, 3) if b != old)
        partition = cluster.move_coordinator(group, to=new)
        assert cluster.leader_of("__consumer_offsets", partition) == new
        second = wait_until(lambda: consumer.poll(0.2), what="a second record")

        def committed() -> bool:
            try:
                consumer.commit(message=second, asynchronous=False)
            except confluent_kafka.KafkaException:
                return False  # NOT_COORDINATOR while it looks the coordinator up again
            return True

        wait_until(committed, what="a commit to the new coordinator")
        assert cluster.requests("OffsetCommit")[-1].broker == new
    finally:
        consumer.close()

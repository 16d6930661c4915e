"""Java kafka-clients react to rafka's faults as to a real cluster's, and recover once the
fault is gone (confluent-kafka covers the same kinds in test_confluent.py). Every scenario runs
twice: the single-broker ones (the ``target`` fixture) on rafka and on Apache Kafka behind
rafka's fault proxy (tests/peers/fault_proxy.py) applying the same plans to Kafka's real
answers; the multi-broker ones (the ``cluster`` fixture) on three rafka brokers and on three
Apache Kafka nodes, each behind its own proxy (tests/peers/kafka_cluster.py). The client must
react the same way to both. Each kind:

- error (NOT_LEADER_OR_FOLLOWER): the producer refreshes its metadata and retries;
- drop: the request times out after ``request.timeout.ms``, the connection is closed, the
  idempotent producer's retry duplicates nothing;
- close: the connection is reopened and the request retried;
- delay, and per-broker latency: waited for;
- throttle (``throttle_ms``, KIP-219): the client mutes the connection for the throttle time
  before its next request on it, reports it in ``produce-throttle-time-max``, and goes back to
  normal once the plan is exhausted;
- corrupt (``"short"``, ``"garbage"``): kafka-clients cannot parse the frame, and
  ``NetworkClient.poll`` throws after taking the request off its in-flight queue, so nothing
  answers that request ever: no request timeout, no reconnect. An unanswered Produce waits
  for ``delivery.timeout.ms`` (the broker wrote it: a lost acknowledgement), the next records
  go through on the same connection; an unanswered Metadata leaves the producer's metadata
  updater waiting forever (``DefaultMetadataUpdater.inProgress`` is never cleared), so that
  producer times out in ``send`` even after the fault is gone, and a new one works;
- stop and kill (a stopped leader; a killed one, no clean shutdown, on disk): the producer
  (bootstrapped with every broker, the stopped one included) fails over to the new leader
  (a stopped one hands its leaderships over as it shuts down; a killed one loses them when
  the controller fences it, on Kafka once ``broker.session.timeout.ms`` has passed without a
  heartbeat); the broker restarts on its port with its data and the consumer reads
  everything;
- hang (accepts, never answers): requests time out until healed; refuse: reconnected to
  once it listens again;
- restart of the only broker (killed, same port and data): a classic group member reconnects,
  finds its coordinator again and reads and commits what was produced after it;
- moved leader: followed; moved group coordinator: the consumer's commit gets
  NOT_COORDINATOR, it looks the coordinator up again and commits there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from rafka.cluster.faults.effects import mangle_frame
from rafka.cluster.journal import JournalEntry
from rafka.protocol import framing
from tests.faults.helpers import ConfluentProducer, consume_values, new_leader, wait_until
from tests.faults.targets import ClusterTarget, FaultTarget
from tests.peers.clients import PeerClient, generated_records, produce_result
from tests.peers.fault_proxy import ProxyEntry
from tests.peers.java import JavaCodec, JavaCodecError
from tests.peers.java_clients import JavaClients

pytestmark = pytest.mark.java

TOPIC = "java-faults"
MIN_ISR_2 = {"min.insync.replicas": "2"}
FAST = {"retry.backoff.ms": "50", "reconnect.backoff.ms": "50", "metadata.max.age.ms": "30000"}
NOT_COORDINATOR = 16


def _java(client: PeerClient) -> JavaClients:
    """The fixture's client as the Java driver it is (its own options and commands)."""
    assert isinstance(client, JavaClients)
    return client


def _committed(offset: int) -> Callable[[list[dict[str, Any]]], bool]:
    """A ``wait_for`` condition: the group member has committed ``offset`` (or beyond)."""
    return lambda lines: any(
        line["type"] == "committed" and line["offset"] >= offset for line in lines
    )


def _error_codes(entry: JournalEntry | ProxyEntry) -> set[int]:
    """Every non-zero ``error_code`` anywhere in the response of a journal entry."""
    codes: set[int] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "error_code" and item:
                    codes.add(item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    if entry.response is not None:
        walk(attrs.asdict(entry.response))
    return codes


def test_not_leader_is_retried_after_a_metadata_refresh(
    java_clients: PeerClient, target: FaultTarget
) -> None:
    topic = target.new_topic("java-faults")
    plan = target.add(
        {"api": "Produce", "topic": topic, "error": "NOT_LEADER_OR_FOLLOWER", "times": 3}
    )
    result = java_clients.produce(
        target.bootstrap_servers,
        topic,
        generated_records(4, partition=0),
        config=FAST,  # type: ignore[call-arg]
    )
    result.check()
    assert [d.offset for d in result.deliveries] == [0, 1, 2, 3]
    assert plan.fired == 3
    produces = target.requests("Produce", topic=topic)
    refreshes = [
        e
        for e in target.requests("Metadata", topic=topic)
        if produces[0].start < e.start < produces[-1].start
    ]
    assert refreshes, "no metadata refresh after NOT_LEADER_OR_FOLLOWER"


def test_dropped_response_times_out_and_is_retried_once(
    java_clients: PeerClient, target: FaultTarget
) -> None:
    topic = target.new_topic("java-faults")
    plan = target.add({"api": "Produce", "drop": True, "once": True})
    began = time.monotonic()
    result = java_clients.produce(
        target.bootstrap_servers,
        topic,
        generated_records(3, partition=0),
        config={**FAST, "request.timeout.ms": "1500", "linger.ms": "0"},  # type: ignore[call-arg]
    )
    result.check()
    assert time.monotonic() - began >= 1.5
    assert plan.fired == 1
    produces = target.requests("Produce")
    assert produces[0].outcome == "dropped"
    assert len({e.connection_id for e in produces}) >= 2  # it gave up on that connection
    values = consume_values(target.bootstrap_servers, topic, 3)
    assert values == [b"value-0", b"value-1", b"value-2"]  # nothing twice


def test_stopped_leader_fails_over_and_restarts(
    java_clients: PeerClient, cluster: ClusterTarget
) -> None:
    topic = cluster.new_topic(TOPIC, configs=MIN_ISR_2)
    bootstrap = cluster.bootstrap_servers  # every broker, the one to stop included
    leader = cluster.leader_of(topic, 0)
    cluster.stop_broker(leader)  # a controlled shutdown hands its leaderships over first
    successor = cluster.leader_of(topic, 0)
    assert successor not in (leader, -1)
    first = java_clients.produce(
        bootstrap,
        topic,
        generated_records(5, partition=0),
        config=FAST,  # type: ignore[call-arg]
    )
    first.check()
    assert {e.broker for e in cluster.requests("Produce", topic=topic)} == {successor}

    cluster.start_broker(leader)
    wait_until(lambda: cluster.in_sync(topic, 0, leader), what="the broker to rejoin")
    cluster.move_leader(topic, 0, to=leader)
    consumed = java_clients.consume(bootstrap, topic, partitions=[0], count=5).check()
    assert [r.value for r in consumed.records] == [f"value-{i}".encode() for i in range(5)]
    fetches = cluster.requests("Fetch", topic=topic, client_id="consumer-*")
    assert fetches and fetches[-1].broker == leader


def test_a_closed_connection_is_reconnected(java_clients: PeerClient, target: FaultTarget) -> None:
    """The broker closes the connection a Produce came on: kafka-clients opens another and
    retries (the idempotent producer's retry duplicates nothing)."""
    topic = target.new_topic("java-faults")
    plan = target.add({"api": "Produce", "close": True, "once": True})
    result = java_clients.produce(
        target.bootstrap_servers,
        topic,
        generated_records(3, partition=0),
        config=FAST,  # type: ignore[call-arg]
    )
    result.check()
    assert plan.fired == 1
    connections = {e.connection_id for e in target.requests(client_id="producer-*")}
    assert len(connections) >= 2  # a new connection after the broken one
    values = consume_values(target.bootstrap_servers, topic, 3)
    assert values == [b"value-0", b"value-1", b"value-2"]


def test_delayed_responses_are_waited_for(java_clients: PeerClient, target: FaultTarget) -> None:
    topic = target.new_topic("java-faults")
    with target.add({"api": "Produce", "delay": 1.0}) as plan:
        began = time.monotonic()
        java_clients.produce(
            target.bootstrap_servers,
            topic,
            generated_records(1, partition=0),
            config=FAST,  # type: ignore[call-arg]
        ).check()
        assert time.monotonic() - began >= 1.0
    assert plan.fired >= 1


@pytest.mark.on_disk
def test_killed_leader_fails_over_and_comes_back_with_its_data(
    java_clients: PeerClient, cluster: ClusterTarget
) -> None:
    topic = cluster.new_topic(TOPIC, configs=MIN_ISR_2)
    bootstrap = cluster.bootstrap_servers
    records = generated_records(6, partition=0)
    java_clients.produce(bootstrap, topic, records[:3], config=FAST).check()  # type: ignore[call-arg]
    leader = cluster.leader_of(topic, 0)
    cluster.kill_broker(leader)  # no clean shutdown
    new_leader(cluster, topic, leader)  # once the controller has fenced it
    java_clients.produce(bootstrap, topic, records[3:], config=FAST).check()  # type: ignore[call-arg]
    cluster.start_broker(leader)
    wait_until(lambda: cluster.in_sync(topic, 0, leader), what="the broker to rejoin")
    cluster.move_leader(topic, 0, to=leader)
    consumed = java_clients.consume(bootstrap, topic, partitions=[0], count=6).check()
    assert [r.value for r in consumed.records] == [r.value for r in records]


def test_hung_leader_times_requests_out_until_healed(
    java_clients: PeerClient, cluster: ClusterTarget
) -> None:
    topic = cluster.new_topic(TOPIC, configs=MIN_ISR_2)
    bootstrap = cluster.bootstrap_servers
    leader = cluster.leader_of(topic, 0)
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
        topic,
        generated_records(1, partition=0),
        config=short,  # type: ignore[call-arg]
    )
    assert [d.error is not None for d in hung.deliveries] == [True]
    assert cluster.leader_of(topic, 0) == leader  # still running, still leading
    cluster.heal_broker(leader)
    java_clients.produce(
        bootstrap,
        topic,
        generated_records(1, partition=0),
        config=FAST,  # type: ignore[call-arg]
    ).check()


def test_moved_leader_is_followed(java_clients: PeerClient, cluster: ClusterTarget) -> None:
    topic = cluster.new_topic(TOPIC, configs=MIN_ISR_2)
    bootstrap = cluster.bootstrap_servers
    old = cluster.leader_of(topic, 0)
    new = next(b for b in (1, 2, 3) if b != old)
    wait_until(lambda: cluster.in_sync(topic, 0, new), what="a follower in sync")
    cluster.move_leader(topic, 0, to=new)
    java_clients.produce(
        bootstrap,
        topic,
        generated_records(2, partition=0),
        config=FAST,  # type: ignore[call-arg]
    ).check()
    assert cluster.requests("Produce", topic=topic)[-1].broker == new


def test_broker_latency_slows_every_request(java_clients: PeerClient, target: FaultTarget) -> None:
    topic = target.new_topic("java-faults")
    target.set_latency(0.3)  # bootstrap, metadata and produce: at least three trips
    began = time.monotonic()
    java_clients.produce(
        target.bootstrap_servers,
        topic,
        generated_records(1, partition=0),
        config=FAST,  # type: ignore[call-arg]
    ).check()
    assert time.monotonic() - began >= 0.9
    target.set_latency(None)


def test_refused_leader_is_reconnected_when_healed(
    java_clients: PeerClient, target: FaultTarget
) -> None:
    """Connections to the leader are refused: the producer keeps the record and retries with
    reconnect backoff; once the broker listens again the record is delivered."""
    topic = target.new_topic("java-faults")
    target.isolate("refuse")
    healer = threading.Timer(2.0, target.heal, ())
    healer.start()
    try:
        began = time.monotonic()
        java_clients.produce(
            target.bootstrap_servers,
            topic,
            generated_records(1, partition=0),
            config=FAST,  # type: ignore[call-arg]
        ).check()
        assert time.monotonic() - began >= 2.0
    finally:
        healer.join()
    assert consume_values(target.bootstrap_servers, topic, 1) == [b"value-0"]


def test_throttled_connection_is_muted_for_the_throttle_time(
    java_clients: PeerClient, target: FaultTarget
) -> None:
    """KIP-219: a Produce response (v6+) carrying throttle_time_ms makes kafka-clients throttle
    the connection (``NetworkClient.maybeThrottle``: ``ClusterConnectionStates.throttle``; a
    throttled connection is not ready) for that long before its next request on it; it
    records the time in ``produce-throttle-time-max``. Once the plan is exhausted the next
    request goes out at once."""
    topic = target.new_topic("java-faults")
    plan = target.add({"api": "Produce", "throttle_ms": 1000, "once": True})
    out = _java(java_clients).run(
        "produce",
        input_lines=(r.to_json() for r in generated_records(3, partition=0)),
        bootstrap=target.bootstrap_servers,
        topic=topic,
        sequential=True,  # one Produce per record, each after the previous answer
        config={**FAST, "linger.ms": "0"},
        metric=["produce-throttle-time-max"],
        timeout_ms=20_000,
    )
    result = produce_result(out).check()
    assert [d.offset for d in result.deliveries] == [0, 1, 2]
    assert plan.fired == 1
    produces = target.requests("Produce", client_id="producer-*")
    assert len(produces) == 3
    assert len({e.connection_id for e in produces}) == 1
    first, second, third = produces
    assert first.faults and first.end is not None and second.end is not None
    assert second.start - first.end >= 0.95  # muted for the throttle time
    assert third.start - second.end < 0.5  # the plan is exhausted: no more waiting
    (metric,) = [m for m in out.of_type("metric") if m["name"] == "produce-throttle-time-max"]
    assert metric["value"] == 1000.0


@pytest.mark.parametrize("how", ["short", "garbage"])
def test_corrupted_produce_response_waits_for_the_delivery_timeout(
    java_clients: PeerClient, target: FaultTarget, how: str
) -> None:
    """kafka-clients cannot parse the Produce response: ``NetworkClient.parseResponse`` throws
    in ``handleCompletedReceives`` after ``inFlightRequests.completeNext`` took the request
    off its queue, the Sender's loop logs "Uncaught error in kafka producer I/O thread" and
    carries on. No callback ever runs for that request, so neither ``request.timeout.ms`` nor
    a reconnect retries it: the batch fails when ``delivery.timeout.ms`` expires it, although
    the broker wrote it (a lost acknowledgement). The frame was well-formed (the connection
    stays in sync and in use) and the batch was never retried, so the next record continues
    the idempotent producer's sequence: no epoch bump, nothing written twice."""
    topic = target.new_topic("java-faults")
    plan = target.add({"api": "Produce", "corrupt": how, "once": True})
    began = time.time()
    result = _java(java_clients).produce(
        target.bootstrap_servers,
        topic,
        generated_records(2, partition=0),
        sequential=True,
        config={
            **FAST,
            "linger.ms": "0",
            "request.timeout.ms": "1000",
            "delivery.timeout.ms": "1000",
        },
    )
    lost, delivered = result.deliveries
    assert lost.error is not None and lost.error.error == "REQUEST_TIMED_OUT"
    assert "since batch creation" in (lost.error.message or "")  # delivery.timeout.ms
    assert delivered.ok and delivered.offset == 1
    assert plan.fired == 1
    produces = target.requests("Produce", client_id="producer-*")
    assert [e.outcome for e in produces] == ["corrupted", "response"]  # never retried
    assert produces[1].start - began >= 1.0  # after the delivery timeout
    assert produces[0].connection_id == produces[1].connection_id  # no reconnect
    assert len(target.requests("InitProducerId")) == 1  # no epoch bump
    values = consume_values(target.bootstrap_servers, topic, 2)
    assert values == [b"value-0", b"value-1"]


@pytest.mark.parametrize("how", ["short", "garbage"])
def test_corrupted_frames_reach_the_java_parser_intact_in_their_framing(
    java_codec: JavaCodec, how: str
) -> None:
    """What kafka-clients makes of the bytes a corrupt plan sends, whoever sends them: the
    size prefix matches the bytes (a complete frame: nothing to wait for, the connection stays
    in sync), the response header carries the request's correlation id, and Kafka's generated
    reader fails on the body, where it breaks: a BufferUnderflowException (which
    ``NetworkClient.parseResponse`` turns into a SchemaException) or a RuntimeException
    ("Tried to allocate a collection of size ...", "Error reading byte array ..."). Either
    escapes ``NetworkClient.poll``, as the tests above show the client living with."""
    from rafka.protocol.messages import MetadataResponse as M
    from rafka.protocol.messages import ProduceResponse as P

    responses = {
        ("ProduceResponse", 0): P(
            responses=[
                P.TopicProduceResponse(
                    name=TOPIC, partition_responses=[P.PartitionProduceResponse(0, base_offset=7)]
                )
            ]
        ),
        ("MetadataResponse", 3): M(
            brokers=[M.MetadataResponseBroker(1, "localhost", 9092)],
            topics=[M.MetadataResponseTopic(name=TOPIC)],
        ),
    }
    for (name, api_key), response in responses.items():
        version = 13  # what kafka-clients 4.1 sends for both
        good = bytes(framing.encode_response(api_key, version, 77, response))
        bad = mangle_frame(good, 5, how)  # response header v1: correlation id, tagged fields
        assert int.from_bytes(bad[:4], "big") == len(bad) - 4
        header = java_codec.decode_message("ResponseHeader", 1, bad[4:9], allow_trailing=True)
        assert header["correlationId"] == 77
        with pytest.raises(JavaCodecError) as failed:
            java_codec.decode_message(name, version, bad[9:])
        assert failed.value.java_class in (
            "java.nio.BufferUnderflowException",
            "java.lang.RuntimeException",
        ), failed.value


def test_corrupted_metadata_response_leaves_that_producer_without_metadata(
    java_clients: PeerClient,
    target: FaultTarget,
) -> None:
    """The same for Metadata, with a worse end: the request was the metadata updater's, and
    ``DefaultMetadataUpdater.inProgress`` is cleared only by a response or a failure handled
    for a request still in flight, so this producer never asks for metadata again (an open
    Apache Kafka issue, apache/kafka#20517): ``send`` times out after ``max.block.ms``
    although the plan fired once only. A new producer, the fault gone, works."""
    topic = target.new_topic("java-faults")
    plan = target.add({"api": "Metadata", "corrupt": "short", "once": True})
    java = _java(java_clients)
    wedged = java.produce(
        target.bootstrap_servers,
        topic,
        generated_records(1, partition=0),
        config={**FAST, "max.block.ms": "1000"},
    )
    (failed,) = wedged.deliveries
    assert failed.error is not None and failed.error.error == "REQUEST_TIMED_OUT"
    assert "not present in metadata" in (failed.error.message or "")
    assert plan.fired == 1
    # a second without metadata, retry.backoff.ms=50: one request, never another
    metadata = target.requests("Metadata", client_id="producer-*")
    assert [e.outcome for e in metadata] == ["corrupted"]
    java.produce(
        target.bootstrap_servers, topic, generated_records(1, partition=0), config=FAST
    ).check()


def test_moved_group_coordinator_is_rediscovered(
    java_clients: PeerClient, cluster: ClusterTarget
) -> None:
    """A classic group member commits each record (commitSync); after the coordinator moves,
    the old one answers NOT_COORDINATOR, the consumer marks the coordinator unknown, asks
    FindCoordinator again and its commit lands on the new coordinator."""
    topic = cluster.new_topic(TOPIC, configs=MIN_ISR_2)
    group = f"java-movers-{topic}"
    producer = ConfluentProducer(cluster.bootstrap_servers)
    producer.send(topic, [b"g-0", b"g-1"])

    with _java(java_clients).start(
        "group-consume",
        bootstrap=cluster.bootstrap_servers,
        topic=topic,
        group=group,
        session_ms=6000,
        heartbeat_ms=200,
        config={**FAST, "fetch.max.wait.ms": "100"},
    ) as member:
        member.wait_for(_committed(2), what="the first commits")
        old = cluster.requests("OffsetCommit")[-1].broker
        new = next(b for b in (1, 2, 3) if b != old)
        moved_at = time.time()
        partition = cluster.move_coordinator(group, to=new)
        assert cluster.leader_of("__consumer_offsets", partition) == new
        producer.send(topic, [b"g-2"])
        member.wait_for(_committed(3), what="a commit after the move")
        member.stop()
        assert member.of_type("closed"), member.stderr()

    # every request of the member answered after the move (a heartbeat may straddle it)
    after = [
        e
        for e in cluster.requests(client_id=f"consumer-{group}-*")
        if e.end is not None and e.end >= moved_at
    ]
    refused = [i for i, e in enumerate(after) if NOT_COORDINATOR in _error_codes(e)]
    assert refused, "the old coordinator never answered NOT_COORDINATOR"
    assert {after[i].broker for i in refused} == {old}
    lookups = [e for e in after[refused[0] :] if e.api == "FindCoordinator"]
    assert lookups, "no FindCoordinator after NOT_COORDINATOR"
    coordinators = lookups[0].response.coordinators
    assert [c.node_id for c in coordinators] == [new]
    commit = cluster.requests("OffsetCommit")[-1]
    assert commit.broker == new and not _error_codes(commit)


def test_hung_broker_times_requests_out_until_healed(
    java_clients: PeerClient, target: FaultTarget
) -> None:
    """The only broker accepts connections and requests but answers nothing: the producer's
    requests time out after ``request.timeout.ms``, it never gets metadata and ``send`` gives
    up after ``max.block.ms``; healed, a producer works again."""
    topic = target.new_topic("java-faults")
    target.isolate("hang")
    short = {**FAST, "request.timeout.ms": "1000", "max.block.ms": "2000", "linger.ms": "0"}
    hung = java_clients.produce(
        target.bootstrap_servers,
        topic,
        generated_records(1, partition=0),
        config=short,  # type: ignore[call-arg]
    )
    assert [d.error is not None for d in hung.deliveries] == [True]
    # (its first request, ApiVersions, goes unanswered: nothing else is sent on a connection
    # before that answer)
    assert [e.outcome for e in target.requests(client_id="producer-*")][:1] == ["dropped"]
    target.heal()
    java_clients.produce(
        target.bootstrap_servers,
        topic,
        generated_records(1, partition=0),
        config=FAST,  # type: ignore[call-arg]
    ).check()


def test_group_member_rides_through_a_broker_restart(
    java_clients: PeerClient, target: FaultTarget
) -> None:
    """The only broker is killed (no clean shutdown) and comes back on its port with its data
    while a classic group member consumes and commits: the member reconnects, finds its
    coordinator again, and reads and commits the records produced after the restart."""
    topic = target.new_topic("java-faults")
    group = f"riders-{topic}"

    with _java(java_clients).start(
        "group-consume",
        bootstrap=target.bootstrap_servers,
        topic=topic,
        group=group,
        session_ms=10000,
        heartbeat_ms=200,
        config={**FAST, "fetch.max.wait.ms": "100", "reconnect.backoff.max.ms": "200"},
    ) as member:
        producer = ConfluentProducer(target.bootstrap_servers, **{"enable.idempotence": True})
        producer.send(topic, [b"r-0", b"r-1"])
        member.wait_for(_committed(2), what="the first commits")
        target.restart(kill=True)
        producer.send(topic, [b"r-2", b"r-3"], timeout=60)
        member.wait_for(_committed(4), timeout=60, what="commits after the restart")
        member.stop()
    # every record read, each committed before the next (at least once: a rejoin after the
    # restart may hand out the last committed offset again, never skip one)
    offsets = [line["offset"] for line in member.of_type("record")]
    assert sorted(set(offsets)) == [0, 1, 2, 3]

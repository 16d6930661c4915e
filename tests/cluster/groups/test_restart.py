"""A cluster restarted on its ``data_dir`` rebuilds groups and offsets from
``__consumer_offsets``: committed offsets (with metadata and leader epochs), Empty groups,
KIP-848 consumer groups (epochs, members, assignments), and nothing that was deleted."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

import rafka
from rafka.protocol.messages import (
    DeleteGroupsRequest,
    DescribeGroupsRequest,
    ListGroupsRequest,
    OffsetCommitRequest,
    OffsetDeleteRequest,
)
from tests.cluster.groups.consumer_session import ConsumerSession
from tests.cluster.groups.driver import PARTITIONS, GroupView, create_topic, wait_until
from tests.cluster.groups.session import Session
from tests.interop.raw import RawClient

CONFIG = {
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": 1000,
    "group.consumer.session.timeout.ms": 4000,
    "group.consumer.min.session.timeout.ms": 1000,
    "group.consumer.heartbeat.interval.ms": 300,
    "group.consumer.min.heartbeat.interval.ms": 300,
}


def consumer(bootstrap: str, group: str, **extra: object) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 2000,
            "heartbeat.interval.ms": 300,
            **extra,
        }
    )


def wait_assigned(c: Consumer) -> None:
    deadline = time.monotonic() + 20
    while not c.assignment():
        assert time.monotonic() < deadline
        c.poll(0.1)


def test_restart_keeps_offsets_and_empty_groups(tmp_path: Path) -> None:
    with rafka.Cluster(listen=True, config=CONFIG, data_dir=tmp_path) as cluster:
        bootstrap = cluster.bootstrap_servers
        create_topic(bootstrap, "kept")
        producer = Producer({"bootstrap.servers": bootstrap})
        for i in range(60):
            producer.produce("kept", value=b"%d" % i, partition=i % PARTITIONS)
        assert producer.flush(10) == 0
        member = consumer(bootstrap, "grouped")
        member.subscribe(["kept"])
        wait_assigned(member)
        member.commit(
            offsets=[TopicPartition("kept", p, 5 + p, f"meta-{p}") for p in range(PARTITIONS)],
            asynchronous=False,
        )
        member.close()  # leaves: the group is Empty, and stored so
        s = Session(bootstrap, "simple", "kept")
        request = OffsetCommitRequest(
            group_id="simple",
            topics=[
                OffsetCommitRequest.OffsetCommitRequestTopic(
                    name="kept",
                    partitions=[
                        OffsetCommitRequest.OffsetCommitRequestPartition(0, 42, 3, "simple"),
                        OffsetCommitRequest.OffsetCommitRequestPartition(1, 43, 3, None),
                    ],
                )
            ],
        )
        assert s.raw.call(request, 9).topics[0].partitions[0].error_code == 0
        s.raw.call(
            OffsetDeleteRequest(
                group_id="simple",
                topics=[
                    OffsetDeleteRequest.OffsetDeleteRequestTopic(
                        "kept", [OffsetDeleteRequest.OffsetDeleteRequestPartition(1)]
                    )
                ],
            ),
            0,
        )
        gone = Session(bootstrap, "gone", "kept")
        gone.commit({0: 7})
        assert gone.raw.call(DeleteGroupsRequest(["gone"]), 2).results[0].error_code == 0
        s.close()
        gone.close()
        log_end = sum(
            p.log.log_end_offset
            for p in cluster.brokers[1].replica_manager.partitions.values()
            if p.topic == "__consumer_offsets"
        )
        assert log_end > 0

    with rafka.Cluster(listen=True, config=CONFIG, data_dir=tmp_path) as cluster:
        bootstrap = cluster.bootstrap_servers
        resumed = consumer(bootstrap, "grouped")
        committed = resumed.committed(
            [TopicPartition("kept", p) for p in range(PARTITIONS)], timeout=20
        )
        assert [(t.offset, t.metadata) for t in committed] == [
            (5 + p, f"meta-{p}") for p in range(PARTITIONS)
        ]
        with RawClient(bootstrap) as raw:
            (described,) = raw.call(DescribeGroupsRequest(groups=["grouped"]), 5).groups
            assert (described.group_state, described.protocol_type) == ("Empty", "consumer")
            listed = {g.group_id: g.group_state for g in raw.call(ListGroupsRequest(), 5).groups}
            assert listed == {"grouped": "Empty", "simple": "Empty"}
        simple = Session(bootstrap, "simple", "kept")
        assert simple.committed() == {0: (42, 3, "simple"), 1: (-1, -1, "")}
        simple.close()
        # A member of the group resumes from the committed positions.
        resumed.subscribe(["kept"])
        seen: set[tuple[int, int]] = set()
        deadline = time.monotonic() + 20
        while len(seen) < 60 - sum(5 + p for p in range(PARTITIONS)):
            assert time.monotonic() < deadline, seen
            for msg in resumed.consume(100, 0.2):
                partition, offset = msg.partition(), msg.offset()
                assert not msg.error() and partition is not None and offset is not None
                seen.add((partition, offset))
        assert min(o for p, o in seen if p == 3) == 8
        resumed.close()


def test_restart_with_live_members_expires_them(tmp_path: Path) -> None:
    """Members stored in a Stable group are loaded with it; if they do not come back their
    sessions expire and the group becomes Empty."""
    with rafka.Cluster(listen=True, config=CONFIG, data_dir=tmp_path) as cluster:
        bootstrap = cluster.bootstrap_servers
        create_topic(bootstrap, "live")
        member = consumer(bootstrap, "live-group")
        member.subscribe(["live"])
        wait_assigned(member)
        with GroupView(bootstrap, "live-group") as view:
            assert view.state() == "Stable"
    member.close()
    with (
        rafka.Cluster(listen=True, config=CONFIG, data_dir=tmp_path) as cluster,
        GroupView(cluster.bootstrap_servers, "live-group") as view,
    ):
        assert view.state() == "Stable"  # as stored, members included
        wait_until(lambda: view.state() == "Empty", 10, view.state)


def consumer_protocol_member(bootstrap: str, group: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "group.protocol": "consumer",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )


def test_restart_keeps_consumer_groups(tmp_path: Path) -> None:
    """A KIP-848 group comes back as it was (epochs, members, assignments, offsets); a member
    that does not return is fenced when its session expires; a new one resumes from the
    committed offsets; an Empty group stays, with its epochs."""
    with rafka.Cluster(listen=True, config=CONFIG, data_dir=tmp_path) as cluster:
        bootstrap = cluster.bootstrap_servers
        create_topic(bootstrap, "kip848")
        producer = Producer({"bootstrap.servers": bootstrap})
        for i in range(60):
            producer.produce("kip848", value=b"%d" % i, partition=i % PARTITIONS)
        assert producer.flush(10) == 0
        members = [consumer_protocol_member(bootstrap, "cg") for _ in range(2)]
        for member in members:
            member.subscribe(["kip848"])
        with GroupView(bootstrap, "cg", "consumer") as view:

            def settled() -> bool:
                for member in members:
                    member.poll(0.05)
                state, owned = view.describe()
                return state == "Stable" and sum(len(o) for o in owned) == PARTITIONS

            wait_until(settled, 30, view.describe)
        members[0].commit(
            offsets=[TopicPartition("kip848", p, 4 + p, f"m{p}") for p in range(PARTITIONS)],
            asynchronous=False,
        )
        s = ConsumerSession(bootstrap, "cg", "kip848")
        before = s.consumer_describe()
        s.close()
        empty = consumer_protocol_member(bootstrap, "cg-empty")
        empty.subscribe(["kip848"])
        wait_assigned(empty)
        empty.close()
        e = ConsumerSession(bootstrap, "cg-empty", "kip848")
        empty_before = e.consumer_describe()
        e.close()
        assert empty_before["state"] == "Empty"
        # The broker goes away with both members still in the group (they never leave: they
        # are closed only once it is gone).

    with rafka.Cluster(listen=True, config=CONFIG, data_dir=tmp_path) as cluster:
        bootstrap = cluster.bootstrap_servers
        s = ConsumerSession(bootstrap, "cg", "kip848")
        assert s.consumer_describe() == before
        assert before["state"] == "Stable" and len(before["members"]) == 2
        e = ConsumerSession(bootstrap, "cg-empty", "kip848")
        assert e.consumer_describe() == empty_before
        e.close()
        with RawClient(bootstrap) as raw:
            listed = {
                g.group_id: (g.group_state, g.group_type)
                for g in raw.call(ListGroupsRequest(), 5).groups
            }
        assert listed == {"cg": ("Stable", "consumer"), "cg-empty": ("Empty", "consumer")}
        # Neither member comes back: their sessions expire (4 s) and the group is Empty.
        wait_until(lambda: s.consumer_describe()["state"] == "Empty", 20, s.consumer_describe)
        after = s.consumer_describe()
        assert after["epoch"] > before["epoch"]
        s.close()
        resumed = consumer_protocol_member(bootstrap, "cg")
        resumed.subscribe(["kip848"])
        seen: set[tuple[int, int]] = set()
        deadline = time.monotonic() + 30
        while len(seen) < 60 - sum(4 + p for p in range(PARTITIONS)):
            assert time.monotonic() < deadline, seen
            for msg in resumed.consume(100, 0.2):
                partition, offset = msg.partition(), msg.offset()
                assert not msg.error() and partition is not None and offset is not None
                seen.add((partition, offset))
        assert min(o for p, o in seen if p == 2) == 6
        resumed.close()
    _close_abandoned(members)


def _close_abandoned(members: list[Consumer]) -> None:
    """Close members whose brokers are gone. librdkafka's close() of a consumer-protocol
    member waits for the answer to its leave heartbeat, and with no broker left it once waited
    for minutes (not what these tests are about): close them on daemon threads, waiting a
    little for each."""
    threads = [threading.Thread(target=m.close, daemon=True) for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)

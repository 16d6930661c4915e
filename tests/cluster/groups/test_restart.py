"""A cluster restarted on its ``data_dir`` rebuilds groups and offsets from
``__consumer_offsets``: committed offsets (with metadata and leader epochs), Empty groups, and
nothing that was deleted."""

from __future__ import annotations

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
from tests.cluster.groups.driver import PARTITIONS, GroupView, create_topic, wait_until
from tests.cluster.groups.session import Session
from tests.interop.raw import RawClient

CONFIG = {"group.initial.rebalance.delay.ms": 0, "group.min.session.timeout.ms": 1000}


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

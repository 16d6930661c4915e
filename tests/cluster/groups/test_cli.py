"""Apache Kafka's ``kafka-consumer-groups`` against rafka: describe (offsets, lag, members,
state), reset offsets, list and delete; and describing a KIP-848 consumer-protocol group, on
rafka as on the reference broker."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Producer

import rafka
from tests.cluster.groups.conftest import KAFKA_GROUP_CONFIG
from tests.cluster.groups.driver import (
    PARTITIONS,
    GroupView,
    Member,
    create_topic,
    wait_settled,
    wait_until,
)
from tests.peers.kafka_broker import KafkaCli

pytestmark = pytest.mark.java


def table(out: str) -> list[dict[str, str]]:
    """The rows of the tool's first table, by column name."""
    lines = [line for line in out.splitlines() if line.strip()]
    header = next(i for i, line in enumerate(lines) if line.startswith("GROUP"))
    names = lines[header].split()
    rows = []
    for line in lines[header + 1 :]:
        cells = line.split()
        if len(cells) < len(names) or cells[0] == "GROUP":
            break
        rows.append(dict(zip(names, cells, strict=False)))
    return rows


def produce(bootstrap: str, topic: str, per_partition: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for partition in range(PARTITIONS):
        for _ in range(per_partition):
            producer.produce(topic, value=b"x", partition=partition)
    assert producer.flush(20) == 0


def test_consumer_groups_tool(group_cluster: rafka.Cluster, kafka_cli: KafkaCli) -> None:
    bootstrap = group_cluster.bootstrap_servers
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"cli-{suffix}", f"cli-group-{suffix}"
    create_topic(bootstrap, topic)

    def tool(*args: str) -> str:
        """The tool's output (it prints some notes to stderr)."""
        result = kafka_cli("kafka-consumer-groups", "--bootstrap-server", bootstrap, *args)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout + result.stderr

    members = [Member("confluent-kafka", bootstrap, group, topic) for _ in range(3)]
    view = GroupView(bootstrap, group)
    try:
        wait_settled(view, members, PARTITIONS)
        produce(bootstrap, topic, 10)
        wait_until(
            lambda: view.committed(topic) == dict.fromkeys(range(PARTITIONS), 10),
            30,
            lambda: str(view.committed(topic)),
        )
        rows = table(tool("--describe", "--group", group))
        assert sorted(int(r["PARTITION"]) for r in rows) == list(range(PARTITIONS))
        assert {(r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"]) for r in rows} == {
            ("10", "10", "0")
        }
        owners = {r["CONSUMER-ID"] for r in rows}
        assert len(owners) == 3 and "-" not in owners
        assert {r["HOST"] for r in rows} == {"/127.0.0.1"}

        rows = table(tool("--describe", "--members", "--group", group))
        assert {r["CONSUMER-ID"] for r in rows} == owners
        assert [r["#PARTITIONS"] for r in rows] == ["2", "2", "2"]

        (state,) = table(tool("--describe", "--state", "--group", group))
        assert (state["ASSIGNMENT-STRATEGY"], state["STATE"], state["#MEMBERS"]) == (
            "range",
            "Stable",
            "3",
        )
        for member in members:
            member.stop()
    except BaseException:
        view.close()
        raise
    finally:
        for member in members:
            member.close()

    produce(bootstrap, topic, 5)
    out = tool("--describe", "--group", group)
    assert "has no active members" in out
    assert {(r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"]) for r in table(out)} == {
        ("10", "15", "5")
    }
    assert group in tool("--list").split()

    out = tool("--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute")
    assert {r["NEW-OFFSET"] for r in table(out)} == {"0"}
    assert view.committed(topic) == dict.fromkeys(range(PARTITIONS), 0)
    tool("--reset-offsets", "--group", group, "--all-topics", "--shift-by", "3", "--execute")
    assert view.committed(topic) == dict.fromkeys(range(PARTITIONS), 3)

    assert "was successful" in tool("--delete", "--group", group)
    assert group not in tool("--list").split()
    assert view.committed(topic) == {}
    view.close()


@pytest.fixture(params=["rafka", "kafka"])
def cli_target(request: pytest.FixtureRequest) -> str:
    if request.param == "kafka":
        factory = request.getfixturevalue("kafka_broker_factory")
        return str(factory(KAFKA_GROUP_CONFIG).bootstrap_servers)
    cluster: rafka.Cluster = request.getfixturevalue("group_cluster")
    return cluster.bootstrap_servers


def test_consumer_groups_tool_on_a_consumer_protocol_group(
    cli_target: str, kafka_cli: KafkaCli
) -> None:
    """``--describe`` (offsets, members, state) of a KIP-848 group, on rafka as on Kafka: the
    tool asks ConsumerGroupDescribe and shows the coordinator's assignor and epochs."""
    bootstrap = cli_target
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"cli848-{suffix}", f"cli848-group-{suffix}"
    create_topic(bootstrap, topic)

    def tool(*args: str) -> str:
        result = kafka_cli("kafka-consumer-groups", "--bootstrap-server", bootstrap, *args)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout + result.stderr

    members = [
        Member("confluent-kafka", bootstrap, group, topic, group_protocol="consumer")
        for _ in range(3)
    ]
    view = GroupView(bootstrap, group, "consumer")
    try:
        wait_settled(view, members, PARTITIONS)
        produce(bootstrap, topic, 10)
        wait_until(
            lambda: view.committed(topic) == dict.fromkeys(range(PARTITIONS), 10),
            30,
            lambda: str(view.committed(topic)),
        )
        rows = table(tool("--describe", "--group", group))
        assert sorted(int(r["PARTITION"]) for r in rows) == list(range(PARTITIONS))
        assert {(r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"]) for r in rows} == {
            ("10", "10", "0")
        }
        owners = {r["CONSUMER-ID"] for r in rows}
        assert len(owners) == 3 and "-" not in owners
        assert {r["HOST"] for r in rows} == {"/127.0.0.1"}

        rows = table(tool("--describe", "--members", "--verbose", "--group", group))
        assert {r["CONSUMER-ID"] for r in rows} == owners
        assert [r["#PARTITIONS"] for r in rows] == ["2", "2", "2"]
        epochs = {r["CURRENT-EPOCH"] for r in rows} | {r["TARGET-EPOCH"] for r in rows}
        assert len(epochs) == 1 and int(next(iter(epochs))) >= 3
        assert all(r["CURRENT-ASSIGNMENT"] == r["TARGET-ASSIGNMENT"] for r in rows)

        (state,) = table(tool("--describe", "--state", "--verbose", "--group", group))
        assert (state["ASSIGNMENT-STRATEGY"], state["STATE"], state["#MEMBERS"]) == (
            "uniform",
            "Stable",
            "3",
        )
        assert state["GROUP-EPOCH"] == state["TARGET-ASSIGNMENT-EPOCH"] == next(iter(epochs))
        for member in members:
            member.stop()
        out = tool("--describe", "--group", group)
        assert "has no active members" in out
        assert "was successful" in tool("--delete", "--group", group)
        assert group not in tool("--list").split()
    finally:
        view.close()
        for member in members:
            member.close()

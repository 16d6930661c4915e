"""The harness's own plumbing: broker lifecycle, CLI tools on a data dir, driver options."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tests.peers.clients import PeerClient, driver_args, generated_records
from tests.peers.kafka_broker import CLI_TOOLS, KafkaBroker, KafkaCli, _kafka_uuid, free_port


def test_cluster_ids_look_like_kafkas() -> None:
    for _ in range(200):
        text = _kafka_uuid()
        assert len(text) == 22 and not text.startswith("-")
        assert len(base64.urlsafe_b64decode(text + "==")) == 16


def test_free_port_is_bindable() -> None:
    import socket

    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_driver_args() -> None:
    args = driver_args(
        {
            "topic": ["a", "b"],
            "keyed": True,
            "null_values": False,
            "idempotence": False,
            "config": {"x.y": 1},
            "value_size": 5,
            "partition": None,
        }
    )
    assert args == [
        *("--topic", "a", "--topic", "b", "--keyed", "--idempotence", "false"),
        *("--config", "x.y=1", "--value-size", "5"),
    ]


def test_cli_tool_classes_exist(kafka_cli: KafkaCli) -> None:
    """Every mapped main class is in the jars (``--help``-free check: the JVM finds it)."""
    import zipfile

    classes = set()
    for jar in kafka_cli.classpath.split(":"):
        if "/kafka" in jar:
            with zipfile.ZipFile(jar) as zf:
                classes.update(zf.namelist())
    for tool, main in CLI_TOOLS.items():
        assert main.replace(".", "/") + ".class" in classes, tool


def test_broker_factory_overrides_and_stop(
    kafka_broker_factory: Callable[[Mapping[str, object]], KafkaBroker],
    peer_client: Callable[[str], PeerClient],
) -> None:
    broker = kafka_broker_factory({"auto.create.topics.enable": "false"})
    assert "auto.create.topics.enable=false" in broker.config_file.read_text().splitlines()
    assert kafka_broker_factory({"auto.create.topics.enable": False}) is broker
    result = peer_client("confluent-kafka").produce(
        broker.bootstrap_servers, "not-created", generated_records(1), timeout=3
    )
    assert [e.error for e in result.errors] == ["REQUEST_TIMED_OUT"]  # never auto-created


def test_stop_ends_the_process_and_cleans_up() -> None:
    broker = KafkaBroker()
    work_dir = broker.work_dir
    with broker:
        pid = broker.pid
        assert pid is not None and broker.is_running()
    assert not broker.is_running()
    assert not Path(f"/proc/{pid}").exists() or "zombie" in _proc_state(pid)
    assert not work_dir.exists()
    broker.stop()  # idempotent


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"


def test_dump_log_reads_the_brokers_segments(
    kafka_broker: KafkaBroker,
    kafka_cli: KafkaCli,
    peer_client: Callable[[str], PeerClient],
) -> None:
    topic = "dump-log"
    client = peer_client("confluent-kafka")
    assert client.create_topic(kafka_broker.bootstrap_servers, topic).ok
    client.produce(kafka_broker.bootstrap_servers, topic, generated_records(3)).check()
    (segment,) = (kafka_broker.data_dir / f"{topic}-0").glob("*.log")
    result = kafka_cli("kafka-dump-log", "--files", segment, "--print-data-log").check()
    assert "payload: value-2" in result.stdout, result.stdout


@pytest.mark.parametrize("tool", ["kafka-topics", "kafka-topics.sh"])
def test_cli_reports_bad_usage(kafka_cli: KafkaCli, tool: str) -> None:
    code, _, err = kafka_cli(tool, "--no-such-option")
    assert code != 0 and err

"""Apache Kafka's CLI tools against rafka, with the same commands' output from Kafka as the
reference: ``kafka-topics`` (create, create again, bad config, alter partitions, list,
describe, delete), ``kafka-console-producer`` / ``kafka-console-consumer``,
``kafka-get-offsets``, ``kafka-delete-records``, ``kafka-configs`` (describe, alter) and
``kafka-dump-log`` on the segments of a rafka ``data_dir`` (which must also be byte for byte
the segment Kafka writes for the same batches, indexes included, and be served again after a
restart).

Outputs are compared after replacing what legitimately differs (topic ids, timestamps set by
the tools' own clocks, file paths). The console consumer is given ``--partition``: without it
it joins a consumer group, which rafka does not serve yet.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

import rafka
from rafka.protocol.records.compression import Compression
from tests.interop.conftest import TARGETS, Target
from tests.interop.raw import RawClient, batch_headers, build_batch, error_name, leader_bootstrap
from tests.interop.scenarios import Memo, now_ms, run_all
from tests.peers.kafka_broker import CliResult, KafkaBroker, KafkaCli

#: rafka bugs by (test, target); see test_clients_against_rafka.RAFKA_BUGS.
RAFKA_BUGS: dict[tuple[str, str], str] = {}


def params(test: str, targets: tuple[str, ...] = TARGETS) -> list[Any]:
    out = []
    for target in targets:
        reason = None if target == "kafka" else RAFKA_BUGS.get((test, target))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(target, marks=marks, id=target))
    return out


class Runs:
    """Each CLI scenario's outputs per target, computed once (rafka tests compare with the
    Kafka run whichever ran first)."""

    def __init__(self, targets: Mapping[str, Target], cli: KafkaCli) -> None:
        self.targets = targets
        self.cli = cli
        self._memo = Memo()

    def get(self, scenario: str, target: str, compute: Callable[[Target], Any]) -> Any:
        return self._memo.get((scenario, target), lambda: compute(self.targets[target]))


@pytest.fixture(scope="module")
def runs(targets: Mapping[str, Target], kafka_cli: KafkaCli) -> Runs:
    return Runs(targets, kafka_cli)


def _calls(
    cli: KafkaCli, calls: Mapping[str, tuple[Any, ...]], **kwargs: Any
) -> dict[str, CliResult]:
    """Run independent CLI commands at once; their results by name."""
    jobs = {name: (lambda args=args: cli(*args, **kwargs)) for name, args in calls.items()}
    return {name: outcome.get() for name, outcome in run_all(jobs).items()}


# -- kafka-topics -----------------------------------------------------------------------------

TOPIC = "interop-cli-topic"
DELETED = "interop-cli-deleted"
MISSING = "interop-cli-missing"
BAD = "interop-cli-bad-config"

_TOPIC_ID = re.compile(r"TopicId: \S+")


def _normalise_topics_output(text: str) -> str:
    return _TOPIC_ID.sub("TopicId: <id>", text)


def _run_kafka_topics(cli: KafkaCli, target: Target) -> dict[str, CliResult]:
    bs = target.bootstrap
    rf = str(target.replication_factor)
    topics = ("kafka-topics", "--bootstrap-server", bs)
    out = _calls(
        cli,
        {
            "create": (
                *topics,
                "--create",
                "--topic",
                TOPIC,
                "--partitions",
                "3",
                "--replication-factor",
                rf,
                "--config",
                "retention.ms=86400000",
                "--config",
                "cleanup.policy=compact",
            ),
            "create-deleted": (*topics, "--create", "--topic", DELETED, "--replication-factor", rf),
        },
    )
    out.update(
        _calls(
            cli,
            {
                "create-again": (*topics, "--create", "--topic", TOPIC),
                "bad-config": (*topics, "--create", "--topic", BAD, "--config", "retention.ms=abc"),
                "alter": (*topics, "--alter", "--topic", TOPIC, "--partitions", "5"),
                "delete": (*topics, "--delete", "--topic", DELETED),
            },
        )
    )
    out.update(
        _calls(
            cli,
            {
                "list": (*topics, "--list"),
                "describe": (*topics, "--describe", "--topic", TOPIC),
                "describe-missing": (*topics, "--describe", "--topic", MISSING),
            },
        )
    )
    return out


def _errors(result: CliResult) -> list[str]:
    """The tool's error lines (its own message, without log lines and stack traces)."""
    return [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.startswith("Error while executing")
    ]


def _topics_view(out: dict[str, CliResult]) -> dict[str, Any]:
    return {
        name: (
            result.returncode,
            _normalise_topics_output(result.stdout) if name != "describe-missing" else "",
            _errors(result),
        )
        for name, result in out.items()
        if name not in ("list", "describe")
    }


def _describe_lines(out: dict[str, CliResult]) -> list[dict[str, str]]:
    lines = []
    for line in out["describe"].check().stdout.splitlines():
        fields: dict[str, str] = {}
        for part in line.strip().split("\t"):
            name, _, value = part.partition(": ")
            fields[name.rstrip(":")] = value
        lines.append(fields)
    return lines


@pytest.mark.parametrize("target", params("kafka-topics"))
def test_kafka_topics(runs: Runs, target: str) -> None:
    out = runs.get("kafka-topics", target, lambda t: _run_kafka_topics(runs.cli, t))
    rf = runs.targets[target].replication_factor
    assert out["create"].check().stdout.strip() == f"Created topic {TOPIC}."
    assert out["alter"].returncode == 0, out["alter"]
    assert out["delete"].returncode == 0, out["delete"]
    assert out["create-again"].returncode == 1
    assert _errors(out["create-again"]) == [
        f"Error while executing topic command : Topic '{TOPIC}' already exists."
    ]
    assert out["bad-config"].returncode == 1 and _errors(out["bad-config"])
    listed = out["list"].check().stdout.split()
    assert TOPIC in listed and DELETED not in listed and BAD not in listed
    header, *partitions = _describe_lines(out)
    assert header["Topic"] == TOPIC
    assert header["PartitionCount"] == "5"
    assert header["ReplicationFactor"] == str(rf)
    configs = set(header["Configs"].split(","))
    assert {"cleanup.policy=compact", "retention.ms=86400000"} <= configs
    assert [p["Partition"] for p in partitions] == [str(i) for i in range(5)]
    for p in partitions:
        replicas = p["Replicas"].split(",")
        assert len(replicas) == rf and p["Leader"] in replicas
        assert sorted(p["Isr"].split(",")) == sorted(replicas)
    assert out["describe-missing"].returncode == 1
    if target != "kafka":
        ref = runs.get("kafka-topics", "kafka", lambda t: _run_kafka_topics(runs.cli, t))
        assert _topics_view(out) == _topics_view(ref)
        ref_header, *ref_partitions = _describe_lines(ref)
        assert set(header) == set(ref_header)
        header_without_rf = {
            k: v for k, v in header.items() if k not in ("TopicId", "ReplicationFactor", "Configs")
        }
        assert header_without_rf == {
            k: v
            for k, v in ref_header.items()
            if k not in ("TopicId", "ReplicationFactor", "Configs")
        }
        assert configs - {"min.insync.replicas=1"} == set(ref_header["Configs"].split(",")) - {
            "min.insync.replicas=1"
        }
        if rf == 1:
            assert partitions == ref_partitions
        assert [set(p) for p in partitions] == [set(p) for p in ref_partitions]


# -- console producer and consumer ------------------------------------------------------------

CONSOLE_TOPIC = "interop-cli-console"
CONSOLE_INPUT = "h1:a,h2:b\tk1\tone\nh3:c\tk2\tNULL\nh4:d\tk3\tthree\nh5:e\tk4\t\n"
_TIMESTAMP = re.compile(r"CreateTime:(\d+)")


def _run_console(cli: KafkaCli, target: Target) -> tuple[CliResult, CliResult, int, int]:
    bs = target.bootstrap
    with RawClient(bs) as raw:
        assert raw.create_topic(CONSOLE_TOPIC, 1, target.replication_factor).error_code == 0
        raw.wait_for_leaders(CONSOLE_TOPIC)
    started = now_ms()
    produced = cli(
        "kafka-console-producer",
        "--bootstrap-server",
        bs,
        "--topic",
        CONSOLE_TOPIC,
        "--property",
        "parse.key=true",
        "--property",
        "parse.headers=true",
        "--property",
        "null.marker=NULL",
        "--compression-codec",
        "lz4",
        input=CONSOLE_INPUT,
    )
    ended = now_ms()
    consumed = cli(
        "kafka-console-consumer",
        "--bootstrap-server",
        bs,
        "--topic",
        CONSOLE_TOPIC,
        "--partition",
        "0",
        "--from-beginning",
        "--max-messages",
        "4",
        "--timeout-ms",
        "20000",
        "--property",
        "print.key=true",
        "--property",
        "print.offset=true",
        "--property",
        "print.partition=true",
        "--property",
        "print.headers=true",
        "--property",
        "print.timestamp=true",
        "--property",
        "null.literal=<null>",
    )
    return produced, consumed, started, ended


@pytest.mark.parametrize("target", params("console"))
def test_console_producer_and_consumer(runs: Runs, target: str) -> None:
    produced, consumed, started, ended = runs.get(
        "console", target, lambda t: _run_console(runs.cli, t)
    )
    produced.check()
    consumed.check()
    lines = consumed.stdout.splitlines()
    assert [_TIMESTAMP.sub("CreateTime:T", line) for line in lines] == [
        "CreateTime:T\tPartition:0\tOffset:0\th1:a,h2:b\tk1\tone",
        "CreateTime:T\tPartition:0\tOffset:1\th3:c\tk2\t<null>",
        "CreateTime:T\tPartition:0\tOffset:2\th4:d\tk3\tthree",
        "CreateTime:T\tPartition:0\tOffset:3\th5:e\tk4\t",
    ]
    for line in lines:
        (ts,) = _TIMESTAMP.findall(line)
        assert started - 2000 <= int(ts) <= ended + 2000
    assert "Processed a total of 4 messages" in consumed.stderr


# -- kafka-get-offsets ------------------------------------------------------------------------

OFFSETS_TOPIC = "interop-cli-offsets"


def _offsets_data(base: int) -> dict[int, list[bytes]]:
    """Two batches per partition, timestamps out of order within each."""
    data = {}
    for p in range(2):
        stamps = [base + 30 + p, base + 10, base + 50 - p, base + 20, base + 40]
        data[p] = [
            build_batch([(ts, f"k{i}".encode(), b"v") for i, ts in enumerate(stamps[:3])]),
            build_batch(
                [(ts, None, b"w" * 100) for ts in stamps[3:]], compression=Compression.ZSTD
            ),
        ]
    return data


def _run_get_offsets(cli: KafkaCli, target: Target, base: int) -> dict[str, CliResult]:
    bs = target.bootstrap
    with RawClient(bs) as raw:
        assert raw.create_topic(OFFSETS_TOPIC, 2, target.replication_factor).error_code == 0
    for partition, batches in _offsets_data(base).items():
        with RawClient(leader_bootstrap(bs, OFFSETS_TOPIC, partition)) as raw:
            for batch in batches:
                raw.produce_ok(OFFSETS_TOPIC, partition, batch)
    shell = ("kafka-get-offsets", "--bootstrap-server", bs, "--topic", OFFSETS_TOPIC)
    return _calls(
        cli,
        {
            "latest": shell,
            "earliest": (*shell, "--time", "-2"),
            "max-timestamp": (*shell, "--time", "-3"),
            "timestamp": (*shell, "--time", str(base + 25)),
            "after-all": (*shell, "--time", str(base + 1000)),
        },
    )


def _offsets_view(out: dict[str, CliResult]) -> dict[str, list[str]]:
    return {name: sorted(result.check().stdout.split()) for name, result in out.items()}


@pytest.fixture(scope="module")
def offsets_base() -> int:
    return now_ms() - 600_000


@pytest.mark.parametrize("target", params("get-offsets"))
def test_get_offsets(runs: Runs, target: str, offsets_base: int) -> None:
    out = runs.get("get-offsets", target, lambda t: _run_get_offsets(runs.cli, t, offsets_base))
    view = _offsets_view(out)
    t = OFFSETS_TOPIC
    assert view["latest"] == [f"{t}:0:5", f"{t}:1:5"]
    assert view["earliest"] == [f"{t}:0:0", f"{t}:1:0"]
    # partition 0: max timestamp base+50 at offset 2; partition 1: base+49 (offset 2)
    assert view["max-timestamp"] == [f"{t}:0:2", f"{t}:1:2"]
    # the first offset whose timestamp >= base+25: offset 0 (base+30 / base+31)
    assert view["timestamp"] == [f"{t}:0:0", f"{t}:1:0"]
    assert view["after-all"] == [f"{t}:0:", f"{t}:1:"] or all(
        line.endswith(":") or line.endswith(":-1") for line in view["after-all"]
    )
    if target != "kafka":
        ref = runs.get(
            "get-offsets", "kafka", lambda tg: _run_get_offsets(runs.cli, tg, offsets_base)
        )
        assert view == _offsets_view(ref)


# -- kafka-delete-records --------------------------------------------------------------------

DELETE_RECORDS_TOPIC = "interop-cli-delete-records"


def _run_delete_records(cli: KafkaCli, target: Target, base: int, tmp: Path) -> dict[str, Any]:
    bs = target.bootstrap
    with RawClient(bs) as raw:
        assert raw.create_topic(DELETE_RECORDS_TOPIC, 2, target.replication_factor).error_code == 0
    for partition in range(2):
        with RawClient(leader_bootstrap(bs, DELETE_RECORDS_TOPIC, partition)) as raw:
            for i in range(3):
                batch = build_batch([(base + i, b"k", b"v"), (base + i, b"k", b"w")])
                raw.produce_ok(DELETE_RECORDS_TOPIC, partition, batch)
    spec = tmp / f"delete-{target.name}.json"
    spec.write_text(
        '{"version": 1, "partitions": ['
        f'{{"topic": "{DELETE_RECORDS_TOPIC}", "partition": 0, "offset": 3}},'
        f'{{"topic": "{DELETE_RECORDS_TOPIC}", "partition": 1, "offset": 99}}'
        "]}",
        encoding="utf-8",
    )
    deleted = cli("kafka-delete-records", "--bootstrap-server", bs, "--offset-json-file", str(spec))
    earliest = cli(
        "kafka-get-offsets",
        "--bootstrap-server",
        bs,
        "--topic",
        DELETE_RECORDS_TOPIC,
        "--time",
        "-2",
    )
    with RawClient(leader_bootstrap(bs, DELETE_RECORDS_TOPIC, 0)) as raw:
        fetched = raw.fetch(DELETE_RECORDS_TOPIC, 0, 0)
        first = [h.base_offset for h in batch_headers(bytes(fetched.records or b""))]
        # (the other fields of an error partition: see test_error_parity's
        # fetch-error-partition-fields)
        fetch = (error_name(fetched.error_code), first)
    return {"deleted": deleted, "earliest": earliest, "fetch-from-0": fetch}


def _delete_records_view(out: dict[str, Any]) -> dict[str, Any]:
    deleted = out["deleted"]
    # (the tool prints partitions in no fixed order)
    lines = sorted(_BOOTSTRAP.sub("<bootstrap>", line) for line in deleted.stdout.splitlines())
    return {
        "deleted": (deleted.returncode, lines),
        "earliest": sorted(out["earliest"].check().stdout.split()),
        "fetch-from-0": out["fetch-from-0"],
    }


@pytest.mark.parametrize("target", params("delete-records"))
def test_delete_records(
    runs: Runs, target: str, tmp_path_factory: pytest.TempPathFactory, offsets_base: int
) -> None:
    """kafka-delete-records moves the log start (DeleteRecords): to offset 3 on partition 0; past
    the end (99) on partition 1 fails with OFFSET_OUT_OF_RANGE. Fetching from 0 afterwards is
    out of range."""
    tmp = tmp_path_factory.mktemp("delete-records")
    out = runs.get(
        "delete-records", target, lambda t: _run_delete_records(runs.cli, t, offsets_base, tmp)
    )
    view = _delete_records_view(out)
    t = DELETE_RECORDS_TOPIC
    assert view["earliest"] == [f"{t}:0:3", f"{t}:1:0"]
    assert any(
        "OffsetOutOfRange" in line or "OFFSET_OUT_OF_RANGE" in line for line in view["deleted"][1]
    )
    if target != "kafka":
        ref = runs.get(
            "delete-records",
            "kafka",
            lambda tg: _run_delete_records(runs.cli, tg, offsets_base, tmp),
        )
        assert view == _delete_records_view(ref)


# -- kafka-configs ----------------------------------------------------------------------------

CONFIGS_TOPIC = "interop-cli-configs"
_BOOTSTRAP = re.compile(r"--bootstrap-server \S+")


def _run_configs(cli: KafkaCli, target: Target) -> dict[str, CliResult]:
    bs = target.bootstrap
    with RawClient(bs) as raw:
        created = raw.create_topic(
            CONFIGS_TOPIC,
            1,
            target.replication_factor,
            {
                "retention.ms": "86400000",
                "cleanup.policy": "compact",
                "max.message.bytes": "2000000",
            },
        )
        assert created.error_code == 0, created
    configs = ("kafka-configs", "--bootstrap-server", bs)
    entity = ("--entity-type", "topics", "--entity-name", CONFIGS_TOPIC)
    out = _calls(
        cli,
        {
            "describe": (*configs, "--describe", *entity),
            "describe-all": (*configs, "--describe", *entity, "--all"),
            "describe-missing": (
                *configs,
                "--describe",
                "--entity-type",
                "topics",
                "--entity-name",
                "interop-cli-no-such-topic",
            ),
        },
    )
    out["alter"] = cli(
        *configs,
        "--alter",
        *entity,
        "--add-config",
        "retention.ms=3600000,segment.bytes=10485760",
        "--delete-config",
        "cleanup.policy",
    )
    out["alter-invalid"] = cli(*configs, "--alter", *entity, "--add-config", "retention.ms=abc")
    out["describe-after"] = cli(*configs, "--describe", *entity)
    return out


def _configs_view(out: dict[str, CliResult]) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for name, result in out.items():
        text = result.stdout
        # The tool's error line and the broker's message it carries (the exception's line)
        errors = [
            _BOOTSTRAP.sub("<bootstrap>", line)
            for line in result.stderr.splitlines()
            if line.startswith(("Error while", "Caused by: org.apache.kafka.common.errors."))
        ]
        view[name] = (result.returncode, text.splitlines(), errors)
    return view


@pytest.mark.parametrize("target", params("kafka-configs"))
def test_kafka_configs(runs: Runs, target: str) -> None:
    out = runs.get("kafka-configs", target, lambda t: _run_configs(runs.cli, t))
    described = out["describe"].check().stdout.splitlines()
    assert described[0] == f"Dynamic configs for topic {CONFIGS_TOPIC} are:"
    assert any(line.strip().startswith("retention.ms=86400000 ") for line in described)
    assert (
        out["alter"].check().stdout.strip()
        == f"Completed updating config for topic {CONFIGS_TOPIC}."
    )
    assert out["alter-invalid"].returncode != 0
    after = out["describe-after"].check().stdout
    assert "retention.ms=3600000" in after and "cleanup.policy" not in after
    if target != "kafka":
        ref = runs.get("kafka-configs", "kafka", lambda t: _run_configs(runs.cli, t))
        assert _configs_view(out) == _configs_view(ref)


# -- kafka-dump-log on a rafka data_dir -------------------------------------------------------

DUMP_TOPIC = "interop-dump-log"
_DUMPING = re.compile(r"^Dumping .*$", re.MULTILINE)


def _dump_batches(base: int) -> list[bytes]:
    """About 20 KB of batches (so the offset index gets entries every 4 KB): plain, each codec,
    keys, null values, headers, idempotent batches, timestamps out of order."""
    from rafka.protocol.records.builder import RecordBatchBuilder

    batches = []
    codecs = [
        Compression.NONE,
        Compression.GZIP,
        Compression.SNAPPY,
        Compression.LZ4,
        Compression.ZSTD,
    ]
    for i in range(15):
        idempotent = i >= 10
        builder = RecordBatchBuilder(
            compression=codecs[i % len(codecs)],
            producer_id=9 if idempotent else -1,
            producer_epoch=0 if idempotent else -1,
            base_sequence=3 * (i - 10) if idempotent else -1,
        )
        for j in range(3):
            builder.append(
                base + (i * 7 + j * 3) % 40,
                f"key-{i}-{j}".encode(),
                None if j == 2 else bytes([65 + i]) * 600,
                [("h", f"{i}-{j}".encode()), ("null", None)] if j == 1 else [],
            )
        batches.append(bytes(builder.build()))
    return batches


def _index_entries(path: Path, entry: struct.Struct) -> list[tuple[int, ...]]:
    """The entries of an offset or time index, up to the preallocated zeros of an active one."""
    data = path.read_bytes()
    out = []
    for pos in range(0, len(data) - entry.size + 1, entry.size):
        fields = entry.unpack_from(data, pos)
        if not any(fields):
            break
        out.append(fields)
    return out


_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")


@pytest.fixture(scope="module")
def dumped(
    tmp_path_factory: pytest.TempPathFactory, kafka_broker: KafkaBroker, kafka_cli: KafkaCli
) -> dict[str, Any]:
    """The same batches appended by Kafka and by an on-disk rafka cluster (then stopped)."""
    base = now_ms() - 60_000
    batches = _dump_batches(base)
    data_dir = tmp_path_factory.mktemp("rafka-data")
    with rafka.Cluster(listen=True, data_dir=data_dir) as cluster:
        for bootstrap in (kafka_broker.bootstrap_servers, cluster.bootstrap_servers):
            with RawClient(bootstrap) as raw:
                assert raw.create_topic(DUMP_TOPIC, 1, 1).error_code == 0
                raw.wait_for_leaders(DUMP_TOPIC)
                offsets = [raw.produce_ok(DUMP_TOPIC, 0, b).base_offset for b in batches]
                assert offsets == [3 * i for i in range(len(batches))]
    # a restart on the same data_dir recovers the segment and serves it
    with (
        rafka.Cluster(listen=True, data_dir=data_dir) as restarted,
        RawClient(restarted.bootstrap_servers) as raw,
    ):
        raw.wait_for_leaders(DUMP_TOPIC)
        served_after_restart = raw.fetch_all(DUMP_TOPIC, 0)
    rafka_dir = data_dir / "broker-1" / f"{DUMP_TOPIC}-0"
    kafka_dir = kafka_broker.data_dir / f"{DUMP_TOPIC}-0"
    segment = "00000000000000000000"
    jobs = {
        "rafka-log": (
            "--files",
            rafka_dir / f"{segment}.log",
            "--print-data-log",
            "--deep-iteration",
        ),
        "kafka-log": (
            "--files",
            kafka_dir / f"{segment}.log",
            "--print-data-log",
            "--deep-iteration",
        ),
        "rafka-index": ("--files", f"{rafka_dir / segment}.index,{rafka_dir / segment}.timeindex"),
        "rafka-index-check": (
            "--files",
            f"{rafka_dir / segment}.index,{rafka_dir / segment}.timeindex",
            "--index-sanity-check",
        ),
    }
    results = _calls(kafka_cli, {k: ("kafka-dump-log", *v) for k, v in jobs.items()})
    return {
        "dir": rafka_dir,
        "kafka_dir": kafka_dir,
        "segment": segment,
        "batches": batches,
        "served_after_restart": served_after_restart,
        **results,
    }


def test_dump_log_reads_rafka_segment(dumped: dict[str, Any]) -> None:
    """kafka-dump-log reads rafka's segment: every batch valid, every offset there, and the
    same output as for Kafka's own segment of the same batches."""
    rafka_out = dumped["rafka-log"].check().stdout
    assert "isvalid: false" not in rafka_out
    batch_lines = [line for line in rafka_out.splitlines() if line.startswith("baseOffset:")]
    assert len(batch_lines) == len(dumped["batches"])
    assert all("isvalid: true" in line for line in batch_lines)
    offsets = [int(m) for m in re.findall(r"^\| offset: (\d+)", rafka_out, re.MULTILINE)]
    assert offsets == list(range(3 * len(dumped["batches"])))
    kafka_out = dumped["kafka-log"].check().stdout
    assert _DUMPING.sub("", rafka_out) == _DUMPING.sub("", kafka_out)


def test_rafka_segment_bytes_match_kafka(dumped: dict[str, Any]) -> None:
    """The segment file holds the very bytes Kafka's does for the same produced batches."""
    segment = dumped["segment"]
    rafka_log = (dumped["dir"] / f"{segment}.log").read_bytes()
    kafka_log = (dumped["kafka_dir"] / f"{segment}.log").read_bytes()
    assert rafka_log == kafka_log


def test_restarted_rafka_serves_the_segment(dumped: dict[str, Any]) -> None:
    """A cluster restarted on the data_dir serves the very bytes kafka-dump-log read."""
    segment = (dumped["dir"] / f"{dumped['segment']}.log").read_bytes()
    assert dumped["served_after_restart"] == segment


def test_rafka_indexes_match_kafka(dumped: dict[str, Any]) -> None:
    """The offset index has Kafka's entries (one per log.index.interval.bytes), the time index
    Kafka's too (plus, for a closed segment, the final entry Kafka writes when it rolls), and
    kafka-dump-log's sanity check passes."""
    segment = dumped["segment"]
    rafka_index = _index_entries(dumped["dir"] / f"{segment}.index", _OFFSET_ENTRY)
    kafka_index = _index_entries(dumped["kafka_dir"] / f"{segment}.index", _OFFSET_ENTRY)
    assert kafka_index, "Kafka indexed nothing: the batches are too small for the test"
    assert rafka_index == kafka_index
    rafka_time = _index_entries(dumped["dir"] / f"{segment}.timeindex", _TIME_ENTRY)
    kafka_time = _index_entries(dumped["kafka_dir"] / f"{segment}.timeindex", _TIME_ENTRY)
    assert rafka_time[: len(kafka_time)] == kafka_time
    assert len(rafka_time) <= len(kafka_time) + 1
    check = dumped["rafka-index-check"].check().stdout
    assert "passed sanity check" in check and "Mismatches" not in check
    listed = dumped["rafka-index"].check().stdout
    assert "Mismatches" not in listed and "not found in the log" not in listed


@pytest.mark.parametrize("target", params("min-isr"))
def test_cluster_level_min_insync_replicas(runs: Runs, target: str) -> None:
    """kafka-configs --all shows min.insync.replicas as Kafka does, synonyms included."""
    out = runs.get("kafka-configs", target, lambda t: _run_configs(runs.cli, t))
    (line,) = [
        line.strip()
        for line in out["describe-all"].check().stdout.splitlines()
        if line.strip().startswith("min.insync.replicas=")
    ]
    assert line == (
        "min.insync.replicas=1 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:"
        "min.insync.replicas=1, DEFAULT_CONFIG:min.insync.replicas=1}"
    )

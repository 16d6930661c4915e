"""DescribeConfigs: topics, brokers and loggers, with sources and synonyms as Kafka gives them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin import ConfigResource as CkResource
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

import rafka
from rafka import errors
from rafka.cluster.configs import ConfigSource as S
from rafka.protocol.messages import DescribeConfigsRequest, IncrementalAlterConfigsRequest
from tests.cluster.handlers.conftest import call, create_topic

pytestmark = pytest.mark.anyio

D = DescribeConfigsRequest
I = IncrementalAlterConfigsRequest  # noqa: E741
STATIC = {"log.retention.hours": 24, "log.segment.bytes": 2000000, "log.roll.ms": 500000}


@pytest.fixture
async def static_cluster() -> AsyncIterator[rafka.AsyncCluster]:
    async with rafka.AsyncCluster(brokers=2, config=STATIC, seed=3) as c:
        yield c


async def describe(
    cluster: rafka.AsyncCluster,
    rtype: int,
    name: str,
    version: int = 4,
    keys: list[str] | None = None,
    synonyms: bool = True,
) -> Any:
    request = D(resources=[D.DescribeConfigsResource(rtype, name, keys)], include_synonyms=synonyms)
    response = await call(cluster.brokers[1], request, version)
    (result,) = response.results
    return result


def by_name(result: Any) -> dict[str, Any]:
    return {c.name: c for c in result.configs}


def synonyms(entry: Any) -> list[tuple[str, str | None, int]]:
    return [(s.name, s.value, s.source) for s in entry.synonyms]


@pytest.mark.parametrize("version", [1, 4])
async def test_topic_sources_and_synonyms(static_cluster: rafka.AsyncCluster, version: int) -> None:
    await create_topic(static_cluster.brokers[1], "cfg", segment_ms="100000")
    result = await describe(static_cluster, 2, "cfg", version)
    assert (result.error_code, result.resource_name) == (0, "cfg")
    configs = by_name(result)
    assert "internal.segment.bytes" not in configs
    seg_ms = configs["segment.ms"]
    assert (seg_ms.value, seg_ms.config_source, seg_ms.read_only) == (
        "100000",
        S.TOPIC_CONFIG,
        False,
    )
    assert synonyms(seg_ms) == [
        ("segment.ms", "100000", S.TOPIC_CONFIG),
        ("log.roll.ms", "500000", S.STATIC_BROKER_CONFIG),
        ("log.roll.hours", "168", S.DEFAULT_CONFIG),
    ]
    seg_bytes = configs["segment.bytes"]
    assert (seg_bytes.value, seg_bytes.config_source) == ("2000000", S.STATIC_BROKER_CONFIG)
    assert synonyms(seg_bytes) == [
        ("log.segment.bytes", "2000000", S.STATIC_BROKER_CONFIG),
        ("log.segment.bytes", "1073741824", S.DEFAULT_CONFIG),
    ]
    # Kafka's quirk: only log.retention.hours is set, so the synonyms (which start at
    # log.retention.ms) are dropped and the source is DEFAULT_CONFIG; the value is right.
    retention = configs["retention.ms"]
    assert (retention.value, retention.config_source, synonyms(retention)) == (
        "86400000",
        S.DEFAULT_CONFIG,
        [],
    )
    assert configs["cleanup.policy"].value == "delete"
    assert configs["remote.storage.enable"].synonyms == []
    assert configs["min.cleanable.dirty.ratio"].value == "0.5"
    if version >= 3:
        assert (configs["cleanup.policy"].config_type, seg_ms.config_type) == (7, 5)
        assert seg_ms.documentation is None
    else:
        assert seg_ms.config_type == 0


async def test_topic_filters_and_errors(cluster: rafka.AsyncCluster) -> None:
    await create_topic(cluster.brokers[1], "keys", retention_ms="1000")
    result = await describe(cluster, 2, "keys", keys=["retention.ms", "nope"], synonyms=False)
    assert [(c.name, c.value, c.config_source, c.synonyms) for c in result.configs] == [
        ("retention.ms", "1000", S.TOPIC_CONFIG, [])
    ]
    everything = await describe(cluster, 2, "keys", keys=[])
    assert len(everything.configs) > 30
    missing = await describe(cluster, 2, "missing")
    assert (missing.error_code, missing.configs) == (errors.UnknownTopicOrPartitionError.code, [])
    for name, reason in [
        ("", "the empty string is not allowed"),
        ("bad/name", "'bad/name' contains one or more characters"),
    ]:
        bad = await describe(cluster, 2, name, version=1)
        assert bad.error_code == errors.InvalidTopicExceptionError.code
        assert reason in bad.error_message


async def test_broker_resource(static_cluster: rafka.AsyncCluster) -> None:
    result = await describe(static_cluster, 4, "1")
    configs = by_name(result)
    assert result.error_code == 0
    retention_hours = configs["log.retention.hours"]
    assert (retention_hours.value, retention_hours.read_only) == ("24", True)
    assert synonyms(retention_hours) == [
        ("log.retention.hours", "24", S.STATIC_BROKER_CONFIG),
        ("log.retention.hours", "168", S.DEFAULT_CONFIG),
    ]
    retention_ms = configs["log.retention.ms"]  # dynamic, unset, synonyms dropped (quirk)
    assert (retention_ms.value, retention_ms.read_only, retention_ms.synonyms) == (None, False, [])
    assert configs["node.id"].value == "1"
    assert configs["node.id"].config_source == S.STATIC_BROKER_CONFIG
    assert configs["num.partitions"].read_only
    assert not configs["log.segment.bytes"].read_only
    assert configs["listeners"].config_type == 2  # Kafka's STRING, not LIST
    defaults = await describe(static_cluster, 4, "")
    # the one cluster default formatting writes, as Kafka 4.1's storage format does
    assert defaults.error_code == 0
    assert [(c.name, c.value, c.config_source) for c in defaults.configs] == [
        ("min.insync.replicas", "1", S.DYNAMIC_DEFAULT_BROKER_CONFIG)
    ]


@pytest.mark.parametrize(
    ("rtype", "name", "message"),
    [
        (4, "2", "Unexpected broker id, expected 1 or empty string, but received 2"),
        (4, "x", "Broker id must be an integer, but it is: x"),
        (8, "", "Broker id must not be empty"),
        (8, "2", "Unexpected broker id, expected 1 but received 2"),
        (32, "group", "rafka does not support GROUP configs yet"),
    ],
)
async def test_resource_name_errors(
    cluster: rafka.AsyncCluster, rtype: int, name: str, message: str
) -> None:
    for version in (1, 4):
        result = await describe(cluster, rtype, name, version)
        assert (result.error_code, result.error_message) == (
            errors.InvalidRequestError.code,
            message,
        )


async def test_unknown_resource_type_fails_the_request(cluster: rafka.AsyncCluster) -> None:
    request = D(
        resources=[D.DescribeConfigsResource(2, "t", None), D.DescribeConfigsResource(3, "x", None)]
    )
    response = await call(cluster.brokers[1], request, 4)
    assert [r.error_code for r in response.results] == [errors.InvalidRequestError.code] * 2


async def test_dynamic_configs_and_sensitive_values(static_cluster: rafka.AsyncCluster) -> None:
    await create_topic(static_cluster.brokers[1], "dyn")
    ops = [
        ("", [("log.retention.ms", "7200000"), ("log.cleanup.policy", "compact,delete")]),
        (
            "1",
            [
                ("log.segment.bytes", "3000000"),
                ("custom.x", "hello"),
                ("listener.name.plaintext.ssl.keystore.password", "secret"),
            ],
        ),
    ]
    for name, configs in ops:
        request = I(
            resources=[
                I.AlterConfigsResource(4, name, [I.AlterableConfig(k, 0, v) for k, v in configs])
            ]
        )
        response = await call(static_cluster.brokers[1], request, 1)
        assert response.responses[0].error_code == 0, response
    cluster_defaults = by_name(await describe(static_cluster, 4, ""))
    assert sorted(cluster_defaults) == [
        "log.cleanup.policy",
        "log.retention.ms",
        "min.insync.replicas",
    ]
    assert synonyms(cluster_defaults["log.retention.ms"]) == [
        ("log.retention.ms", "7200000", S.DYNAMIC_DEFAULT_BROKER_CONFIG)
    ]
    broker = by_name(await describe(static_cluster, 4, "1"))
    assert (broker["log.segment.bytes"].value, broker["log.segment.bytes"].config_source) == (
        "3000000",
        S.DYNAMIC_BROKER_CONFIG,
    )
    # log.retention.ms now in force hides the static log.retention.hours (Kafka shows 168)
    assert broker["log.retention.hours"].value == "168"
    custom = broker["custom.x"]
    assert (custom.value, custom.is_sensitive, custom.read_only, custom.config_type) == (
        None,
        True,
        True,
        0,
    )
    secret = broker["listener.name.plaintext.ssl.keystore.password"]
    assert (secret.value, secret.is_sensitive, secret.config_type) == (None, True, 9)
    assert synonyms(secret) == [
        ("listener.name.plaintext.ssl.keystore.password", None, S.DYNAMIC_BROKER_CONFIG)
    ]
    topic = by_name(await describe(static_cluster, 2, "dyn"))
    assert (topic["retention.ms"].value, topic["retention.ms"].config_source) == (
        "7200000",
        S.DYNAMIC_DEFAULT_BROKER_CONFIG,
    )
    assert synonyms(topic["retention.ms"]) == [
        ("log.retention.ms", "7200000", S.DYNAMIC_DEFAULT_BROKER_CONFIG),
        ("log.retention.hours", "24", S.STATIC_BROKER_CONFIG),
        ("log.retention.hours", "168", S.DEFAULT_CONFIG),
    ]
    assert topic["segment.bytes"].value == "3000000"
    assert topic["cleanup.policy"].value == "compact,delete"
    # broker 2 does not see broker 1's own configs, only the cluster defaults
    on_two = D(resources=[D.DescribeConfigsResource(2, "dyn", ["segment.bytes"])])
    response = await call(static_cluster.brokers[2], on_two, 4)
    assert response.results[0].configs[0].value == "2000000"


async def test_broker_logger(cluster: rafka.AsyncCluster) -> None:
    result = await describe(cluster, 8, "1")
    configs = by_name(result)
    assert result.error_code == 0
    assert configs["root"].config_source == S.DYNAMIC_BROKER_LOGGER_CONFIG
    assert configs["root"].value in ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
    assert all(name == "root" or name.startswith("rafka.") for name in configs)


# ------------------------------------------------------------------------------ real clients


def test_kafka_python(tcp_cluster: rafka.Cluster) -> None:
    admin = KafkaAdminClient(bootstrap_servers=tcp_cluster.bootstrap_servers)
    try:
        admin.create_topics([NewTopic("kp-cfg", 1, 1, topic_configs={"retention.ms": "5000"})])
        result = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, "kp-cfg")],
            include_synonyms=True,
            config_filter="all",
        )
        configs = result["topic"]["kp-cfg"]
        assert configs["retention.ms"]["value"] == "5000"
        assert configs["retention.ms"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
        assert configs["segment.bytes"]["synonyms"] == [
            {"name": "log.segment.bytes", "value": "1073741824", "source": "DEFAULT_CONFIG"}
        ]
        broker = admin.describe_configs(
            [ConfigResource(ConfigResourceType.BROKER, "2")], config_filter="all"
        )
        assert broker["broker"]["2"]["node.id"]["value"] == "2"
    finally:
        admin.close()


def test_confluent_kafka_synonyms(tcp_cluster: rafka.Cluster) -> None:
    from confluent_kafka.admin import NewTopic as CkTopic

    admin = AdminClient({"bootstrap.servers": tcp_cluster.bootstrap_servers})
    admin.create_topics([CkTopic("ck-cfg", 1, 1, config={"cleanup.policy": "compact"})])[
        "ck-cfg"
    ].result(10)
    futures = admin.describe_configs([CkResource("topic", "ck-cfg"), CkResource("broker", "1")])
    topic, broker = (f.result(10) for f in futures.values())
    policy = topic["cleanup.policy"]
    assert (policy.value, policy.source) == ("compact", S.TOPIC_CONFIG)
    assert {n: (s.value, s.source) for n, s in policy.synonyms.items()} == {
        "cleanup.policy": ("compact", S.TOPIC_CONFIG),
        "log.cleanup.policy": ("delete", S.DEFAULT_CONFIG),
    }
    assert broker["num.partitions"].is_read_only
    assert not broker["message.max.bytes"].is_read_only


async def test_unmodelled_dynamic_config_rendered_as_kafka(cluster: rafka.AsyncCluster) -> None:
    name = "log.cleaner.io.max.bytes.per.second"
    request = I(resources=[I.AlterConfigsResource(4, "1", [I.AlterableConfig(name, 0, "1e9")])])
    response = await call(cluster.brokers[1], request, 1)
    assert response.responses[0].error_code == 0
    entry = by_name(await describe(cluster, 4, "1", keys=[name]))[name]
    assert (entry.value, entry.config_type, entry.read_only) == ("1.0E9", 6, False)
    assert synonyms(entry) == [
        (name, "1e9", S.DYNAMIC_BROKER_CONFIG),
        (name, "1.7976931348623157E308", S.DEFAULT_CONFIG),
    ]

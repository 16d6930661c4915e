"""AlterConfigs (the legacy, replace-all API): topics and dynamic broker configs."""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import InvalidConfigurationError

import rafka
from rafka import errors
from rafka.protocol.messages import AlterConfigsRequest
from tests.cluster.handlers.conftest import call, create_topic, leader_of

pytestmark = pytest.mark.anyio

A = AlterConfigsRequest
INVALID_CONFIG = errors.InvalidConfigError.code
INVALID_REQUEST = errors.InvalidRequestError.code

Resource = tuple[int, str, dict[str, str | None]]


def request(*resources: Resource, validate: bool = False) -> A:
    return A(
        resources=[
            A.AlterConfigsResource(rtype, name, [A.AlterableConfig(k, v) for k, v in cfg.items()])
            for rtype, name, cfg in resources
        ],
        validate_only=validate,
    )


async def alter(
    cluster: rafka.AsyncCluster, *resources: Resource, version: int = 2, validate: bool = False
) -> list[tuple[int, str | None]]:
    response = await call(cluster.brokers[1], request(*resources, validate=validate), version)
    assert [(r.resource_type, r.resource_name) for r in response.responses] == [
        (t, n) for t, n, _ in resources
    ]
    return [(r.error_code, r.error_message) for r in response.responses]


@pytest.mark.parametrize("version", [0, 2])
async def test_replaces_every_topic_config(cluster: rafka.AsyncCluster, version: int) -> None:
    await create_topic(cluster.brokers[1], "legacy", 2, 2, retention_ms="1000")
    image = cluster.core.controller.image
    ok = [(0, None)]
    configs: dict[str, str | None] = {
        "segment.bytes": "2000000",
        "cleanup.policy": "compact,delete",
    }
    assert await alter(cluster, (2, "legacy", configs), version=version) == ok
    assert image.topic_configs("legacy") == configs  # retention.ms was dropped
    for index in (0, 1):
        log = leader_of(cluster, "legacy", index).replica_manager.partitions[("legacy", index)].log
        assert (log.config.segment_bytes, log.config.compact, log.config.retention_ms) == (
            2000000,
            True,
            604800000,
        )
    assert await alter(cluster, (2, "legacy", {}), version=version) == ok
    assert image.topic_configs("legacy") == {}


@pytest.mark.parametrize(
    ("configs", "message"),
    [
        (
            {"retention.ms": "abc"},
            "Invalid value abc for configuration retention.ms: Not a number of type LONG",
        ),
        (
            {"retention.ms": "-5"},
            "Invalid value -5 for configuration retention.ms: Value must be at least -1",
        ),
        ({"nope.config": "1"}, "Unknown topic config name: nope.config"),
        (
            {"cleanup.policy": "bogus"},
            "Invalid value bogus for configuration cleanup.policy: String must be one of: "
            "compact, delete",
        ),
        (
            {"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5"},
            "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)",
        ),
        (
            {"remote.storage.enable": "true"},
            "Tiered Storage functionality is disabled in the broker. Topic cannot be configured "
            "with remote log storage.",
        ),
    ],
)
async def test_invalid_topic_configs(
    cluster: rafka.AsyncCluster, configs: dict[str, str | None], message: str
) -> None:
    await create_topic(cluster.brokers[1], "bad", retention_ms="1000")
    for version in (0, 2):
        assert await alter(cluster, (2, "bad", configs), version=version) == [
            (INVALID_CONFIG, message)
        ]
    assert cluster.core.controller.image.topic_configs("bad") == {"retention.ms": "1000"}


async def test_request_errors(cluster: rafka.AsyncCluster) -> None:
    await create_topic(cluster.brokers[1], "t")
    results = await alter(
        cluster,
        (2, "t", {"retention.ms": None}),
        (2, "missing", {"retention.ms": "1000"}),
        (2, "", {}),
        (2, "bad/name", {}),
        (8, "1", {"root": "DEBUG"}),
        (3, "x", {}),
        (2, "twice", {}),
        (2, "twice", {}),
    )
    assert results[:6] == [
        (INVALID_REQUEST, "Null value not supported for : retention.ms"),
        (errors.UnknownTopicOrPartitionError.code, "The topic 'missing' does not exist."),
        (INVALID_REQUEST, "Default topic resources are not allowed."),
        (
            errors.InvalidTopicExceptionError.code,
            "Topic name is invalid: 'bad/name' contains one or more characters other than ASCII "
            "alphanumerics, '.', '_' and '-'",
        ),
        (INVALID_REQUEST, "Unknown resource type 8"),
        (INVALID_REQUEST, "Unknown resource type 3"),
    ]
    assert results[6:] == [(INVALID_REQUEST, "Each resource must appear at most once.")] * 2
    dup = A(resources=[A.AlterConfigsResource(2, "t", [A.AlterableConfig("a", "1")] * 2)])
    response = await call(cluster.brokers[1], dup, 0)
    assert response.responses[0].error_message == "Error due to duplicate config keys"


async def test_validate_only(cluster: rafka.AsyncCluster) -> None:
    await create_topic(cluster.brokers[1], "v", retention_ms="1000")
    assert await alter(cluster, (2, "v", {"retention.ms": "2000"}), validate=True) == [(0, None)]
    assert await alter(cluster, (4, "", {"log.retention.ms": "5"}), validate=True) == [(0, None)]
    image = cluster.core.controller.image
    assert image.topic_configs("v") == {"retention.ms": "1000"}
    # only what formatting wrote (as Kafka 4.1's storage format does)
    assert image.configs[(4, "")] == {"min.insync.replicas": "1"}


@pytest.mark.parametrize(
    ("name", "configs", "error"),
    [
        ("", {"log.retention.ms": "3600000", "custom.setting": "x"}, None),
        ("1", {"log.segment.bytes": "2000000", "listeners": "PLAINTEXT://:9092"}, None),
        ("2", {"log.retention.ms": "1"}, "Unexpected broker id, expected 1, but received 2"),
        ("x", {"log.retention.ms": "1"}, "Node id must be an integer, but it is: x"),
        (
            "",
            {"num.partitions": "3"},
            "Cannot update these configs dynamically: Set(num.partitions)",
        ),
        (
            "1",
            {"log.retention.hours": "3"},
            "Cannot update these configs dynamically: Set(log.retention.hours)",
        ),
        (
            "",
            {"log.retention.ms": "abc"},
            "Invalid value abc for configuration log.retention.ms: Not a number of type LONG",
        ),
        (
            "1",
            {"ssl.keystore.password": "x"},
            "These security configs can be dynamically updated only per-listener using the "
            "listener prefix: HashSet(ssl.keystore.password)",
        ),
        (
            "",
            {"listeners": "PLAINTEXT://:9092"},
            "Cannot update these configs at default cluster level, broker id must be specified: "
            "Set(listeners)",
        ),
    ],
)
async def test_broker_configs(
    cluster: rafka.AsyncCluster, name: str, configs: dict[str, str | None], error: str | None
) -> None:
    before = dict(cluster.core.controller.image.configs.get((4, name), {}))
    results = await alter(cluster, (4, name, configs), version=0)
    if error is None:
        assert results == [(0, None)]
        assert cluster.core.controller.image.configs[(4, name)] == configs
    else:
        assert results == [(INVALID_REQUEST, error)]
        assert cluster.core.controller.image.configs.get((4, name), {}) == before


async def test_broker_configs_are_replaced(cluster: rafka.AsyncCluster) -> None:
    assert await alter(cluster, (4, "", {"log.retention.ms": "1", "message.max.bytes": "5"})) == [
        (0, None)
    ]
    assert await alter(cluster, (4, "", {"log.retention.ms": "2"})) == [(0, None)]
    assert cluster.core.controller.image.configs[(4, "")] == {"log.retention.ms": "2"}


# ------------------------------------------------------------------------------ real clients


def test_kafka_python_legacy_alter(tcp_cluster: rafka.Cluster) -> None:
    admin = KafkaAdminClient(bootstrap_servers=tcp_cluster.bootstrap_servers)
    try:
        admin.create_topics([NewTopic("kp-alter", 1, 1)])
        resource = ConfigResource(
            ConfigResourceType.TOPIC, "kp-alter", configs={"retention.ms": "7000"}
        )
        assert admin.alter_configs([resource], incremental=False) == {"topic": {"kp-alter": "OK"}}
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "kp-alter")])
        assert described["topic"]["kp-alter"]["retention.ms"]["value"] == "7000"
        bad = ConfigResource(ConfigResourceType.TOPIC, "kp-alter", configs={"retention.ms": "x"})
        result = admin.alter_configs([bad], incremental=False)["topic"]["kp-alter"]
        assert result.startswith(f"[Error {InvalidConfigurationError.errno}]")
        assert "Invalid value x for configuration retention.ms" in result
    finally:
        admin.close()


async def test_controller_checks_the_resource(cluster: rafka.AsyncCluster) -> None:
    controller = cluster.core.controller
    with pytest.raises(errors.BrokerIdNotRegisteredError, match=r"No node with id 9 found\."):
        controller.alter_configs((4, "9"), {"num.io.threads": "2"}, False)
    with pytest.raises(errors.InvalidRequestError, match=r"Invalid negative broker ID\."):
        controller.alter_configs((4, "-1"), {}, False)
    with pytest.raises(errors.InvalidRequestError, match="Unknown resource type 32"):
        controller.incremental_alter_configs((32, "group"), [("a", 0, "b")], False)

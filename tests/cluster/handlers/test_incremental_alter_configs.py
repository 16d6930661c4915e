"""IncrementalAlterConfigs: SET/DELETE/APPEND/SUBTRACT on topics and brokers, and log levels."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry
from confluent_kafka.admin import ConfigResource as CkResource
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

import rafka
from rafka import errors
from rafka.protocol.messages import IncrementalAlterConfigsRequest
from tests.cluster.handlers.conftest import call, create_topic, leader_of

pytestmark = pytest.mark.anyio

I = IncrementalAlterConfigsRequest  # noqa: E741
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
INVALID_CONFIG = errors.InvalidConfigError.code
INVALID_REQUEST = errors.InvalidRequestError.code

Op = tuple[str, int, str | None]


async def alter(
    cluster: rafka.AsyncCluster,
    rtype: int,
    name: str,
    *ops: Op,
    version: int = 1,
    validate: bool = False,
) -> tuple[int, str | None]:
    request = I(
        resources=[I.AlterConfigsResource(rtype, name, [I.AlterableConfig(*op) for op in ops])],
        validate_only=validate,
    )
    response = await call(cluster.brokers[1], request, version)
    (result,) = response.responses
    assert (result.resource_type, result.resource_name) == (rtype, name)
    return result.error_code, result.error_message


def topic_configs(cluster: rafka.AsyncCluster, topic: str) -> dict[str, str]:
    return cluster.core.controller.image.topic_configs(topic)


@pytest.mark.parametrize("version", [0, 1])
async def test_topic_operations(cluster: rafka.AsyncCluster, version: int) -> None:
    await create_topic(cluster.brokers[1], "inc", retention_ms="1000", segment_ms="100000")
    ok = (0, None)
    assert (
        await alter(
            cluster,
            2,
            "inc",
            ("retention.ms", SET, "2000"),
            ("segment.ms", DELETE, None),
            ("cleanup.policy", APPEND, "compact"),  # from the default: delete,compact
            ("not.set", DELETE, None),  # deleting what is not there succeeds
            version=version,
        )
        == ok
    )
    assert topic_configs(cluster, "inc") == {
        "retention.ms": "2000",
        "cleanup.policy": "delete,compact",
    }
    assert await alter(cluster, 2, "inc", ("cleanup.policy", APPEND, "compact,delete")) == ok
    assert topic_configs(cluster, "inc")["cleanup.policy"] == "delete,compact"
    assert await alter(cluster, 2, "inc", ("cleanup.policy", SUBTRACT, "delete")) == ok
    assert topic_configs(cluster, "inc")["cleanup.policy"] == "compact"
    assert (
        await alter(cluster, 2, "inc", ("leader.replication.throttled.replicas", APPEND, "0:1,0:2"))
        == ok
    )
    assert topic_configs(cluster, "inc")["leader.replication.throttled.replicas"] == "0:1,0:2"
    log = leader_of(cluster, "inc").replica_manager.partitions[("inc", 0)].log
    assert (log.config.retention_ms, log.config.compact, log.config.delete) == (2000, True, False)


@pytest.mark.parametrize(
    ("ops", "error"),
    [
        (
            [("retention.ms", APPEND, "5")],
            (INVALID_CONFIG, "Can't APPEND to key retention.ms because its type is not LIST."),
        ),
        (
            [("retention.ms", SUBTRACT, "5")],
            (INVALID_CONFIG, "Can't SUBTRACT to key retention.ms because its type is not LIST."),
        ),
        ([("nope", SET, "x")], (INVALID_CONFIG, "Unknown topic config name: nope")),
        (
            [("cleanup.policy", APPEND, "bogus")],
            (
                INVALID_CONFIG,
                "Invalid value bogus for configuration cleanup.policy: String must be one of: "
                "compact, delete",
            ),
        ),
        ([("retention.ms", 7, "5")], (INVALID_REQUEST, "Unknown operations type 7")),
        (
            [("retention.ms", SET, None)],
            (INVALID_REQUEST, "Null value not supported for : retention.ms"),
        ),
        (
            [("retention.ms", SET, "1"), ("retention.ms", DELETE, None)],
            (INVALID_REQUEST, "Error due to duplicate config keys"),
        ),
    ],
)
async def test_topic_errors(
    cluster: rafka.AsyncCluster, ops: list[Op], error: tuple[int, str]
) -> None:
    await create_topic(cluster.brokers[1], "e", retention_ms="1000")
    for version in (0, 1):
        assert await alter(cluster, 2, "e", *ops, version=version) == error
    assert topic_configs(cluster, "e") == {"retention.ms": "1000"}


async def test_missing_topic_and_validate_only(cluster: rafka.AsyncCluster) -> None:
    await create_topic(cluster.brokers[1], "vo")
    assert await alter(cluster, 2, "missing", ("retention.ms", SET, "1")) == (
        errors.UnknownTopicOrPartitionError.code,
        "The topic 'missing' does not exist.",
    )
    assert await alter(cluster, 2, "vo", ("retention.ms", SET, "1"), validate=True) == (0, None)
    assert topic_configs(cluster, "vo") == {}


async def test_broker_operations(cluster: rafka.AsyncCluster) -> None:
    image = cluster.core.controller.image
    assert await alter(cluster, 4, "", ("log.cleanup.policy", APPEND, "compact")) == (0, None)
    assert image.configs[(4, "")] == {
        "min.insync.replicas": "1",  # written when the cluster was formatted
        "log.cleanup.policy": "delete,compact",
    }
    assert await alter(cluster, 4, "1", ("num.io.threads", SET, "4"), ("custom.y", SET, "z")) == (
        0,
        None,
    )
    assert image.configs[(4, "1")] == {"num.io.threads": "4", "custom.y": "z"}
    assert await alter(cluster, 4, "1", ("num.io.threads", DELETE, None)) == (0, None)
    assert image.configs[(4, "1")] == {"custom.y": "z"}
    assert await alter(cluster, 4, "", ("log.retention.ms", APPEND, "5")) == (
        INVALID_CONFIG,
        "Config value append is not allowed for config key: log.retention.ms",
    )
    assert await alter(cluster, 4, "", ("custom.x", APPEND, "5")) == (
        INVALID_CONFIG,
        "Unknown config name: custom.x",
    )
    assert await alter(cluster, 4, "", ("num.io.threads", SET, "0")) == (
        INVALID_REQUEST,
        "Invalid value 0 for configuration num.io.threads: Value must be at least 1",
    )
    assert await alter(cluster, 4, "3", ("num.io.threads", SET, "2")) == (
        INVALID_REQUEST,
        "Unexpected broker id, expected 1, but received 3",
    )
    assert await alter(cluster, 4, "", ("num.partitions", SET, "2")) == (
        INVALID_REQUEST,
        "Cannot update these configs dynamically: Set(num.partitions)",
    )


@pytest.fixture
def restore_log_levels() -> Iterator[None]:
    loggers = [logging.getLogger("rafka"), logging.getLogger("rafka.broker")]
    levels = [logger.level for logger in loggers]
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.mark.usefixtures("restore_log_levels")
async def test_broker_logger(cluster: rafka.AsyncCluster) -> None:
    broker_log = logging.getLogger("rafka.broker")
    assert await alter(cluster, 8, "1", ("rafka.broker", SET, "DEBUG"), validate=True) == (0, None)
    assert broker_log.level == logging.NOTSET
    assert await alter(cluster, 8, "1", ("rafka.broker", SET, "DEBUG"), ("root", SET, "ERROR")) == (
        0,
        None,
    )
    assert broker_log.level == logging.DEBUG
    assert logging.getLogger("rafka").level == logging.ERROR
    assert await alter(cluster, 8, "1", ("rafka.broker", DELETE, None)) == (0, None)
    assert broker_log.getEffectiveLevel() == logging.ERROR
    cases: list[tuple[str, Op, tuple[int, str]]] = [
        (
            "1",
            ("root", DELETE, None),
            (INVALID_REQUEST, "Removing the log level of the root logger is not allowed"),
        ),
        (
            "1",
            ("rafka.broker", SET, "BOGUS"),
            (
                INVALID_CONFIG,
                "Cannot set the log level of rafka.broker to BOGUS as it is not a supported log "
                "level. Valid log levels are DEBUG, ERROR, FATAL, INFO, TRACE, WARN",
            ),
        ),
        (
            "1",
            ("kafka.server.X", SET, "DEBUG"),
            (INVALID_CONFIG, "Logger kafka.server.X does not exist!"),
        ),
        (
            "1",
            ("root", APPEND, "DEBUG"),
            (INVALID_REQUEST, "APPEND operation is not allowed for the BROKER_LOGGER resource"),
        ),
        ("", ("root", SET, "DEBUG"), (INVALID_REQUEST, "Node id must be an integer, but it is: ")),
        (
            "2",
            ("root", SET, "DEBUG"),
            (INVALID_REQUEST, "Unexpected node id. Expected 1, but received 2"),
        ),
    ]
    for name, op, error in cases:
        assert await alter(cluster, 8, name, op) == error


# ------------------------------------------------------------------------------ real clients


def test_confluent_kafka(tcp_cluster: rafka.Cluster) -> None:
    from confluent_kafka.admin import NewTopic as CkTopic

    admin = AdminClient({"bootstrap.servers": tcp_cluster.bootstrap_servers})
    admin.create_topics([CkTopic("ck-inc", 1, 1, config={"retention.ms": "1000"})])[
        "ck-inc"
    ].result(10)
    resource = CkResource(
        "topic",
        "ck-inc",
        incremental_configs=[
            ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE),
            ConfigEntry(
                "cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND
            ),
            ConfigEntry("segment.ms", "60000", incremental_operation=AlterConfigOpType.SET),
        ],
    )
    assert admin.incremental_alter_configs([resource])[resource].result(10) is None
    (described,) = admin.describe_configs([CkResource("topic", "ck-inc")]).values()
    configs = described.result(10)
    assert configs["cleanup.policy"].value == "delete,compact"
    assert configs["retention.ms"].value == "604800000"
    assert configs["segment.ms"].value == "60000"
    bad = CkResource(
        "topic",
        "ck-inc",
        incremental_configs=[
            ConfigEntry("segment.ms", "5", incremental_operation=AlterConfigOpType.APPEND)
        ],
    )
    with pytest.raises(KafkaException) as raised:
        admin.incremental_alter_configs([bad])[bad].result(10)
    assert raised.value.args[0].code() == KafkaError.INVALID_CONFIG
    broker = CkResource(
        "broker",
        "1",
        incremental_configs=[
            ConfigEntry("num.io.threads", "4", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    assert admin.incremental_alter_configs([broker])[broker].result(10) is None


def test_kafka_python(tcp_cluster: rafka.Cluster) -> None:
    admin = KafkaAdminClient(bootstrap_servers=tcp_cluster.bootstrap_servers)
    try:
        admin.create_topics([NewTopic("kp-inc", 1, 1)])
        resource = ConfigResource(
            ConfigResourceType.TOPIC,
            "kp-inc",
            configs={"retention.ms": "9000", "cleanup.policy": ("APPEND", "compact")},
        )
        assert admin.alter_configs([resource]) == {"topic": {"kp-inc": "OK"}}
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "kp-inc")])
        configs = described["topic"]["kp-inc"]
        assert configs["retention.ms"]["value"] == "9000"
        assert configs["cleanup.policy"]["value"] == "delete,compact"
        reset = ConfigResource(ConfigResourceType.TOPIC, "kp-inc", configs=["retention.ms"])
        assert admin.reset_configs([reset]) == {"topic": {"kp-inc": "OK"}}
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "kp-inc")])
        assert "retention.ms" not in described["topic"]["kp-inc"]
    finally:
        admin.close()

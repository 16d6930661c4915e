"""Admin conformance: describing and changing topic, broker and broker-logger configs."""

from __future__ import annotations

import pytest

from rafka import errors
from rafka.clients.admin import (
    AlterConfigOp,
    AsyncAdmin,
    ConfigResource,
    ConfigSource,
    ConfigSynonym,
    ConfigType,
    NewTopic,
)
from tests.conformance.conftest import Target, eventually


async def _topic(admin: AsyncAdmin, name: str, **configs: str) -> ConfigResource:
    await admin.create_topics(
        NewTopic(name, configs={k.replace("_", "."): v for k, v in configs.items()})
    )
    resource = ConfigResource.topic(name)
    await eventually(lambda: admin.describe_configs(resource))
    return resource


async def test_describe_topic_configs(target: Target) -> None:
    async with target.admin() as admin:
        topic = await _topic(admin, target.unique_topic(), retention_ms="60000")
        configs = await admin.describe_configs(topic, include_synonyms=True)
        retention = configs["retention.ms"]
        assert (retention.value, retention.source, retention.type) == (
            "60000",
            ConfigSource.DYNAMIC_TOPIC_CONFIG,
            ConfigType.LONG,
        )
        assert not retention.is_read_only and not retention.is_sensitive
        assert not retention.is_default
        assert retention.synonyms == (
            ConfigSynonym("retention.ms", "60000", ConfigSource.DYNAMIC_TOPIC_CONFIG),
        )
        policy = configs["cleanup.policy"]
        assert (policy.value, policy.source, policy.type, policy.is_default) == (
            "delete",
            ConfigSource.DEFAULT_CONFIG,
            ConfigType.LIST,
            True,
        )
        assert policy.synonyms == (
            ConfigSynonym("log.cleanup.policy", "delete", ConfigSource.DEFAULT_CONFIG),
        )
        assert configs["segment.bytes"].value == "1073741824"
        plain = await admin.describe_configs(topic)
        assert plain.keys() == configs.keys()
        assert plain["cleanup.policy"].synonyms == ()


async def test_describe_broker_configs(target: Target) -> None:
    broker = target.broker_ids[0]
    async with target.admin() as admin:
        configs = await admin.describe_configs(ConfigResource.broker(broker), include_synonyms=True)
        partitions = configs["num.partitions"]
        assert (partitions.value, partitions.source, partitions.is_read_only) == (
            "1",
            ConfigSource.STATIC_BROKER_CONFIG,
            True,
        )
        assert [s.source for s in partitions.synonyms] == [
            ConfigSource.STATIC_BROKER_CONFIG,
            ConfigSource.DEFAULT_CONFIG,
        ]
        hours = configs["log.retention.hours"]
        assert (hours.value, hours.source, hours.is_read_only) == (
            "168",
            ConfigSource.DEFAULT_CONFIG,
            True,
        )
        assert not configs["message.max.bytes"].is_read_only
        loggers = await admin.describe_configs(ConfigResource.broker_logger(broker))
        assert loggers["root"].source == ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG


async def test_describe_errors_per_resource(target: Target) -> None:
    async with target.admin() as admin:
        missing = ConfigResource.topic(target.unique_topic())
        results = await admin.describe_configs(
            [missing, ConfigResource.topic("bad/name"), ConfigResource.broker("x")]
        )
        assert [type(e) for e in results.errors.values()] == [
            errors.UnknownTopicOrPartitionError,
            errors.InvalidTopicExceptionError,
            errors.InvalidRequestError,
        ]
        with pytest.raises(errors.UnknownTopicOrPartitionError):
            await admin.describe_configs(missing)
        # A broker the cluster does not have is waited for (it may be restarting), as Kafka's
        # admin client does, until the call's deadline.
        with pytest.raises(errors.ClientTimeoutError, match="broker 77"):
            await admin.describe_configs(ConfigResource.broker(77), timeout=0.3)


async def test_incremental_alter_topic_configs(target: Target) -> None:
    async with target.admin() as admin:
        topic = await _topic(admin, target.unique_topic(), retention_ms="60000")
        checked = await admin.incremental_alter_configs(
            {topic: {"retention.ms": "1000"}}, validate_only=True
        )
        assert checked[topic] is None
        assert (await admin.describe_configs(topic))["retention.ms"].value == "60000"

        (
            await admin.incremental_alter_configs(
                {
                    topic: [
                        AlterConfigOp.append("cleanup.policy", "compact"),
                        AlterConfigOp.delete("retention.ms"),
                        AlterConfigOp.set("segment.ms", 3600000),
                    ]
                }
            )
        ).check()

        async def changed() -> None:
            configs = await admin.describe_configs(topic)
            assert configs["cleanup.policy"].value == "delete,compact"
            assert configs["retention.ms"].value == "604800000"
            assert configs["retention.ms"].source == ConfigSource.DEFAULT_CONFIG
            assert configs["segment.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG

        await eventually(changed)
        (
            await admin.incremental_alter_configs(
                {topic: [AlterConfigOp.subtract("cleanup.policy", "delete")]}
            )
        ).check()

        async def subtracted() -> None:
            assert (await admin.describe_configs(topic))["cleanup.policy"].value == "compact"

        await eventually(subtracted)

        missing = ConfigResource.topic(target.unique_topic())
        results = await admin.incremental_alter_configs(
            {
                topic: [AlterConfigOp.append("retention.ms", 5)],
                missing: {"retention.ms": 1},
            }
        )
        assert isinstance(results.errors[topic], errors.InvalidConfigError)
        assert "LIST" in str(results.errors[topic])
        assert isinstance(results.errors[missing], errors.UnknownTopicOrPartitionError)


async def test_legacy_alter_configs_replaces_all(target: Target) -> None:
    broker = target.broker_ids[0]
    async with target.admin() as admin:
        topic = await _topic(admin, target.unique_topic(), cleanup_policy="compact")
        (await admin.alter_configs({topic: {"retention.ms": 1234}})).check()

        async def replaced() -> None:
            configs = await admin.describe_configs(topic)
            assert configs["retention.ms"].value == "1234"
            assert configs["cleanup.policy"].source == ConfigSource.DEFAULT_CONFIG

        await eventually(replaced)
        results = await admin.alter_configs(
            {topic: {"retention.ms": "soon"}, ConfigResource.broker(broker): {"num.partitions": 3}}
        )
        assert isinstance(results.errors[topic], errors.InvalidConfigError)
        assert isinstance(results.errors[ConfigResource.broker(broker)], errors.InvalidRequestError)


async def test_dynamic_broker_configs(target: Target) -> None:
    """A per-broker and a cluster-wide dynamic setting, set and then removed again (the
    reference broker is shared: leave it as it was)."""
    broker = ConfigResource.broker(target.broker_ids[0])
    cluster = ConfigResource.broker()
    async with target.admin() as admin:
        try:
            (
                await admin.incremental_alter_configs({broker: {"message.max.bytes": 2000000}})
            ).check()
            (
                await admin.incremental_alter_configs({cluster: {"log.cleaner.backoff.ms": 20000}})
            ).check()

            async def applied() -> None:
                own = (await admin.describe_configs(broker))["message.max.bytes"]
                assert (own.value, own.source) == ("2000000", ConfigSource.DYNAMIC_BROKER_CONFIG)
                # Kafka applies a cluster-wide default through its metadata log, a moment
                # after acknowledging it: until then the key is simply absent.
                defaults = await admin.describe_configs(cluster)
                assert "log.cleaner.backoff.ms" in defaults
                default = defaults["log.cleaner.backoff.ms"]
                assert (default.value, default.source) == (
                    "20000",
                    ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
                )

            await eventually(applied)
            with pytest.raises(errors.InvalidRequestError):
                (await admin.incremental_alter_configs({broker: {"num.partitions": 3}})).check()
        finally:
            await admin.incremental_alter_configs(
                {broker: {"message.max.bytes": None}, cluster: {"log.cleaner.backoff.ms": None}}
            )

        async def removed() -> None:
            own = (await admin.describe_configs(broker))["message.max.bytes"]
            assert own.source == ConfigSource.DEFAULT_CONFIG
            assert "log.cleaner.backoff.ms" not in await admin.describe_configs(cluster)

        await eventually(removed)

"""Broker configuration with Kafka's names, types and defaults.

:data:`BROKER_CONFIG_KEYS` lists the broker properties rafka understands (the subset of
Apache Kafka 4.1's ``KafkaConfig`` that has an effect here, plus the ``log.*`` properties that
supply topic-config defaults). :class:`BrokerConfig` is the parsed, validated result::

    config = BrokerConfig.from_dict({"num.partitions": 3, "auto.create.topics.enable": False})
    config.get("num.partitions")        # 3
    config.topic_defaults()             # {"retention.ms": 604800000, ...} for LogConfig

Unknown names are rejected at construction, as a typo in a test's broker config should be loud.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rafka.errors import ConfigError
from rafka.storage.log_config import CONFIG_KEYS, ConfigKey, OneOf, Range

__all__ = ["BROKER_CONFIG_KEYS", "TOPIC_CONFIG_KEYS", "BrokerConfig", "parse_broker_value"]

_INT_MAX = (1 << 31) - 1
_LONG_MAX = (1 << 63) - 1


def _key(name: str, type_: str, default: Any, validator: Any = None) -> ConfigKey:
    return ConfigKey(name, type_, default, validator)


#: Topic config keys by name.
TOPIC_CONFIG_KEYS: dict[str, ConfigKey] = {key.name: key for key in CONFIG_KEYS}

_AT_LEAST_0 = Range(low=0)
_AT_LEAST_1 = Range(low=1)

_BROKER_ONLY = [
    _key("node.id", "INT", -1),
    _key("broker.rack", "STRING", None),
    _key("process.roles", "LIST", ["broker", "controller"]),
    _key("listeners", "LIST", ["PLAINTEXT://127.0.0.1:9092"]),
    _key("advertised.listeners", "LIST", None),
    _key("controller.listener.names", "LIST", ["CONTROLLER"]),
    _key("inter.broker.listener.name", "STRING", None),
    _key("auto.create.topics.enable", "BOOLEAN", True),
    _key("num.partitions", "INT", 1, _AT_LEAST_1),
    _key("default.replication.factor", "INT", 1, _AT_LEAST_1),
    _key("delete.topic.enable", "BOOLEAN", True),
    _key("message.max.bytes", "INT", 1048588, _AT_LEAST_0),
    _key("socket.request.max.bytes", "INT", 104857600, _AT_LEAST_1),
    _key("connections.max.idle.ms", "LONG", 600000),
    _key("queued.max.requests", "INT", 500, _AT_LEAST_1),
    _key("fetch.max.bytes", "INT", 57671680, _AT_LEAST_0),
    _key("max.incremental.fetch.session.cache.slots", "INT", 1000, _AT_LEAST_0),
    _key("replica.lag.time.max.ms", "LONG", 30000),
    _key("replica.fetch.max.bytes", "INT", 1048576, _AT_LEAST_0),
    _key("replica.fetch.wait.max.ms", "INT", 500),
    _key("producer.id.expiration.ms", "INT", 86400000, _AT_LEAST_1),
    _key("log.dirs", "LIST", None),
    _key("log.dir", "LIST", ["/tmp/kafka-logs"]),
    _key("log.retention.check.interval.ms", "LONG", 300000, _AT_LEAST_1),
    _key("log.flush.scheduler.interval.ms", "LONG", _LONG_MAX),
    _key("log.cleaner.enable", "BOOLEAN", True),
    _key("log.cleaner.backoff.ms", "LONG", 15000, _AT_LEAST_0),
    # Topic-default properties whose unit differs from the topic config they feed.
    _key("log.retention.hours", "INT", 168),
    _key("log.retention.minutes", "INT", None),
    _key("log.retention.ms", "LONG", None),
    _key("log.roll.hours", "INT", 168, _AT_LEAST_1),
    _key("log.roll.ms", "LONG", None),
    _key("log.roll.jitter.hours", "INT", 0, _AT_LEAST_0),
    _key("log.roll.jitter.ms", "LONG", None),
    _key("log.flush.interval.ms", "LONG", None),
    # Group and transaction coordinators (used from the groups issue on).
    _key("offsets.topic.num.partitions", "INT", 50, _AT_LEAST_1),
    _key("offsets.topic.replication.factor", "SHORT", 3, _AT_LEAST_1),
    _key("offsets.topic.segment.bytes", "INT", 104857600, _AT_LEAST_1),
    _key("offsets.retention.minutes", "INT", 10080, _AT_LEAST_1),
    _key("offsets.retention.check.interval.ms", "LONG", 600000, _AT_LEAST_1),
    _key("offsets.commit.timeout.ms", "INT", 5000, _AT_LEAST_1),
    _key("offset.metadata.max.bytes", "INT", 4096),
    _key("group.initial.rebalance.delay.ms", "INT", 3000),
    _key("group.min.session.timeout.ms", "INT", 6000),
    _key("group.max.session.timeout.ms", "INT", 1800000),
    _key("group.max.size", "INT", _INT_MAX, _AT_LEAST_1),
    _key(
        "group.coordinator.rebalance.protocols",
        "LIST",
        ["classic", "consumer", "streams"],
        OneOf(("classic", "consumer", "share", "streams")),
    ),
    _key("group.consumer.session.timeout.ms", "INT", 45000, _AT_LEAST_1),
    _key("group.consumer.min.session.timeout.ms", "INT", 45000, _AT_LEAST_1),
    _key("group.consumer.max.session.timeout.ms", "INT", 60000, _AT_LEAST_1),
    _key("group.consumer.heartbeat.interval.ms", "INT", 5000, _AT_LEAST_1),
    _key("group.consumer.min.heartbeat.interval.ms", "INT", 5000, _AT_LEAST_1),
    _key("group.consumer.max.heartbeat.interval.ms", "INT", 15000, _AT_LEAST_1),
    _key("group.consumer.max.size", "INT", _INT_MAX, _AT_LEAST_1),
    _key("group.consumer.assignors", "LIST", ["uniform", "range"], OneOf(("uniform", "range"))),
    _key(
        "group.consumer.migration.policy",
        "STRING",
        "bidirectional",
        OneOf(("bidirectional", "upgrade", "downgrade", "disabled")),
    ),
    _key("group.consumer.regex.refresh.interval.ms", "INT", 600000, Range(low=10000)),
    _key("transaction.state.log.num.partitions", "INT", 50, _AT_LEAST_1),
    _key("transaction.state.log.replication.factor", "SHORT", 3, _AT_LEAST_1),
    _key("transaction.state.log.min.isr", "INT", 2, _AT_LEAST_1),
    _key("transaction.max.timeout.ms", "INT", 900000, _AT_LEAST_1),
    _key("transactional.id.expiration.ms", "INT", 604800000, _AT_LEAST_1),
    _key("unstable.api.versions.enable", "BOOLEAN", False),
]


def _topic_default_keys() -> list[ConfigKey]:
    """``log.*``-style broker properties that default a topic config of the same type."""
    taken = {k.name for k in _BROKER_ONLY}
    keys = []
    for topic_key in CONFIG_KEYS:
        for prop in topic_key.server_default_properties:
            if prop not in taken:
                taken.add(prop)
                keys.append(ConfigKey(prop, topic_key.type, topic_key.default, topic_key.validator))
    return keys


#: Every broker property rafka understands, by name.
BROKER_CONFIG_KEYS: dict[str, ConfigKey] = {
    k.name: k for k in sorted([*_BROKER_ONLY, *_topic_default_keys()], key=lambda k: k.name)
}

#: Topic configs whose broker default is given in other units.
_UNIT_SYNONYMS: dict[str, tuple[tuple[str, int], ...]] = {
    "retention.ms": (
        ("log.retention.ms", 1),
        ("log.retention.minutes", 60_000),
        ("log.retention.hours", 3_600_000),
    ),
    "segment.ms": (("log.roll.ms", 1), ("log.roll.hours", 3_600_000)),
    "segment.jitter.ms": (("log.roll.jitter.ms", 1), ("log.roll.jitter.hours", 3_600_000)),
    "flush.ms": (("log.flush.interval.ms", 1), ("log.flush.scheduler.interval.ms", 1)),
}


def parse_broker_value(key: ConfigKey, raw: Any) -> Any:
    """Parse and validate a broker property as Kafka's ConfigDef does (ConfigError if bad)."""
    type_ = key.type
    if type_ in ("CLASS", "PASSWORD"):
        return ConfigKey(key.name, "STRING", None).parse(raw)
    if type_ == "SHORT":
        value = ConfigKey(key.name, "INT", None, key.validator).parse(raw)
        if value is not None and not -(1 << 15) <= value < (1 << 15):
            raise ConfigError(
                f"Invalid value {raw} for configuration {key.name}: Not a number of type SHORT"
            )
        return value
    return key.parse(raw)


class BrokerConfig:
    """Validated broker properties: the values set explicitly and Kafka's defaults."""

    __slots__ = ("_explicit", "_values")

    def __init__(self, explicit: Mapping[str, Any]) -> None:
        self._explicit = dict(explicit)
        self._values = {name: key.default for name, key in BROKER_CONFIG_KEYS.items()}
        self._values.update(self._explicit)

    @classmethod
    def from_dict(cls, props: Mapping[str, Any] | None = None) -> BrokerConfig:
        """Parse Kafka-named properties; unknown names and bad values raise ConfigError."""
        explicit: dict[str, Any] = {}
        for name, value in (props or {}).items():
            key = BROKER_CONFIG_KEYS.get(name)
            if key is None:
                raise ConfigError(
                    f"unknown broker config {name!r}: rafka supports "
                    "Kafka's broker properties listed in rafka.cluster.config"
                )
            explicit[name] = parse_broker_value(key, value)
        return cls(explicit)

    def get(self, name: str) -> Any:
        return self._values[name]

    def is_explicit(self, name: str) -> bool:
        return name in self._explicit

    @property
    def explicit(self) -> dict[str, Any]:
        """The properties set explicitly (Kafka's STATIC_BROKER_CONFIG source)."""
        return dict(self._explicit)

    def with_overrides(self, props: Mapping[str, Any]) -> BrokerConfig:
        merged = dict(self._explicit)
        merged.update(BrokerConfig.from_dict(props).explicit)
        return BrokerConfig(merged)

    def topic_default(self, topic_config: str) -> Any:
        """The cluster-wide default of a topic config, from the broker's properties."""
        synonyms = _UNIT_SYNONYMS.get(topic_config, ())
        for prop, factor in synonyms:
            if self.is_explicit(prop) and self._explicit[prop] is not None:
                return self._explicit[prop] * factor
        key = TOPIC_CONFIG_KEYS[topic_config]
        for prop in key.server_default_properties:
            if self.is_explicit(prop):
                return self._explicit[prop]
        for prop, factor in synonyms:  # nothing set: the broker defaults, e.g. 168 hours
            if self._values[prop] is not None:
                return self._values[prop] * factor
        return key.default

    def topic_defaults(self) -> dict[str, Any]:
        """Defaults for every topic config, as a dict for ``LogConfig.from_dict``."""
        return {name: self.topic_default(name) for name in TOPIC_CONFIG_KEYS}

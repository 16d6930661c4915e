"""Describing and changing configs as Kafka does: each value with its source and synonyms.

A topic config's value comes from, in order: the topic's own override (TOPIC_CONFIG), a broker
property set dynamically for this broker (DYNAMIC_BROKER_CONFIG) or for the cluster
(DYNAMIC_DEFAULT_BROKER_CONFIG) or statically (STATIC_BROKER_CONFIG), or Kafka's default
(DEFAULT_CONFIG). The synonyms list those sources, most specific first, with the broker property
names (``log.retention.ms``, ``log.retention.minutes``, ``log.retention.hours`` for
``retention.ms``).

:class:`BrokerConfigLayers` holds the four layers of one broker as strings, and answers what
Kafka's ``ConfigHelper`` answers for DescribeConfigs (including its quirk of dropping synonyms
listed before the config itself: ``retention.ms`` with only ``log.retention.hours`` set has no
synonyms and source DEFAULT_CONFIG). The checks Kafka's brokers make before a broker config
change (``ConfigAdminManager``/``DynamicBrokerConfig``) and the incremental operations
(``SET``/``DELETE``/``APPEND``/``SUBTRACT``) are plain functions here; the controller commits.
"""

from __future__ import annotations

import enum
import functools
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from rafka import errors
from rafka.cluster.config import (
    BROKER_CONFIG_KEYS,
    TOPIC_CONFIG_KEYS,
    BrokerConfig,
    parse_broker_value,
)
from rafka.cluster.metadata.image import BROKER_RESOURCE, MetadataImage
from rafka.errors import ConfigError
from rafka.storage.log_config import CONFIG_KEYS, ConfigKey, LogConfig, OneOf, Range

__all__ = [
    "DYNAMIC_BROKER_CONFIGS",
    "AlterConfigOp",
    "BrokerConfigLayers",
    "ConfigEntry",
    "ConfigSource",
    "ConfigSynonym",
    "apply_incremental_ops",
    "broker_config_key",
    "check_dynamic_broker_configs",
    "describe_topic",
    "describe_topic_configs",
]

#: ConfigResource.Type ids.
TOPIC = 2
BROKER = BROKER_RESOURCE
BROKER_LOGGER = 8
CLIENT_METRICS = 16
GROUP = 32
RESOURCE_TYPES = {
    TOPIC: "TOPIC",
    BROKER: "BROKER",
    BROKER_LOGGER: "BROKER_LOGGER",
    CLIENT_METRICS: "CLIENT_METRICS",
    GROUP: "GROUP",
}


class AlterConfigOp(enum.IntEnum):
    """IncrementalAlterConfigs' ``config_operation``."""

    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


class ConfigSource(enum.IntEnum):
    UNKNOWN = 0
    TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    DYNAMIC_BROKER_LOGGER_CONFIG = 6


#: DescribeConfigs' ConfigType ids by ConfigDef type name.
CONFIG_TYPES = {
    "BOOLEAN": 1,
    "STRING": 2,
    "INT": 3,
    "SHORT": 4,
    "LONG": 5,
    "DOUBLE": 6,
    "LIST": 7,
    "CLASS": 8,
    "PASSWORD": 9,
}

#: Broker properties that feed a topic config, most specific first (unit synonyms included).
_TOPIC_SYNONYMS: dict[str, tuple[str, ...]] = {
    "retention.ms": ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
    "segment.ms": ("log.roll.ms", "log.roll.hours"),
    "segment.jitter.ms": ("log.roll.jitter.ms", "log.roll.jitter.hours"),
    "flush.ms": ("log.flush.interval.ms",),
}


@attrs.frozen
class ConfigSynonym:
    name: str
    value: str | None
    source: ConfigSource


@attrs.frozen
class ConfigEntry:
    name: str
    value: str | None
    source: ConfigSource
    read_only: bool
    sensitive: bool
    type: int
    synonyms: tuple[ConfigSynonym, ...]


def topic_synonym_properties(name: str) -> tuple[str, ...]:
    key = TOPIC_CONFIG_KEYS[name]
    return _TOPIC_SYNONYMS.get(name, key.server_default_properties)


def _broker_synonyms(props: tuple[str, ...], broker: BrokerConfig) -> list[ConfigSynonym]:
    synonyms = []
    for prop in props:
        key = BROKER_CONFIG_KEYS.get(prop)
        if key is None:
            continue
        if broker.is_explicit(prop):
            synonyms.append(
                ConfigSynonym(prop, key.render(broker.get(prop)), ConfigSource.STATIC_BROKER_CONFIG)
            )
    for prop in props:
        key = BROKER_CONFIG_KEYS.get(prop)
        if key is not None and key.default is not None:
            synonyms.append(
                ConfigSynonym(prop, key.render(key.default), ConfigSource.DEFAULT_CONFIG)
            )
            break
    return synonyms


def describe_topic_configs(
    broker: BrokerConfig, overrides: Mapping[str, str], names: set[str] | None = None
) -> list[ConfigEntry]:
    """Every (non-internal) topic config of a topic with ``overrides``, with sources."""
    entries = []
    for name, key in sorted(TOPIC_CONFIG_KEYS.items()):
        if key.internal or (names is not None and name not in names):
            continue
        synonyms: list[ConfigSynonym] = []
        if name in overrides:
            synonyms.append(ConfigSynonym(name, overrides[name], ConfigSource.TOPIC_CONFIG))
        synonyms += _broker_synonyms(topic_synonym_properties(name), broker)
        if synonyms:
            value, source = synonyms[0].value, synonyms[0].source
            if name not in overrides:
                value = _render(key, broker.topic_default(name))
        else:
            value, source = _render(key, key.default), ConfigSource.DEFAULT_CONFIG
        entries.append(
            ConfigEntry(
                name, value, source, False, key.sensitive, CONFIG_TYPES[key.type], tuple(synonyms)
            )
        )
    return entries


def _render(key: ConfigKey, value: object) -> str | None:
    return key.render(value)


# ------------------------------------------------------------------------- broker properties

DOUBLE_MAX = 1.7976931348623157e308
_INT_MAX = (1 << 31) - 1
_LONG_MAX = (1 << 63) - 1


def _key(name: str, type_: str, default: Any, validator: Range | OneOf | None = None) -> ConfigKey:
    return ConfigKey(name, type_, default, validator)


#: Kafka 4.1's dynamic broker configs that rafka's BrokerConfig does not model: accepted (and
#: stored) dynamically, with Kafka's types, defaults and ranges.
_UNMODELLED_DYNAMIC: dict[str, ConfigKey] = {
    k.name: k
    for k in (
        _key("background.threads", "INT", 10, Range(1)),
        _key(
            "listener.security.protocol.map",
            "STRING",
            "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT",
        ),
        _key("log.cleaner.dedupe.buffer.size", "LONG", 134217728),
        _key("log.cleaner.io.buffer.load.factor", "DOUBLE", 0.9),
        _key("log.cleaner.io.buffer.size", "INT", 524288, Range(0)),
        _key("log.cleaner.io.max.bytes.per.second", "DOUBLE", DOUBLE_MAX),
        _key("log.cleaner.threads", "INT", 1, Range(0)),
        _key("max.connection.creation.rate", "INT", _INT_MAX, Range(0)),
        _key("max.connections", "INT", _INT_MAX, Range(0)),
        _key("max.connections.per.ip", "INT", _INT_MAX, Range(0)),
        _key("max.connections.per.ip.overrides", "STRING", ""),
        _key("metric.reporters", "LIST", ["org.apache.kafka.common.metrics.JmxReporter"]),
        _key("num.io.threads", "INT", 8, Range(1)),
        _key("num.network.threads", "INT", 3, Range(1)),
        _key("num.recovery.threads.per.data.dir", "INT", 2, Range(1)),
        _key("num.replica.fetchers", "INT", 1),
        _key(
            "principal.builder.class",
            "CLASS",
            "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder",
        ),
        _key("remote.fetch.max.wait.ms", "INT", 500, Range(1)),
        _key("remote.list.offsets.request.timeout.ms", "LONG", 30000, Range(1)),
        _key("remote.log.index.file.cache.total.size.bytes", "LONG", 1 << 30, Range(1)),
        _key("remote.log.manager.copier.thread.pool.size", "INT", 10, Range(1)),
        _key("remote.log.manager.copy.max.bytes.per.second", "LONG", _LONG_MAX, Range(1)),
        _key("remote.log.manager.expiration.thread.pool.size", "INT", 10, Range(1)),
        _key("remote.log.manager.fetch.max.bytes.per.second", "LONG", _LONG_MAX, Range(1)),
        _key("remote.log.reader.threads", "INT", 10, Range(1)),
        _key("sasl.enabled.mechanisms", "LIST", ["GSSAPI"]),
        _key("sasl.jaas.config", "PASSWORD", None),
        _key("sasl.kerberos.kinit.cmd", "STRING", "/usr/bin/kinit"),
        _key("sasl.kerberos.min.time.before.relogin", "LONG", 60000),
        _key("sasl.kerberos.principal.to.local.rules", "LIST", ["DEFAULT"]),
        _key("sasl.kerberos.service.name", "STRING", None),
        _key("sasl.kerberos.ticket.renew.jitter", "DOUBLE", 0.05),
        _key("sasl.kerberos.ticket.renew.window.factor", "DOUBLE", 0.8),
        _key("sasl.login.refresh.buffer.seconds", "SHORT", 300),
        _key("sasl.login.refresh.min.period.seconds", "SHORT", 60),
        _key("sasl.login.refresh.window.factor", "DOUBLE", 0.8),
        _key("sasl.login.refresh.window.jitter", "DOUBLE", 0.05),
        _key("sasl.mechanism.inter.broker.protocol", "STRING", "GSSAPI"),
        _key("ssl.cipher.suites", "LIST", []),
        _key("ssl.client.auth", "STRING", "none", OneOf(("required", "requested", "none"))),
        _key("ssl.enabled.protocols", "LIST", ["TLSv1.2", "TLSv1.3"]),
        _key("ssl.endpoint.identification.algorithm", "STRING", "https"),
        _key("ssl.engine.factory.class", "CLASS", None),
        _key("ssl.key.password", "PASSWORD", None),
        _key("ssl.keymanager.algorithm", "STRING", "SunX509"),
        _key("ssl.keystore.certificate.chain", "PASSWORD", None),
        _key("ssl.keystore.key", "PASSWORD", None),
        _key("ssl.keystore.location", "STRING", None),
        _key("ssl.keystore.password", "PASSWORD", None),
        _key("ssl.keystore.type", "STRING", "JKS"),
        _key("ssl.protocol", "STRING", "TLSv1.3"),
        _key("ssl.provider", "STRING", None),
        _key("ssl.secure.random.implementation", "STRING", None),
        _key("ssl.trustmanager.algorithm", "STRING", "PKIX"),
        _key("ssl.truststore.certificates", "PASSWORD", None),
        _key("ssl.truststore.location", "STRING", None),
        _key("ssl.truststore.password", "PASSWORD", None),
        _key("ssl.truststore.type", "STRING", "JKS"),
        _key("transaction.partition.verification.enable", "BOOLEAN", True),
    )
}

#: Every dynamically updatable broker config of Kafka 4.1 (its ``AllDynamicConfigs``): the
#: broker properties behind topic configs, some cleaner, listener, security, thread-pool and
#: connection settings.
DYNAMIC_BROKER_CONFIGS: frozenset[str] = frozenset(
    {
        *_UNMODELLED_DYNAMIC,
        *(k.server_default_properties[0] for k in CONFIG_KEYS if k.server_default_properties),
        "log.cleaner.backoff.ms",
        "listeners",
        "producer.id.expiration.ms",
    }
)
#: SSL stores: only per listener (``listener.name.<l>.ssl.keystore.password``).
_LISTENER_ONLY = frozenset(
    n for n in _UNMODELLED_DYNAMIC if n.startswith(("ssl.keystore.", "ssl.truststore.", "ssl.key."))
)
#: Dynamic configs that only a broker id resource may set (not the cluster default).
_PER_BROKER = frozenset(
    name
    for name in DYNAMIC_BROKER_CONFIGS
    if name.startswith(("ssl.", "sasl."))
    or name in ("listeners", "listener.security.protocol.map", "principal.builder.class")
)
_CLUSTER_LEVEL_LISTENER = frozenset(
    {"max.connections", "max.connection.creation.rate", "num.network.threads"}
)
_LISTENER_MECHANISM = (
    "sasl.login.callback.handler.class",
    "sasl.server.callback.handler.class",
    "connections.max.reauth.ms",
    "sasl.login.class",
    "sasl.jaas.config",
)
_LISTENER_PREFIX = re.compile(r"listener\.name\.[^.]*\.(.*)")
#: Broker properties given in several units, most precise first.
_UNIT_GROUPS = (
    ("log.roll.ms", "log.roll.hours"),
    ("log.roll.jitter.ms", "log.roll.jitter.hours"),
    ("log.flush.interval.ms", "log.flush.scheduler.interval.ms"),
    ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
)
#: Where rafka's BrokerConfig type differs from Kafka's ConfigDef type (Kafka's wins on the wire).
_KAFKA_TYPES = {
    "listeners": "STRING",
    "advertised.listeners": "STRING",
    "controller.listener.names": "STRING",
    "log.dirs": "STRING",
    "log.dir": "STRING",
}


def broker_config_key(name: str) -> ConfigKey | None:
    """The key of a broker property (a listener override has its base property's), or None."""
    key = BROKER_CONFIG_KEYS.get(name) or _UNMODELLED_DYNAMIC.get(name)
    if key is None and (match := _LISTENER_PREFIX.fullmatch(name)):
        return broker_config_key(match.group(1))
    return key


def broker_synonyms(name: str, *, listener_override: bool = True) -> tuple[str, ...]:
    """Kafka's ``DynamicBrokerConfig.brokerConfigSynonyms``: the properties that set the same
    value as ``name``, most specific first."""
    for group in _UNIT_GROUPS:
        if name in group and name != "log.flush.scheduler.interval.ms":  # only a fallback
            return group
    if listener_override and (match := _LISTENER_PREFIX.fullmatch(name)):
        base = match.group(1)
        mechanism = next((m for m in _LISTENER_MECHANISM if base.endswith(m)), None)
        return (name, mechanism or base)
    return (name,)


def _kafka_type(key: ConfigKey | None) -> str | None:
    return None if key is None else _KAFKA_TYPES.get(key.name, key.type)


def render_value(key: ConfigKey, value: Any) -> str | None:
    """A config value as Kafka's ``ConfigDef.convertToString`` writes it."""
    if isinstance(value, float) and not isinstance(value, bool):
        return _java_double(value)
    return key.render(value)


def _java_double(x: float) -> str:
    """Java's ``Double.toString``: plain between 10^-3 and 10^7, else ``d.dddE<n>``."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        return repr(x)  # the same shortest digits, and plain notation in this range
    sign, digits, exp = Decimal(repr(x)).normalize().as_tuple()
    assert isinstance(exp, int)
    text = "".join(map(str, digits))
    mantissa = text[0] + "." + (text[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{len(digits) - 1 + exp}"


# -------------------------------------------------------------------------- the four layers


@functools.cache
def _default_layer() -> dict[str, str]:
    """Kafka's ``staticDefaultConfigs``: every broker property with a default, as text."""
    defaults = {}
    for name, key in (*BROKER_CONFIG_KEYS.items(), *_UNMODELLED_DYNAMIC.items()):
        text = render_value(key, key.default)
        if text is not None:
            defaults[name] = text
    return defaults


@attrs.frozen
class BrokerConfigLayers:
    """Where a broker's properties come from, as strings: this broker's dynamic configs, the
    cluster's dynamic defaults, the static properties and Kafka's defaults."""

    per_broker: Mapping[str, str]
    cluster: Mapping[str, str]
    static: Mapping[str, str]
    defaults: Mapping[str, str]

    @classmethod
    def of(cls, config: BrokerConfig, image: MetadataImage, node_id: int) -> BrokerConfigLayers:
        static = {}
        for name, value in config.explicit.items():
            key = broker_config_key(name)
            text = None if key is None else render_value(key, value)
            if text is not None:
                static[name] = text
        return cls(
            dict(image.configs.get((BROKER, str(node_id)), {})),
            dict(image.configs.get((BROKER, ""), {})),
            static,
            _default_layer(),
        )

    def effective(self) -> dict[str, str]:
        """The properties in force: static, then cluster defaults, then this broker's, each
        dynamic value replacing its unit synonyms (``log.retention.ms`` hides ``*.hours``)."""
        props = dict(self.static)
        for layer in (self.cluster, self.per_broker):
            for name, value in layer.items():
                for synonym in broker_synonyms(name, listener_override=False):
                    props.pop(synonym, None)
                props[name] = value
        return props

    def broker_config(self) -> BrokerConfig:
        """The effective properties rafka models, as a BrokerConfig (for topic defaults)."""
        explicit: dict[str, Any] = {}
        for name, raw in self.effective().items():
            key = BROKER_CONFIG_KEYS.get(name)
            if key is None:
                continue
            try:
                explicit[name] = parse_broker_value(key, raw)
            except ConfigError:
                continue  # validated when written; never fail a describe over it
        return BrokerConfig(explicit)

    def synonyms(self, name: str, names: Sequence[str], sensitive: bool) -> list[ConfigSynonym]:
        """Kafka's ``ConfigHelper.configSynonyms``: every layer's value of ``names``, most
        specific layer first, dropping whatever precedes the first entry named ``name``."""
        found = []
        for layer, source in (
            (self.per_broker, ConfigSource.DYNAMIC_BROKER_CONFIG),
            (self.cluster, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG),
            (self.static, ConfigSource.STATIC_BROKER_CONFIG),
            (self.defaults, ConfigSource.DEFAULT_CONFIG),
        ):
            for synonym in names:
                if synonym in layer:
                    found.append(
                        ConfigSynonym(synonym, None if sensitive else layer[synonym], source)
                    )
        while found and found[0].name != name:
            found.pop(0)
        return found

    def describe_broker(self, names: Collection[str] | None) -> list[ConfigEntry]:
        """DescribeConfigs of this broker (resource name = its id): every property."""
        effective = self.effective()
        listed = sorted(
            {*BROKER_CONFIG_KEYS, *effective}
            if names is None
            else {n for n in names if n in BROKER_CONFIG_KEYS or n in effective}
        )
        entries = []
        for name in listed:
            key = broker_config_key(name)
            raw = effective.get(name)
            if key is None:
                value = raw
            elif raw is None:
                value = render_value(key, key.default)
            else:
                try:
                    value = render_value(key, parse_broker_value(key, raw))
                except ConfigError:
                    value = raw
            entries.append(self._broker_entry(name, key, value, per_broker=True))
        return entries

    def describe_cluster_defaults(self, names: Collection[str] | None) -> list[ConfigEntry]:
        """DescribeConfigs of the cluster default (resource name ""): the dynamic defaults set."""
        return [
            self._broker_entry(name, broker_config_key(name), value, per_broker=False)
            for name, value in sorted(self.cluster.items())
            if names is None or name in names
        ]

    def _broker_entry(
        self, name: str, key: ConfigKey | None, value: str | None, per_broker: bool
    ) -> ConfigEntry:
        type_ = _kafka_type(key)
        sensitive = type_ in (None, "PASSWORD")
        synonyms = self.synonyms(name, broker_synonyms(name), sensitive)
        if not per_broker:
            synonyms = [
                s for s in synonyms if s.source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG
            ]
        return ConfigEntry(
            name,
            None if sensitive else value,
            synonyms[0].source if synonyms else ConfigSource.DEFAULT_CONFIG,
            name not in DYNAMIC_BROKER_CONFIGS,
            sensitive,
            CONFIG_TYPES.get(type_ or "", 0),
            tuple(synonyms),
        )


def describe_topic(
    layers: BrokerConfigLayers, overrides: Mapping[str, str], names: Collection[str] | None
) -> list[ConfigEntry]:
    """DescribeConfigs of a topic with ``overrides``, as Kafka's ``ConfigHelper`` answers it."""
    defaults = layers.broker_config().topic_defaults()
    try:
        config = LogConfig.from_dict(overrides, defaults=defaults)
    except ConfigError:
        config = LogConfig.from_dict({}, defaults=defaults)
    values = config.to_dict()
    entries = []
    for name, key in sorted(TOPIC_CONFIG_KEYS.items()):
        if key.internal or (names is not None and name not in names):
            continue
        value = render_value(key, values[name])
        synonyms: list[ConfigSynonym] = []
        if name in overrides:
            synonyms.append(ConfigSynonym(name, value, ConfigSource.TOPIC_CONFIG))
        if key.server_default_properties:
            primary = key.server_default_properties[0]
            synonyms += layers.synonyms(primary, broker_synonyms(primary), key.sensitive)
        source = synonyms[0].source if synonyms else ConfigSource.DEFAULT_CONFIG
        entries.append(
            ConfigEntry(
                name, value, source, False, key.sensitive, CONFIG_TYPES[key.type], tuple(synonyms)
            )
        )
    return entries


# ------------------------------------------------------------------------- changing configs

AlterOp = tuple[str, int, "str | None"]  # (name, AlterConfigOp id, value)


def _scala_set(names: Iterable[str], hashed: bool = False) -> str:
    items = sorted(names)
    return ("HashSet(" if hashed or len(items) > 4 else "Set(") + ", ".join(items) + ")"


def check_dynamic_broker_configs(props: Mapping[str, str], per_broker: bool) -> None:
    """Kafka's ``DynamicBrokerConfig.validateConfigs``: the full set of dynamic properties a
    BROKER resource would have. INVALID_REQUEST for anything Kafka cannot change at run time.

    Names rafka does not know at all are accepted as custom properties, as Kafka accepts them.
    """
    fixed = [n for n in props if n in BROKER_CONFIG_KEYS and n not in DYNAMIC_BROKER_CONFIGS]
    if fixed:
        raise errors.InvalidRequestError(
            f"Cannot update these configs dynamically: {_scala_set(fixed)}"
        )
    unprefixed = [n for n in props if n in _LISTENER_ONLY]
    if unprefixed:
        raise errors.InvalidRequestError(
            "These security configs can be dynamically updated only per-listener using the "
            f"listener prefix: {_scala_set(unprefixed, hashed=True)}"
        )
    for name, raw in props.items():
        key = broker_config_key(name)
        if key is not None:
            try:
                parse_broker_value(key, raw)
            except ConfigError as exc:
                raise errors.InvalidRequestError(getattr(exc, "message", str(exc))) from None
    if not per_broker:
        scoped = []
        for name in props:
            match = _LISTENER_PREFIX.fullmatch(name)
            if name in _PER_BROKER or (match and match.group(1) not in _CLUSTER_LEVEL_LISTENER):
                scoped.append(name)
        if scoped:
            raise errors.InvalidRequestError(
                "Cannot update these configs at default cluster level, broker id must be "
                f"specified: {_scala_set(scoped)}"
            )


def _java_split(value: str) -> list[str]:
    if "," not in value:
        return [value]
    parts = value.split(",")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def apply_incremental_ops(
    current: Mapping[str, str],
    ops: Sequence[AlterOp],
    key_for: Callable[[str], ConfigKey | None],
    *,
    broker_side: bool = False,
) -> dict[str, str | None]:
    """The value of every key ``ops`` touch (None: deleted), from the resource's ``current``
    configs. APPEND and SUBTRACT work on LIST configs, starting from the default when unset;
    errors are Kafka's controller's (or, ``broker_side``, the broker's preprocessing)."""
    changed: dict[str, str | None] = {}
    for name, op_id, value in ops:
        if op_id not in tuple(AlterConfigOp):
            raise errors.InvalidRequestError(f"Unknown operations type {op_id}")
        op = AlterConfigOp(op_id)
        if op == AlterConfigOp.SET:
            changed[name] = value
            continue
        if op == AlterConfigOp.DELETE:
            changed[name] = None
            continue
        key = key_for(name)
        if key is None or _kafka_type(key) != "LIST":
            if not broker_side:
                raise errors.InvalidConfigError(
                    f"Can't {op.name} to key {name} because its type is not LIST."
                )
            if key is None:
                raise errors.InvalidConfigError(f"Unknown config name: {name}")
            raise errors.InvalidConfigError(
                f"Config value {op.name.lower()} is not allowed for config key: {name}"
            )
        old = current.get(name)
        if old is None:
            old = render_value(key, key.default)
        parts = [p for p in (old or "").split(",") if p]
        for item in _java_split(value or ""):
            if op == AlterConfigOp.APPEND and item not in parts:
                parts.append(item)
            elif op == AlterConfigOp.SUBTRACT and item in parts:
                parts.remove(item)
        changed[name] = ",".join(parts)
    return changed

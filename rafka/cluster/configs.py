"""Describing configs as Kafka does: each value with its source and synonyms.

A topic config's value comes from, in order: the topic's own override (TOPIC_CONFIG), a broker
property set dynamically for the cluster (DYNAMIC_DEFAULT_BROKER_CONFIG) or statically
(STATIC_BROKER_CONFIG), or Kafka's default (DEFAULT_CONFIG). The synonyms list those sources,
most specific first, with the broker property names (``log.retention.ms``,
``log.retention.minutes``, ``log.retention.hours`` for ``retention.ms``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

from rafka.cluster.config import BROKER_CONFIG_KEYS, TOPIC_CONFIG_KEYS, BrokerConfig
from rafka.storage.log_config import ConfigKey

__all__ = ["ConfigEntry", "ConfigSource", "ConfigSynonym", "describe_topic_configs"]


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

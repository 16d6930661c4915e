"""What the admin client is asked to do: new topics and partitions, config resources and
changes, offset specs, and Kafka's enumerations for them (values as on the wire)."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "AlterConfigOp",
    "AlterConfigOpType",
    "ConfigResource",
    "ConfigResourceType",
    "ConfigSource",
    "ConfigType",
    "IsolationLevel",
    "NewPartitions",
    "NewTopic",
    "OffsetSpec",
    "isolation_level",
]


class ConfigResourceType(enum.IntEnum):
    """What a config belongs to (Kafka's ``ConfigResource.Type`` codes)."""

    UNKNOWN = 0
    TOPIC = 2
    BROKER = 4
    BROKER_LOGGER = 8
    CLIENT_METRICS = 16
    GROUP = 32


class ConfigSource(enum.IntEnum):
    """Where a config's value comes from (``DescribeConfigs`` ``config_source``)."""

    UNKNOWN = 0
    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    DYNAMIC_BROKER_LOGGER_CONFIG = 6
    CLIENT_METRICS_CONFIG = 7
    GROUP_CONFIG = 8


class ConfigType(enum.IntEnum):
    """A config's value type (``DescribeConfigs`` v3+ ``config_type``)."""

    UNKNOWN = 0
    BOOLEAN = 1
    STRING = 2
    INT = 3
    SHORT = 4
    LONG = 5
    DOUBLE = 6
    LIST = 7
    CLASS = 8
    PASSWORD = 9


class AlterConfigOpType(enum.IntEnum):
    """An ``IncrementalAlterConfigs`` operation."""

    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


class IsolationLevel(enum.IntEnum):
    """Which records ``list_offsets`` counts: all, or only committed transactions'."""

    READ_UNCOMMITTED = 0
    READ_COMMITTED = 1


def _enum(cls: type[enum.IntEnum], value: Any) -> Any:
    """An enum member from itself, its name (any case) or its number; other values raise."""
    if isinstance(value, str):
        try:
            return cls[value.upper()]
        except KeyError:
            pass
    else:
        try:
            return cls(value)
        except ValueError:
            pass
    names = ", ".join(m.name.lower() for m in cls)
    raise ValueError(f"{value!r} is not a {cls.__name__} (one of {names})")


def _resource_type(value: ConfigResourceType | str | int) -> ConfigResourceType:
    member: ConfigResourceType = _enum(ConfigResourceType, value)
    return member


def _op_type(value: AlterConfigOpType | str | int) -> AlterConfigOpType:
    member: AlterConfigOpType = _enum(AlterConfigOpType, value)
    return member


def _str_map(value: Mapping[str, Any] | None) -> dict[str, str | None]:
    return {str(k): None if v is None else str(v) for k, v in (value or {}).items()}


@attrs.frozen
class NewTopic:
    """A topic to create.

    ``num_partitions`` and ``replication_factor`` of -1 take the broker's ``num.partitions``
    and ``default.replication.factor``. ``assignments`` maps each partition to its replicas'
    broker ids (the first is the preferred leader) and then both counts must stay -1.
    ``configs`` are topic configs by Kafka's names (``{"cleanup.policy": "compact"}``).
    """

    name: str
    num_partitions: int = -1
    replication_factor: int = -1
    assignments: Mapping[int, Sequence[int]] | None = None
    configs: Mapping[str, str | None] = attrs.field(factory=dict, converter=_str_map)


@attrs.frozen
class NewPartitions:
    """A topic's new partition count (a total, not an increment); ``assignments`` optionally
    gives the replicas of each new partition, in order."""

    total_count: int
    assignments: Sequence[Sequence[int]] | None = None


@attrs.frozen
class ConfigResource:
    """A thing that has configs: a topic, a broker (by id; ``""`` for the cluster-wide
    defaults), a broker's loggers, a group. Build with :meth:`topic`, :meth:`broker`, ...
    """

    type: ConfigResourceType = attrs.field(converter=_resource_type)
    name: str = attrs.field(converter=str)

    @classmethod
    def topic(cls, name: str) -> ConfigResource:
        return cls(ConfigResourceType.TOPIC, name)

    @classmethod
    def broker(cls, broker_id: int | str = "") -> ConfigResource:
        """A broker's configs; the default ``""`` is the cluster-wide dynamic defaults."""
        return cls(ConfigResourceType.BROKER, str(broker_id))

    @classmethod
    def broker_logger(cls, broker_id: int | str) -> ConfigResource:
        return cls(ConfigResourceType.BROKER_LOGGER, str(broker_id))

    @classmethod
    def group(cls, group_id: str) -> ConfigResource:
        return cls(ConfigResourceType.GROUP, group_id)

    @property
    def broker_id(self) -> int | None:
        """The broker that must answer for this resource (None: any broker may)."""
        if self.type in (ConfigResourceType.BROKER, ConfigResourceType.BROKER_LOGGER):
            return int(self.name) if self.name.lstrip("-").isdigit() else None
        return None


@attrs.frozen
class AlterConfigOp:
    """One incremental config change: SET a value, DELETE (revert to the default), or APPEND /
    SUBTRACT items of a list config. Build with :meth:`set`, :meth:`delete`, ..."""

    name: str
    value: str | None
    op: AlterConfigOpType = attrs.field(default=AlterConfigOpType.SET, converter=_op_type)

    @classmethod
    def set(cls, name: str, value: object) -> AlterConfigOp:
        return cls(name, str(value), AlterConfigOpType.SET)

    @classmethod
    def delete(cls, name: str) -> AlterConfigOp:
        return cls(name, None, AlterConfigOpType.DELETE)

    @classmethod
    def append(cls, name: str, value: object) -> AlterConfigOp:
        return cls(name, str(value), AlterConfigOpType.APPEND)

    @classmethod
    def subtract(cls, name: str, value: object) -> AlterConfigOp:
        return cls(name, str(value), AlterConfigOpType.SUBTRACT)


@attrs.frozen
class OffsetSpec:
    """Which offset ``list_offsets`` looks up for a partition; ``timestamp`` is the value sent
    (negative ones are Kafka's special positions)."""

    timestamp: int

    EARLIEST = -2
    LATEST = -1
    MAX_TIMESTAMP = -3
    EARLIEST_LOCAL = -4
    LATEST_TIERED = -5

    @classmethod
    def earliest(cls) -> OffsetSpec:
        """The log start offset."""
        return cls(cls.EARLIEST)

    @classmethod
    def latest(cls) -> OffsetSpec:
        """The high watermark (the last stable offset under read_committed)."""
        return cls(cls.LATEST)

    @classmethod
    def max_timestamp(cls) -> OffsetSpec:
        """The offset of the record with the largest timestamp (brokers serving ListOffsets
        v7+)."""
        return cls(cls.MAX_TIMESTAMP)

    @classmethod
    def earliest_local(cls) -> OffsetSpec:
        """The first offset still in local storage (v8+; the same as earliest without tiered
        storage)."""
        return cls(cls.EARLIEST_LOCAL)

    @classmethod
    def latest_tiered(cls) -> OffsetSpec:
        """The last offset in tiered storage (v9+)."""
        return cls(cls.LATEST_TIERED)

    @classmethod
    def for_timestamp(cls, timestamp_ms: int) -> OffsetSpec:
        """The first offset whose record timestamp is at least ``timestamp_ms``."""
        if timestamp_ms < 0:
            raise ValueError("for_timestamp takes a timestamp in ms since the epoch (>= 0)")
        return cls(timestamp_ms)

    @property
    def min_version(self) -> int:
        """The lowest ListOffsets version that carries this spec."""
        return {self.MAX_TIMESTAMP: 7, self.EARLIEST_LOCAL: 8, self.LATEST_TIERED: 9}.get(
            self.timestamp, 1
        )


def isolation_level(value: IsolationLevel | str | int) -> IsolationLevel:
    """``"read_committed"``, ``IsolationLevel.READ_COMMITTED`` or 1, as an enum member."""
    member: IsolationLevel = _enum(IsolationLevel, value)
    return member

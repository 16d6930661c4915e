"""Topic-level log configuration with Kafka's names, types, defaults and validation.

The table :data:`CONFIG_KEYS` holds one :class:`ConfigKey` per topic config of Apache Kafka
4.1 (checked against ``LogConfig.configDefCopy()`` of the 4.1.1 jars): its name, ConfigDef type,
default, the values it accepts and the broker property that supplies a cluster-wide default.
The broker reuses it to answer DescribeConfigs. :class:`LogConfig` is the parsed, validated,
immutable result the storage engine reads::

    config = LogConfig.from_dict({"retention.ms": "60000", "cleanup.policy": "compact,delete"})
    config.retention_ms, config.compact, config.delete   # (60000, True, True)

Values may be strings (as on the wire) or Python values. Anything wrong raises
:class:`LogConfigError`, which is both Kafka's INVALID_CONFIG error and a :class:`ConfigError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final

import attrs

from rafka.errors import ConfigError, InvalidConfigError
from rafka.protocol.records import Compression, TimestampType

__all__ = [
    "CONFIG_KEYS",
    "ConfigKey",
    "LogConfig",
    "LogConfigError",
]

_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
LONG_MAX: Final = _INT64_MAX


class LogConfigError(InvalidConfigError, ConfigError):
    """A topic config name or value is not valid (Kafka's INVALID_CONFIG, code 40)."""


@attrs.frozen
class Range:
    """Numbers in ``[low, high]``; either bound may be absent. ``or_value`` is also accepted."""

    low: float | None = None
    high: float | None = None
    or_value: int | None = None

    def check(self, name: str, value: Any) -> None:
        if self.or_value is not None and value == self.or_value:
            return
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            if self.high is None:
                why = f"Value must be at least {_num(self.low)}"
            elif self.low is None:
                why = f"Value must be no more than {_num(self.high)}"
            else:
                why = f"Value must be between {_num(self.low)} and {_num(self.high)}"
            raise LogConfigError(f"Invalid value {value} for configuration {name}: {why}")

    def describe(self) -> str:
        text = f"[{_num(self.low) if self.low is not None else ''},...," + (
            f"{_num(self.high)}]" if self.high is not None else "]"
        )
        text = text.replace("[,...,", "[...,").replace(",...,]", ",...]")
        return text + (f" or {self.or_value}" if self.or_value is not None else "")


@attrs.frozen
class OneOf:
    """A string (or, for LIST configs, every element) from a fixed set."""

    choices: tuple[str, ...]

    def check(self, name: str, value: Any) -> None:
        for item in value if isinstance(value, list) else [value]:
            if item not in self.choices:
                raise LogConfigError(
                    f"Invalid value {item} for configuration {name}: "
                    f"String must be one of: {', '.join(self.choices)}"
                )

    def describe(self) -> str:
        return "[" + ", ".join(self.choices) + "]"


@attrs.frozen
class ThrottledReplicas:
    """``*`` or ``partition:broker`` pairs, as the replication-throttle configs take."""

    def check(self, name: str, value: Any) -> None:
        items = [item.strip() for item in value]
        if items == ["*"] or not items:
            return
        for item in items:
            left, sep, right = item.partition(":")
            if not (sep and left.strip().isdigit() and right.strip().isdigit()):
                raise LogConfigError(
                    f"Invalid value {','.join(value)} for configuration {name}: "
                    "must be the literal '*' or a list of replicas in the following format: "
                    "[partitionId]:[brokerId],[partitionId]:[brokerId],..."
                )

    def describe(self) -> str:
        return "[partitionId]:[brokerId],[partitionId]:[brokerId],..."


Validator = Range | OneOf | ThrottledReplicas


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


@attrs.frozen
class ConfigKey:
    """One topic config: what DescribeConfigs and validation need to know about it."""

    #: Kafka's dotted name, e.g. ``retention.ms``.
    name: str
    #: Kafka's ConfigDef type: BOOLEAN, STRING, INT, LONG, DOUBLE or LIST.
    type: str
    #: The default as a Python value (``None`` when there is none).
    default: Any
    #: What values are accepted, or None for anything of the type.
    validator: Validator | None = None
    #: Broker properties that supply the cluster default, most specific first.
    server_default_properties: tuple[str, ...] = ()
    #: Internal configs are accepted but not listed by DescribeConfigs.
    internal: bool = False
    #: Whether the value must be hidden (none of the topic configs are).
    sensitive: bool = False

    @property
    def attribute(self) -> str:
        """The :class:`LogConfig` attribute holding the value (``retention.ms`` -> retention_ms)."""
        return self.name.replace(".", "_")

    @property
    def valid_values(self) -> str:
        """Kafka's text for the accepted values, e.g. ``[1,...]`` (empty if unrestricted)."""
        return self.validator.describe() if self.validator is not None else ""

    def parse(self, value: Any) -> Any:
        """Convert a wire string or Python value to this config's type and validate it."""
        parsed = _parse(self.name, self.type, value)
        if self.validator is not None and parsed is not None:
            self.validator.check(self.name, parsed)
        return parsed

    def render(self, value: Any) -> str | None:
        """The value as Kafka prints it in DescribeConfigs (lists comma-joined, bools lower)."""
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list | tuple):
            return ",".join(str(v) for v in value)
        return str(value)


def _parse(name: str, type_: str, value: Any) -> Any:
    def bad(why: str) -> LogConfigError:
        return LogConfigError(f"Invalid value {value} for configuration {name}: {why}")

    if value is None:
        return None
    if type_ in ("INT", "LONG"):
        low, high = (_INT32_MIN, _INT32_MAX) if type_ == "INT" else (_INT64_MIN, _INT64_MAX)
        if isinstance(value, bool):
            raise bad(f"Expected value to be a 32-bit integer, but it was a {type(value).__name__}")
        if isinstance(value, str):
            try:
                number = int(value.strip())
            except ValueError:
                raise bad(f"Not a number of type {type_}") from None
        elif isinstance(value, int):
            number = value
        else:
            raise bad(f"Expected value to be a number of type {type_}")
        if not low <= number <= high:
            raise bad(f"Not a number of type {type_}")
        return number
    if type_ == "DOUBLE":
        if isinstance(value, bool):
            raise bad("Not a number of type DOUBLE")
        try:
            return float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise bad("Not a number of type DOUBLE") from None
    if type_ == "BOOLEAN":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise bad("Expected value to be either true or false")
    if type_ == "STRING":
        if not isinstance(value, str):
            raise bad("Expected value to be a string")
        return value.strip()
    if type_ == "LIST":
        if isinstance(value, str):
            text = value.strip()
            return [item.strip() for item in text.split(",")] if text else []
        if isinstance(value, list | tuple):
            return [str(item).strip() for item in value]
        raise bad("Expected a comma separated list")
    raise AssertionError(f"unknown config type {type_}")


_WEEK_MS = 7 * 24 * 60 * 60 * 1000
_COMPRESSION_TYPES = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")


def _key(
    name: str,
    type_: str,
    default: Any,
    validator: Validator | None = None,
    *server: str,
    internal: bool = False,
) -> ConfigKey:
    return ConfigKey(name, type_, default, validator, tuple(server), internal)


#: Every topic config Kafka 4.1 defines, in Kafka's order.
CONFIG_KEYS: Final[tuple[ConfigKey, ...]] = (
    _key("segment.bytes", "INT", 1 << 30, Range(1 << 20), "log.segment.bytes"),
    _key("segment.ms", "LONG", _WEEK_MS, Range(1), "log.roll.ms", "log.roll.hours"),
    _key("segment.jitter.ms", "LONG", 0, Range(0), "log.roll.jitter.ms", "log.roll.jitter.hours"),
    _key("segment.index.bytes", "INT", 10 * 1024 * 1024, Range(4), "log.index.size.max.bytes"),
    _key("flush.messages", "LONG", LONG_MAX, Range(1), "log.flush.interval.messages"),
    _key(
        "flush.ms",
        "LONG",
        LONG_MAX,
        Range(0),
        "log.flush.interval.ms",
        "log.flush.scheduler.interval.ms",
    ),
    _key("retention.bytes", "LONG", -1, None, "log.retention.bytes"),
    _key(
        "retention.ms",
        "LONG",
        _WEEK_MS,
        Range(-1),
        "log.retention.ms",
        "log.retention.minutes",
        "log.retention.hours",
    ),
    _key("max.message.bytes", "INT", 1024 * 1024 + 12, Range(0), "message.max.bytes"),
    _key("index.interval.bytes", "INT", 4096, Range(0), "log.index.interval.bytes"),
    _key(
        "delete.retention.ms",
        "LONG",
        24 * 60 * 60 * 1000,
        Range(0),
        "log.cleaner.delete.retention.ms",
    ),
    _key("min.compaction.lag.ms", "LONG", 0, Range(0), "log.cleaner.min.compaction.lag.ms"),
    _key("max.compaction.lag.ms", "LONG", LONG_MAX, Range(1), "log.cleaner.max.compaction.lag.ms"),
    _key("file.delete.delay.ms", "LONG", 60000, Range(0), "log.segment.delete.delay.ms"),
    _key(
        "min.cleanable.dirty.ratio", "DOUBLE", 0.5, Range(0, 1), "log.cleaner.min.cleanable.ratio"
    ),
    _key("cleanup.policy", "LIST", ["delete"], OneOf(("compact", "delete")), "log.cleanup.policy"),
    _key(
        "unclean.leader.election.enable", "BOOLEAN", False, None, "unclean.leader.election.enable"
    ),
    _key("min.insync.replicas", "INT", 1, Range(1), "min.insync.replicas"),
    _key("compression.type", "STRING", "producer", OneOf(_COMPRESSION_TYPES), "compression.type"),
    _key("compression.gzip.level", "INT", -1, Range(1, 9, -1), "compression.gzip.level"),
    _key("compression.lz4.level", "INT", 9, Range(1, 17), "compression.lz4.level"),
    _key("compression.zstd.level", "INT", 3, Range(-131072, 22), "compression.zstd.level"),
    _key("preallocate", "BOOLEAN", False, None, "log.preallocate"),
    _key(
        "message.timestamp.type",
        "STRING",
        "CreateTime",
        OneOf(("CreateTime", "LogAppendTime")),
        "log.message.timestamp.type",
    ),
    _key(
        "message.timestamp.before.max.ms",
        "LONG",
        LONG_MAX,
        Range(0),
        "log.message.timestamp.before.max.ms",
    ),
    _key(
        "message.timestamp.after.max.ms",
        "LONG",
        3600000,
        Range(0),
        "log.message.timestamp.after.max.ms",
    ),
    _key("leader.replication.throttled.replicas", "LIST", [], ThrottledReplicas()),
    _key("follower.replication.throttled.replicas", "LIST", [], ThrottledReplicas()),
    _key("remote.storage.enable", "BOOLEAN", False),
    _key("local.retention.ms", "LONG", -2, Range(-2), "log.local.retention.ms"),
    _key("local.retention.bytes", "LONG", -2, Range(-2), "log.local.retention.bytes"),
    _key("remote.log.copy.disable", "BOOLEAN", False),
    _key("remote.log.delete.on.disable", "BOOLEAN", False),
    _key("internal.segment.bytes", "INT", None, None, internal=True),
)

_BY_NAME: Final[dict[str, ConfigKey]] = {key.name: key for key in CONFIG_KEYS}
_CODECS: Final[dict[str, Compression | None]] = {
    "producer": None,
    "uncompressed": Compression.NONE,
    "gzip": Compression.GZIP,
    "snappy": Compression.SNAPPY,
    "lz4": Compression.LZ4,
    "zstd": Compression.ZSTD,
}


def _field(key: ConfigKey) -> Any:
    default = key.default
    if isinstance(default, list):
        return attrs.field(default=tuple(default), converter=tuple)
    return attrs.field(default=default)


@attrs.frozen(kw_only=True)
class LogConfig:
    """Validated topic configs. Attribute names are Kafka's with dots as underscores.

    Build it with :meth:`from_dict`; ``LogConfig()`` is every default. Keyword construction
    (``LogConfig(retention_ms=1000)``) skips validation and is meant for tests.
    """

    segment_bytes: int = _field(_BY_NAME["segment.bytes"])
    segment_ms: int = _field(_BY_NAME["segment.ms"])
    segment_jitter_ms: int = _field(_BY_NAME["segment.jitter.ms"])
    segment_index_bytes: int = _field(_BY_NAME["segment.index.bytes"])
    flush_messages: int = _field(_BY_NAME["flush.messages"])
    flush_ms: int = _field(_BY_NAME["flush.ms"])
    retention_bytes: int = _field(_BY_NAME["retention.bytes"])
    retention_ms: int = _field(_BY_NAME["retention.ms"])
    max_message_bytes: int = _field(_BY_NAME["max.message.bytes"])
    index_interval_bytes: int = _field(_BY_NAME["index.interval.bytes"])
    delete_retention_ms: int = _field(_BY_NAME["delete.retention.ms"])
    min_compaction_lag_ms: int = _field(_BY_NAME["min.compaction.lag.ms"])
    max_compaction_lag_ms: int = _field(_BY_NAME["max.compaction.lag.ms"])
    file_delete_delay_ms: int = _field(_BY_NAME["file.delete.delay.ms"])
    min_cleanable_dirty_ratio: float = _field(_BY_NAME["min.cleanable.dirty.ratio"])
    cleanup_policy: tuple[str, ...] = _field(_BY_NAME["cleanup.policy"])
    unclean_leader_election_enable: bool = _field(_BY_NAME["unclean.leader.election.enable"])
    min_insync_replicas: int = _field(_BY_NAME["min.insync.replicas"])
    compression_type: str = _field(_BY_NAME["compression.type"])
    compression_gzip_level: int = _field(_BY_NAME["compression.gzip.level"])
    compression_lz4_level: int = _field(_BY_NAME["compression.lz4.level"])
    compression_zstd_level: int = _field(_BY_NAME["compression.zstd.level"])
    preallocate: bool = _field(_BY_NAME["preallocate"])
    message_timestamp_type: str = _field(_BY_NAME["message.timestamp.type"])
    message_timestamp_before_max_ms: int = _field(_BY_NAME["message.timestamp.before.max.ms"])
    message_timestamp_after_max_ms: int = _field(_BY_NAME["message.timestamp.after.max.ms"])
    leader_replication_throttled_replicas: tuple[str, ...] = _field(
        _BY_NAME["leader.replication.throttled.replicas"]
    )
    follower_replication_throttled_replicas: tuple[str, ...] = _field(
        _BY_NAME["follower.replication.throttled.replicas"]
    )
    remote_storage_enable: bool = _field(_BY_NAME["remote.storage.enable"])
    local_retention_ms: int = _field(_BY_NAME["local.retention.ms"])
    local_retention_bytes: int = _field(_BY_NAME["local.retention.bytes"])
    remote_log_copy_disable: bool = _field(_BY_NAME["remote.log.copy.disable"])
    remote_log_delete_on_disable: bool = _field(_BY_NAME["remote.log.delete.on.disable"])
    internal_segment_bytes: int | None = _field(_BY_NAME["internal.segment.bytes"])

    KEYS: ClassVar[tuple[ConfigKey, ...]] = CONFIG_KEYS

    @classmethod
    def from_dict(
        cls, props: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
    ) -> LogConfig:
        """Parse and validate Kafka-named configs; ``defaults`` (e.g. broker-level topic
        defaults, also by topic config name) apply under ``props``.

        Raises :class:`LogConfigError` for an unknown name, a value of the wrong type, a value
        out of range, or conflicting values (``min.compaction.lag.ms`` >
        ``max.compaction.lag.ms``, tiered storage, which rafka does not support).
        """
        values: dict[str, Any] = {}
        for source in (defaults or {}, props):
            for name, raw in source.items():
                key = _BY_NAME.get(name)
                if key is None:
                    raise LogConfigError(f"Unknown topic config name: {name}")
                parsed = key.parse(raw)
                if parsed is None and key.default is not None:
                    raise LogConfigError(f"Invalid value null for configuration {name}")
                values[key.attribute] = tuple(parsed) if isinstance(parsed, list) else parsed
        config = cls(**values)
        config.check_conflicts()
        return config

    def check_conflicts(self) -> None:
        """Cross-field validation, as Kafka's ``LogConfig.validateValues``."""
        if self.min_compaction_lag_ms > self.max_compaction_lag_ms:
            raise LogConfigError(
                f"conflict topic config setting min.compaction.lag.ms "
                f"({self.min_compaction_lag_ms}) > max.compaction.lag.ms "
                f"({self.max_compaction_lag_ms})"
            )
        if self.remote_storage_enable:
            raise LogConfigError("remote.storage.enable=true: rafka has no tiered storage")

    def to_dict(self, *, include_internal: bool = False) -> dict[str, Any]:
        """Every config by Kafka name with its Python value."""
        out: dict[str, Any] = {}
        for key in CONFIG_KEYS:
            if key.internal and not include_internal:
                continue
            value = getattr(self, key.attribute)
            out[key.name] = list(value) if isinstance(value, tuple) else value
        return out

    def with_overrides(self, props: Mapping[str, Any]) -> LogConfig:
        """A new config: these Kafka-named values (validated) over this one's."""
        return LogConfig.from_dict(props, defaults=self.to_dict(include_internal=True))

    @staticmethod
    def key(name: str) -> ConfigKey:
        """The :class:`ConfigKey` of a Kafka config name; :class:`LogConfigError` if unknown."""
        try:
            return _BY_NAME[name]
        except KeyError:
            raise LogConfigError(f"Unknown topic config name: {name}") from None

    @staticmethod
    def is_default(name: str, value: Any) -> bool:
        """Whether ``value`` equals the Kafka default of config ``name``."""
        default = LogConfig.key(name).default
        if isinstance(default, list):
            return list(value) == default
        return bool(value == default)

    # Derived values the engine uses, named after LogConfig's Java accessors.

    @property
    def compact(self) -> bool:
        """``cleanup.policy`` contains ``compact``."""
        return "compact" in self.cleanup_policy

    @property
    def delete(self) -> bool:
        """``cleanup.policy`` contains ``delete`` (time and size retention apply)."""
        return "delete" in self.cleanup_policy

    @property
    def segment_size(self) -> int:
        """Bytes per segment: ``internal.segment.bytes`` when set (tests), else segment.bytes."""
        return self.internal_segment_bytes or self.segment_bytes

    @property
    def max_index_size(self) -> int:
        """``segment.index.bytes``: bounds the entries of each segment's offset and time index."""
        return self.segment_index_bytes

    @property
    def timestamp_type(self) -> TimestampType:
        """``message.timestamp.type`` as a :class:`TimestampType`."""
        if self.message_timestamp_type == "LogAppendTime":
            return TimestampType.LOG_APPEND_TIME
        return TimestampType.CREATE_TIME

    @property
    def target_compression(self) -> Compression | None:
        """The codec batches are stored with, or None to keep the producer's."""
        return _CODECS[self.compression_type]

    def compression_level(self, codec: Compression) -> int | None:
        """The configured level for ``codec`` (None for the codec's default)."""
        if codec == Compression.GZIP:
            return None if self.compression_gzip_level == -1 else self.compression_gzip_level
        if codec == Compression.LZ4:
            return self.compression_lz4_level
        if codec == Compression.ZSTD:
            return self.compression_zstd_level
        return None


def describe_defaults(names: Sequence[str] | None = None) -> dict[str, str | None]:
    """Kafka's default of each (or the named) public topic config, rendered as a string."""
    keys = CONFIG_KEYS if names is None else tuple(LogConfig.key(n) for n in names)
    return {key.name: key.render(key.default) for key in keys if not key.internal}

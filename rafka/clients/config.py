"""Client configuration by Kafka's names, with Kafka's defaults and validation.

Every client takes settings as keyword arguments (``linger_ms=5``) and/or a dict of Kafka's
dotted names (``{"linger.ms": 5}``); both spell the same keys. Unknown names, wrong types and
out-of-range values fail at construction with :class:`rafka.errors.ConfigError`, naming the
setting and what it accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from rafka.errors import ConfigError

__all__ = ["ADMIN_KEYS", "CONSUMER_KEYS", "PRODUCER_KEYS", "ClientConfig", "Key"]

INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1


@attrs.frozen
class Key:
    """One setting: Kafka's name, type, default and accepted values."""

    name: str
    type: str  # int, bool, str, list, float, callable
    default: Any
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] | None = None

    def parse(self, raw: Any) -> Any:
        if raw is None:
            return None
        try:
            value = _convert(self.type, raw)
        except (TypeError, ValueError):
            raise ConfigError(
                f"invalid value {raw!r} for {self.name}: expected {self.type}"
            ) from None
        if self.type == "int" and (
            (self.low is not None and value < self.low)
            or (self.high is not None and value > self.high)
        ):
            raise ConfigError(
                f"invalid value {value} for {self.name}: must be in "
                f"[{self.low if self.low is not None else ''}, "
                f"{self.high if self.high is not None else ''}]"
            )
        if self.choices is not None:
            for item in value if isinstance(value, list) else [value]:
                if str(item).lower() not in self.choices:
                    raise ConfigError(
                        f"invalid value {item!r} for {self.name}: one of {', '.join(self.choices)}"
                    )
        return value


def _convert(type_: str, raw: Any) -> Any:
    if type_ == "int":
        if isinstance(raw, bool):
            raise TypeError
        return int(raw.strip()) if isinstance(raw, str) else int(raw)
    if type_ == "float":
        return float(raw)
    if type_ == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        raise TypeError
    if type_ == "str":
        if isinstance(raw, int) and not isinstance(raw, bool):
            return str(raw)  # acks=1, acks=-1
        if not isinstance(raw, str):
            raise TypeError
        return raw
    if type_ == "list":
        if isinstance(raw, str):
            return [item.strip() for item in raw.split(",") if item.strip()]
        return [str(item) for item in raw]
    if type_ == "callable":
        if not callable(raw):
            raise TypeError
        return raw
    raise ValueError(type_)


_COMMON = (
    Key("bootstrap.servers", "list", None),
    Key("client.id", "str", ""),
    Key("request.timeout.ms", "int", 30000, 0),
    Key("retry.backoff.ms", "int", 100, 0),
    Key("retry.backoff.max.ms", "int", 1000, 0),
    Key("reconnect.backoff.ms", "int", 50, 0),
    Key("reconnect.backoff.max.ms", "int", 1000, 0),
    Key("socket.connection.setup.timeout.ms", "int", 10000, 0),
    Key("connections.max.idle.ms", "int", 540000),
    Key("metadata.max.age.ms", "int", 300000, 0),
)

PRODUCER_KEYS = {
    k.name: k
    for k in (
        *_COMMON,
        Key("acks", "str", "all", choices=("all", "-1", "0", "1")),
        Key("batch.size", "int", 16384, 0),
        Key("linger.ms", "int", 5, 0),
        Key("buffer.memory", "int", 33554432, 0),
        Key("compression.type", "str", "none", choices=("none", "gzip", "snappy", "lz4", "zstd")),
        Key("compression.gzip.level", "int", -1, -1, 9),
        Key("compression.lz4.level", "int", 9, 1, 17),
        Key("compression.zstd.level", "int", 3, -131072, 22),
        Key("retries", "int", INT_MAX, 0),
        Key("delivery.timeout.ms", "int", 120000, 0),
        Key("max.in.flight.requests.per.connection", "int", 5, 1),
        Key("enable.idempotence", "bool", True),
        Key("max.request.size", "int", 1048576, 0),
        Key("max.block.ms", "int", 60000, 0),
        Key("partitioner.ignore.keys", "bool", False),
        Key("transactional.id", "str", None),
        Key("key.serializer", "callable", None),
        Key("value.serializer", "callable", None),
    )
}

CONSUMER_KEYS = {
    k.name: k
    for k in (
        *_COMMON,
        Key("group.id", "str", None),
        Key("group.instance.id", "str", None),
        Key("group.protocol", "str", "classic", choices=("classic", "consumer")),
        Key("group.remote.assignor", "str", None),
        Key("session.timeout.ms", "int", 45000, 0),
        Key("heartbeat.interval.ms", "int", 3000, 0),
        Key("max.poll.interval.ms", "int", 300000, 1),
        Key("max.poll.records", "int", 500, 1),
        Key("default.api.timeout.ms", "int", 60000, 0),
        Key("enable.auto.commit", "bool", True),
        Key("auto.commit.interval.ms", "int", 5000, 0),
        Key("auto.offset.reset", "str", "latest", choices=("latest", "earliest", "none")),
        Key("fetch.min.bytes", "int", 1, 0),
        Key("fetch.max.bytes", "int", 52428800, 0),
        Key("fetch.max.wait.ms", "int", 500, 0),
        Key("max.partition.fetch.bytes", "int", 1048576, 0),
        Key(
            "isolation.level",
            "str",
            "read_uncommitted",
            choices=("read_uncommitted", "read_committed"),
        ),
        Key("partition.assignment.strategy", "list", ["range", "cooperative-sticky"]),
        Key("allow.auto.create.topics", "bool", True),
        Key("check.crcs", "bool", True),
        Key("key.deserializer", "callable", None),
        Key("value.deserializer", "callable", None),
    )
}

ADMIN_KEYS = {k.name: k for k in (*_COMMON, Key("default.api.timeout.ms", "int", 60000, 0))}


class ClientConfig:
    """Parsed settings of one client (a mapping of Kafka names to values)."""

    def __init__(
        self,
        keys: Mapping[str, Key],
        config: Mapping[str, Any] | None,
        kwargs: Mapping[str, Any],
        kind: str,
    ) -> None:
        self._keys = keys
        self._explicit: dict[str, Any] = {}
        merged: dict[str, Any] = dict(config or {})
        for name, value in kwargs.items():
            merged[name.replace("_", ".")] = value
        for name, raw in merged.items():
            key = keys.get(name)
            if key is None:
                raise ConfigError(f"unknown {kind} setting {name!r}" + _suggest(name, keys))
            self._explicit[name] = key.parse(raw)
        self._values = {name: key.default for name, key in keys.items()}
        self._values.update(self._explicit)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def is_set(self, name: str) -> bool:
        return name in self._explicit

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


def _suggest(name: str, keys: Mapping[str, Key]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(keys), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


Serializer = Callable[[Any], bytes | None]

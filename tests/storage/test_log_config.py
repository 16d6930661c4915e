"""Topic configs: Kafka's names, types, defaults and validation messages."""

from __future__ import annotations

import pytest

from rafka import errors
from rafka.protocol.records import Compression, TimestampType
from rafka.storage import CONFIG_KEYS, LogConfig, LogConfigError

# Kafka 4.1.1's LogConfig.configDefCopy(): name, type, default (as Kafka prints it).
KAFKA_4_1 = {
    "segment.bytes": ("INT", "1073741824", "[1048576,...]"),
    "segment.ms": ("LONG", "604800000", "[1,...]"),
    "segment.jitter.ms": ("LONG", "0", "[0,...]"),
    "segment.index.bytes": ("INT", "10485760", "[4,...]"),
    "flush.messages": ("LONG", "9223372036854775807", "[1,...]"),
    "flush.ms": ("LONG", "9223372036854775807", "[0,...]"),
    "retention.bytes": ("LONG", "-1", ""),
    "retention.ms": ("LONG", "604800000", "[-1,...]"),
    "max.message.bytes": ("INT", "1048588", "[0,...]"),
    "index.interval.bytes": ("INT", "4096", "[0,...]"),
    "delete.retention.ms": ("LONG", "86400000", "[0,...]"),
    "min.compaction.lag.ms": ("LONG", "0", "[0,...]"),
    "max.compaction.lag.ms": ("LONG", "9223372036854775807", "[1,...]"),
    "file.delete.delay.ms": ("LONG", "60000", "[0,...]"),
    "min.cleanable.dirty.ratio": ("DOUBLE", "0.5", "[0,...,1]"),
    "cleanup.policy": ("LIST", "delete", "[compact, delete]"),
    "unclean.leader.election.enable": ("BOOLEAN", "false", ""),
    "min.insync.replicas": ("INT", "1", "[1,...]"),
    "compression.type": (
        "STRING",
        "producer",
        "[uncompressed, zstd, lz4, snappy, gzip, producer]",
    ),
    "compression.gzip.level": ("INT", "-1", "[1,...,9] or -1"),
    "compression.lz4.level": ("INT", "9", "[1,...,17]"),
    "compression.zstd.level": ("INT", "3", "[-131072,...,22]"),
    "preallocate": ("BOOLEAN", "false", ""),
    "message.timestamp.type": ("STRING", "CreateTime", "[CreateTime, LogAppendTime]"),
    "message.timestamp.before.max.ms": ("LONG", "9223372036854775807", "[0,...]"),
    "message.timestamp.after.max.ms": ("LONG", "3600000", "[0,...]"),
    "leader.replication.throttled.replicas": (
        "LIST",
        "",
        "[partitionId]:[brokerId],[partitionId]:[brokerId],...",
    ),
    "follower.replication.throttled.replicas": (
        "LIST",
        "",
        "[partitionId]:[brokerId],[partitionId]:[brokerId],...",
    ),
    "remote.storage.enable": ("BOOLEAN", "false", ""),
    "local.retention.ms": ("LONG", "-2", "[-2,...]"),
    "local.retention.bytes": ("LONG", "-2", "[-2,...]"),
    "remote.log.copy.disable": ("BOOLEAN", "false", ""),
    "remote.log.delete.on.disable": ("BOOLEAN", "false", ""),
}


def test_keys_match_kafka() -> None:
    public = {k.name: k for k in CONFIG_KEYS if not k.internal}
    assert list(public) == list(KAFKA_4_1)
    for name, (type_, default, valid) in KAFKA_4_1.items():
        key = public[name]
        assert (key.type, key.render(key.default), key.valid_values) == (type_, default, valid), (
            name
        )
        assert not key.sensitive


def test_defaults() -> None:
    config = LogConfig()
    assert config.segment_size == 1 << 30
    assert config.delete and not config.compact
    assert config.timestamp_type == TimestampType.CREATE_TIME
    assert config.target_compression is None
    assert LogConfig.from_dict({}) == config


def test_parsing() -> None:
    config = LogConfig.from_dict(
        {
            "retention.ms": " 60000 ",
            "cleanup.policy": "compact, delete",
            "preallocate": "TRUE",
            "min.cleanable.dirty.ratio": "0.25",
            "compression.type": "zstd",
            "message.timestamp.type": "LogAppendTime",
            "segment.bytes": 2 << 20,
        }
    )
    assert config.retention_ms == 60000
    assert config.compact and config.delete
    assert config.preallocate is True
    assert config.min_cleanable_dirty_ratio == 0.25
    assert config.target_compression == Compression.ZSTD
    assert config.timestamp_type == TimestampType.LOG_APPEND_TIME
    assert config.to_dict()["cleanup.policy"] == ["compact", "delete"]
    assert LogConfig.from_dict({"cleanup.policy": ""}).cleanup_policy == ()


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"foo.bar": "1"}, "Unknown topic config name: foo.bar"),
        (
            {"retention.ms": "abc"},
            "Invalid value abc for configuration retention.ms: Not a number of type LONG",
        ),
        (
            {"segment.bytes": "100"},
            "Invalid value 100 for configuration segment.bytes: Value must be at least 1048576",
        ),
        (
            {"cleanup.policy": "compact,foo"},
            "Invalid value foo for configuration cleanup.policy: String must be one of: "
            "compact, delete",
        ),
        (
            {"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5"},
            "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)",
        ),
        ({"preallocate": "yes"}, "Expected value to be either true or false"),
        ({"min.cleanable.dirty.ratio": "1.5"}, "Value must be between 0 and 1"),
        ({"max.message.bytes": str(1 << 31)}, "Not a number of type INT"),
        ({"leader.replication.throttled.replicas": "0:1,x"}, "[partitionId]:[brokerId]"),
    ],
)
def test_invalid(props: dict[str, str], message: str) -> None:
    with pytest.raises(LogConfigError) as excinfo:
        LogConfig.from_dict(props)
    assert message in str(excinfo.value)
    assert isinstance(excinfo.value, errors.InvalidConfigError)
    assert isinstance(excinfo.value, errors.ConfigError)
    assert excinfo.value.code == 40


def test_overrides_and_internal_segment_bytes() -> None:
    base = LogConfig.from_dict({"retention.ms": "5"})
    changed = base.with_overrides({"internal.segment.bytes": "1000"})
    assert (changed.retention_ms, changed.segment_size, changed.segment_bytes) == (5, 1000, 1 << 30)
    assert "internal.segment.bytes" not in changed.to_dict()

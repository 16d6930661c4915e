"""Partition logs in memory and on disk (Kafka's file format), recovery, retention, compaction.

The storage engine knows record batches, never API messages. Start from :class:`PartitionLog`
(the interface), :class:`MemoryLog` and :class:`DiskLog` (its two backends), :class:`LogManager`
(a log directory) and :class:`LogConfig` (topic configs by Kafka's names). Everything is
synchronous and sans-async; time comes from a :class:`Clock`.
"""

from __future__ import annotations

from rafka.storage.append import AppendInfo, AppendOrigin
from rafka.storage.cleaner import CleanResult, clean_log
from rafka.storage.clock import Clock, ManualClock, SystemClock
from rafka.storage.disk_log import DiskLog
from rafka.storage.errors import (
    LogClosedError,
    OffsetsOutOfOrderError,
    UnexpectedAppendOffsetError,
)
from rafka.storage.leader_epoch_cache import LeaderEpochCache
from rafka.storage.log import (
    EARLIEST_LOCAL_TIMESTAMP,
    EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP,
    MAX_TIMESTAMP,
    FetchDataInfo,
    FlushPlan,
    PartitionLog,
)
from rafka.storage.log_config import CONFIG_KEYS, ConfigKey, LogConfig, LogConfigError
from rafka.storage.log_manager import LogManager
from rafka.storage.memory_log import MemoryLog
from rafka.storage.producer_state import ProducerStateEntry, ProducerStateManager
from rafka.storage.segment import TimestampAndOffset
from rafka.storage.transaction_index import AbortedTxn

__all__ = [
    "CONFIG_KEYS",
    "EARLIEST_LOCAL_TIMESTAMP",
    "EARLIEST_TIMESTAMP",
    "LATEST_TIMESTAMP",
    "MAX_TIMESTAMP",
    "AbortedTxn",
    "AppendInfo",
    "AppendOrigin",
    "CleanResult",
    "Clock",
    "ConfigKey",
    "DiskLog",
    "FetchDataInfo",
    "FlushPlan",
    "LeaderEpochCache",
    "LogClosedError",
    "LogConfig",
    "LogConfigError",
    "LogManager",
    "ManualClock",
    "MemoryLog",
    "OffsetsOutOfOrderError",
    "PartitionLog",
    "ProducerStateEntry",
    "ProducerStateManager",
    "SystemClock",
    "TimestampAndOffset",
    "UnexpectedAppendOffsetError",
    "clean_log",
]

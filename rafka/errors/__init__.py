"""Typed errors. Every Kafka error code has a class here carrying its code and name.

>>> from rafka import errors
>>> errors.for_code(3).__name__
'UnknownTopicOrPartitionError'
"""

from __future__ import annotations

from rafka.errors._base import (
    ClientClosedError,
    ClientTimeoutError,
    CommitFailedError,
    ConfigError,
    DecodeError,
    EncodeError,
    IllegalStateError,
    KafkaError,
    NoOffsetForPartitionError,
    RafkaError,
)
from rafka.errors._codes import *  # noqa: F403  (one generated class per Kafka error code)
from rafka.errors._codes import ERRORS_BY_CODE, for_code

__all__ = [  # noqa: RUF022
    "RafkaError",
    "KafkaError",
    "DecodeError",
    "EncodeError",
    "ConfigError",
    "ClientTimeoutError",
    "ClientClosedError",
    "CommitFailedError",
    "IllegalStateError",
    "NoOffsetForPartitionError",
    "ERRORS_BY_CODE",
    "for_code",
]

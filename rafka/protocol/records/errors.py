"""Errors raised while reading record batches.

Every error here is a :class:`~rafka.errors._base.DecodeError`, so code that only cares whether
bytes could be read catches that one class. The broker maps the subclasses to Kafka error codes with
their ``kafka_error_code`` (Kafka's ``CORRUPT_MESSAGE`` and ``INVALID_RECORD``).
"""

from __future__ import annotations

from typing import ClassVar

from rafka.errors._base import DecodeError

__all__ = ["CorruptRecordError", "DecompressionError", "InvalidRecordError"]


class CorruptRecordError(DecodeError):
    """A batch's bytes are damaged: its CRC does not match, or its payload cannot be decompressed.

    Kafka answers a produce request carrying such a batch with ``CORRUPT_MESSAGE`` (code 2).
    """

    kafka_error_code: ClassVar[int] = 2


class DecompressionError(CorruptRecordError):
    """A compressed payload is not a valid stream of its codec, is truncated, or is too large."""


class InvalidRecordError(DecodeError):
    """A batch is intact but its records break the format's rules.

    For example: offset deltas that are not ``0..n-1``, a record count that does not match the
    records, record lengths that do not fill the batch exactly, or a null key on a compacted topic.
    Kafka answers a produce request carrying such a batch with ``INVALID_RECORD`` (code 87).
    """

    kafka_error_code: ClassVar[int] = 87

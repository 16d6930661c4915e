"""Errors that only the storage engine raises.

Everything a client can cause is one of :mod:`rafka.errors`' per-code classes (CORRUPT_MESSAGE,
INVALID_RECORD, OUT_OF_ORDER_SEQUENCE_NUMBER, ...). The classes here are about the log's own
state: a replica append that does not continue the log, or a log that was closed or deleted. Kafka
answers both with UNKNOWN_SERVER_ERROR or KAFKA_STORAGE_ERROR, so they subclass those.
"""

from __future__ import annotations

from rafka.errors import KafkaStorageError, RafkaError, UnknownServerError

__all__ = [
    "CorruptIndexError",
    "LogClosedError",
    "OffsetsOutOfOrderError",
    "UnexpectedAppendOffsetError",
]


class UnexpectedAppendOffsetError(UnknownServerError):
    """A replicated append starts below the log end offset (Kafka's UnexpectedAppendOffset).

    A follower that sees this truncates to ``first_offset`` and retries.
    """

    def __init__(self, message: str, first_offset: int, last_offset: int) -> None:
        super().__init__(message)
        self.first_offset = first_offset
        self.last_offset = last_offset

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.first_offset, self.last_offset))


class OffsetsOutOfOrderError(UnknownServerError):
    """The batches of a replicated append do not have increasing offsets."""


class LogClosedError(KafkaStorageError):
    """The log was closed or deleted; nothing can be read from or written to it any more."""


class CorruptIndexError(RafkaError):
    """An index or snapshot file is malformed; the log rebuilds it from the segment data."""

"""The decoded record, and the timestamp types of Kafka's record formats."""

from __future__ import annotations

import enum

import attrs

__all__ = ["Header", "Record", "TimestampType"]

#: One record header: a UTF-8 key and a nullable value.
Header = tuple[str, bytes | None]


class TimestampType(enum.IntEnum):
    """What a record's timestamp means (attribute bit 3 of a v1 message or v2 batch)."""

    #: Magic v0 messages carry no timestamp.
    NO_TIMESTAMP_TYPE = -1
    #: The producer set the timestamp when it created the record.
    CREATE_TIME = 0
    #: The broker set the timestamp when it appended the batch to the log.
    LOG_APPEND_TIME = 1


@attrs.frozen(slots=True)
class Record:
    """One record read from a batch, with absolute offset and timestamp.

    ``timestamp`` is -1 for magic v0 messages, which have none. Under ``LOG_APPEND_TIME`` it is the
    broker's append time taken from the batch, as Kafka's readers report it.
    """

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()

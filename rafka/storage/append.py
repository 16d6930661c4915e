"""What an append is told (its origin) and what it answers (:class:`AppendInfo`)."""

from __future__ import annotations

import enum
from typing import NamedTuple

import attrs

from rafka.protocol.records import BatchHeader

__all__ = ["AppendInfo", "AppendOrigin", "BatchInfo"]


class AppendOrigin(enum.Enum):
    """Who wrote the batches; decides validation, offset assignment and producer checks.

    CLIENT       a producer: full validation, offsets assigned, sequence numbers checked,
                 duplicates answered with the original offsets, no control batches
    COORDINATOR  a group or transaction coordinator: as CLIENT, but control batches
                 (transaction markers) are allowed and sequences are not checked
    REPLICATION  a follower copying the leader: offsets kept, only CRCs and offset order
                 checked, producer state followed without rejecting anything
    """

    CLIENT = "client"
    COORDINATOR = "coordinator"
    REPLICATION = "replication"


class BatchInfo(NamedTuple):
    """The header fields of one validated, offset-assigned batch."""

    position: int
    size: int
    base_offset: int
    last_offset: int
    max_timestamp: int
    partition_leader_epoch: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    last_sequence: int
    is_transactional: bool
    is_control: bool
    records_count: int

    @classmethod
    def from_header(cls, position: int, header: BatchHeader) -> BatchInfo:
        """The info of a stored batch, from its header."""
        return cls(
            position,
            header.batch_length + 12,
            header.base_offset,
            header.base_offset + header.last_offset_delta,
            header.max_timestamp,
            header.partition_leader_epoch,
            header.producer_id,
            header.producer_epoch,
            header.base_sequence,
            header.last_sequence,
            header.is_transactional,
            header.is_control,
            header.records_count,
        )


@attrs.frozen
class AppendInfo:
    """The result of an append.

    For a duplicate of a recent idempotent batch nothing is written and ``first_offset`` /
    ``last_offset`` are those the original batch got (``duplicate`` is True).
    """

    #: Offset of the first record appended.
    first_offset: int
    #: Offset of the last record appended.
    last_offset: int
    #: Largest record timestamp appended (the append time under LogAppendTime), -1 if none.
    max_timestamp: int
    #: Last offset of the first batch carrying ``max_timestamp``.
    offset_of_max_timestamp: int
    #: The broker time stamped on the batches under LogAppendTime, else -1.
    log_append_time: int
    #: The log start offset after the append.
    log_start_offset: int
    #: Number of records appended.
    records_count: int
    #: Bytes appended.
    size: int
    #: The batch was a retry of one already in the log; nothing was written.
    duplicate: bool = False
    #: The flush policy (flush.messages) or a segment roll asks the owner to call ``flush()``.
    flush_needed: bool = False

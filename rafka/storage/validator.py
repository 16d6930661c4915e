"""Validation of appended batches and offset assignment (Kafka's LogValidator, magic v2 only).

Client and coordinator appends (one v2 batch, as produce v3+ requires), checks in Kafka's order:

    no whole batch / magic 0 or 1 / more than one batch          INVALID_RECORD
    size field below 14, or magic above 2                        CORRUPT_MESSAGE
    baseOffset != 0                                              INVALID_RECORD
    batch larger than max.message.bytes                          MESSAGE_TOO_LARGE
    CRC-32C mismatch, or batchLength below the header            CORRUPT_MESSAGE
    recordsCount <= 0 or != lastOffsetDelta + 1                  INVALID_RECORD
    control batch from a client                                  INVALID_RECORD
    producer id with a negative base sequence (client)           INVALID_RECORD
    record walk: lengths, offset deltas 0..n-1, trailing bytes   INVALID_RECORD
    per record, in order (decoding the batch only when the walk
    found a suspect record), every record at fault reported as
    Kafka's record_errors:
      null key on a compacted topic                              INVALID_RECORD
      timestamp outside message.timestamp.{before,after}.max.ms  INVALID_TIMESTAMP
      producer-set LogAppendTime                                 INVALID_TIMESTAMP
    batch larger than segment.bytes                              RECORD_LIST_TOO_LARGE

The records are walked structurally (:func:`rafka.protocol.records.walk_records`), never decoded,
unless the topic's ``compression.type`` differs from the batch's codec: then they are decoded and
re-encoded with the topic's codec. Offsets are assigned by patching the 61-byte header only
(baseOffset, partitionLeaderEpoch, and for LogAppendTime or a wrong maxTimestamp the timestamp
and CRC); the records section is passed on as a view of the input, never copied.

Replicated appends keep their offsets; each batch's header and CRC are checked and offsets must
increase. Nothing here touches the log: errors leave it unchanged.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from functools import partial
from typing import Protocol

import attrs

from rafka import errors
from rafka.errors import DecodeError
from rafka.protocol.records import (
    BATCH_HEADER_SIZE,
    BatchHeader,
    Compression,
    Record,
    RecordBatch,
    RecordBatchBuilder,
    TimestampType,
    WalkResult,
    iter_batch_positions,
    verify_crc,
    walk_records,
)
from rafka.protocol.records import InvalidRecordError as _InvalidRecord
from rafka.protocol.records._crc import crc32c
from rafka.storage.append import AppendOrigin, BatchInfo
from rafka.storage.errors import OffsetsOutOfOrderError
from rafka.storage.log_config import LogConfig

__all__ = ["ValidatedAppend", "WriteAhead", "translate_decode_error", "validate_append"]

Buffer = bytes | bytearray | memoryview

_PREFIX = struct.Struct(">qiib")  # baseOffset, batchLength, partitionLeaderEpoch, magic
_TAIL = struct.Struct(">IhiqqqhiI")  # crc .. recordsCount (without the magic)
_ATTR_LOG_APPEND_TIME = 0x08
_LONG_MAX = (1 << 63) - 1


@attrs.frozen
class ValidatedAppend:
    """Batches ready to be written: the bytes (as parts) and what the log needs to know."""

    parts: list[Buffer]
    batches: list[BatchInfo]
    size: int
    max_timestamp: int
    offset_of_max_timestamp: int
    log_append_time: int
    records_count: int

    @property
    def first_offset(self) -> int:
        """Offset of the first record."""
        return self.batches[0].base_offset

    @property
    def last_offset(self) -> int:
        """Offset of the last record."""
        return self.batches[-1].last_offset


def translate_decode_error(exc: DecodeError) -> errors.KafkaError:
    """The Kafka error a produce request gets for a decode failure of its records."""
    if isinstance(exc, _InvalidRecord):
        return errors.InvalidRecordError(str(exc))
    return errors.CorruptMessageError(str(exc))


def _positions(buf: Buffer) -> list[tuple[int, int, int]]:
    try:
        return list(iter_batch_positions(buf))
    except DecodeError as exc:
        raise translate_decode_error(exc) from None


class WriteAhead(Protocol):
    """Runs a batch's checks while its records section is written (see ``validate_append``)."""

    def __call__(self, checks: Callable[[], WalkResult], body: memoryview) -> WalkResult:
        """Write ``body`` (the bytes after the 61-byte header) ahead, run ``checks`` meanwhile,
        and return their result (or raise their error)."""
        ...


def validate_append(
    buf: Buffer,
    *,
    origin: AppendOrigin,
    config: LogConfig,
    now_ms: int,
    next_offset: int,
    leader_epoch: int,
    partition_name: str = "",
    write_ahead: WriteAhead | None = None,
) -> ValidatedAppend:
    """Validate ``buf`` for an append at ``next_offset`` (see the module docstring).
    ``partition_name`` (``topic-partition``) appears in per-record error messages.

    With ``write_ahead``, a client or coordinator batch that is stored with its own records
    (not recompressed) has its CRC and records checked by ``write_ahead`` while it writes them;
    the records section in the returned ``parts`` is the very view it was given.
    """
    if origin == AppendOrigin.REPLICATION:
        return _validate_replicated(buf)
    return _validate_leader(
        buf, origin, config, now_ms, next_offset, leader_epoch, partition_name, write_ahead
    )


def _validate_leader(
    buf: Buffer,
    origin: AppendOrigin,
    config: LogConfig,
    now_ms: int,
    next_offset: int,
    leader_epoch: int,
    partition_name: str,
    write_ahead: WriteAhead | None,
) -> ValidatedAppend:
    positions = _positions(buf)
    if not positions:
        raise errors.InvalidRecordError("the append holds no whole record batch")
    if any(magic != 2 for _, _, magic in positions):
        raise errors.InvalidRecordError("only magic v2 record batches can be appended")
    start, size, _ = positions[0]
    try:
        header = BatchHeader.parse(buf, start)
    except DecodeError as exc:
        raise translate_decode_error(exc) from None
    if header.base_offset != 0:
        raise errors.InvalidRecordError(
            f"baseOffset of a produced batch must be 0, not {header.base_offset}"
        )
    if size > config.max_message_bytes:
        raise errors.MessageTooLargeError(
            f"the record batch is {size} bytes, more than max.message.bytes "
            f"({config.max_message_bytes})"
        )
    target = config.target_compression
    source = header.compression
    keep_codec = header.is_control and source == Compression.NONE
    recompress = target is not None and target != source and not keep_codec
    body = memoryview(buf)[start + BATCH_HEADER_SIZE : start + size]
    checks = partial(_check_batch, buf, start, header, len(positions), origin)
    walk = checks() if write_ahead is None or recompress else write_ahead(checks, body)
    null_key = config.compact and walk.has_null_key and not header.is_control
    if null_key or _timestamps_suspect(
        header, walk.min_timestamp, walk.max_timestamp, config, now_ms
    ):
        _check_records(buf, start, header, config, now_ms, partition_name)
    if size > config.segment_size:
        raise errors.RecordListTooLargeError(
            f"the record batch is {size} bytes, more than segment.bytes ({config.segment_size})"
        )

    if recompress:
        assert target is not None
        rebuilt = _recompress(buf, start, header, target, config)
        plain = _without_recompression(config)
        return _validate_leader(
            rebuilt, origin, plain, now_ms, next_offset, leader_epoch, partition_name, None
        )

    log_append = config.timestamp_type == TimestampType.LOG_APPEND_TIME
    max_timestamp = now_ms if log_append else walk.max_timestamp
    attributes = header.attributes & ~_ATTR_LOG_APPEND_TIME
    if log_append:
        attributes |= _ATTR_LOG_APPEND_TIME
    head = bytearray(memoryview(buf)[start : start + BATCH_HEADER_SIZE])
    _PREFIX.pack_into(head, 0, next_offset, header.batch_length, leader_epoch, 2)
    if attributes != header.attributes or max_timestamp != header.max_timestamp:
        struct.pack_into(">h", head, 21, attributes)
        struct.pack_into(">q", head, 35, max_timestamp)
        struct.pack_into(">I", head, 17, crc32c(body, crc32c(memoryview(head)[21:])))
    last_offset = next_offset + header.last_offset_delta
    info = BatchInfo(
        0,
        size,
        next_offset,
        last_offset,
        max_timestamp,
        leader_epoch,
        header.producer_id,
        header.producer_epoch,
        header.base_sequence,
        header.last_sequence,
        header.is_transactional,
        header.is_control,
        header.records_count,
    )
    return ValidatedAppend(
        [bytes(head), body],
        [info],
        size,
        max_timestamp,
        last_offset,
        now_ms if log_append else -1,
        header.records_count,
    )


def _check_batch(
    buf: Buffer, start: int, header: BatchHeader, batches: int, origin: AppendOrigin
) -> WalkResult:
    """The checks from the CRC to the record walk, in Kafka's order (the expensive part of a
    validation: it may run on a side thread, see ``WriteAhead``)."""
    try:
        verify_crc(buf, start)
    except DecodeError as exc:
        raise errors.CorruptMessageError(str(exc)) from None
    if batches > 1:
        raise errors.InvalidRecordError("a produce append must hold exactly one record batch")
    count = header.records_count
    if count <= 0:
        raise errors.InvalidRecordError(f"invalid reported record count {count}")
    if header.last_offset_delta + 1 != count:
        raise errors.InvalidRecordError(
            f"inconsistent batch offset range [0, {header.last_offset_delta}] and record count "
            f"{count}"
        )
    if header.is_control and origin == AppendOrigin.CLIENT:
        raise errors.InvalidRecordError("clients may not write control records")
    if origin == AppendOrigin.CLIENT and header.producer_id >= 0 and header.base_sequence < 0:
        raise errors.InvalidRecordError(
            f"invalid sequence number {header.base_sequence} for producer {header.producer_id}"
        )
    try:
        # Kafka checks an uncompressed batch's record count against its header only: the
        # records' own offset deltas are stored as sent. A compressed batch whose inner
        # offsets are not 0..n-1 Kafka means to rebuild, but 4.1 fails doing so (its
        # validation iterator skipped the keys: UNKNOWN_SERVER_ERROR); rafka refuses it with
        # INVALID_RECORD.
        return walk_records(buf, start, check_offset_deltas=header.compression != Compression.NONE)
    except DecodeError as exc:
        raise translate_decode_error(exc) from None


def _timestamps_suspect(
    header: BatchHeader, min_ts: int, max_ts: int, config: LogConfig, now_ms: int
) -> bool:
    """Whether a record's timestamp may be rejected (cheap, from the structural walk): then the
    records are looked at one by one."""
    if header.attributes & _ATTR_LOG_APPEND_TIME:
        return True  # producers may not choose LogAppendTime
    if config.timestamp_type != TimestampType.CREATE_TIME or max_ts == -1:
        return False
    before, after = config.message_timestamp_before_max_ms, config.message_timestamp_after_max_ms
    if max_ts - now_ms > after:
        return True
    # records without a timestamp (-1) are exempt, so a -1 minimum says nothing
    return before < _LONG_MAX and (min_ts < 0 or now_ms - min_ts > before)


def _check_records(
    buf: Buffer,
    start: int,
    header: BatchHeader,
    config: LogConfig,
    now_ms: int,
    partition_name: str,
) -> None:
    """Kafka's per-record checks (a key on a compacted topic, then the timestamp), raising with
    every record at fault as Kafka's ``RecordValidationException`` does. Decodes the batch: it
    runs only when the structural walk found a suspect record."""
    create_time = config.timestamp_type == TimestampType.CREATE_TIME
    log_append_batch = bool(header.attributes & _ATTR_LOG_APPEND_TIME)
    before, after = config.message_timestamp_before_max_ms, config.message_timestamp_after_max_ms
    low, high = now_ms - before, now_ms + after
    found: list[tuple[int, str | None]] = []
    any_timestamp = False
    for index, record in enumerate(RecordBatch(buf, start).records()):
        if config.compact and record.key is None and not header.is_control:
            found.append(
                (
                    index,
                    "Compacted topic cannot accept message without key in topic partition "
                    f"{partition_name}",
                )
            )
        elif create_time and record.timestamp != -1:
            if now_ms - record.timestamp > before or record.timestamp - now_ms > after:
                any_timestamp = True
                found.append(
                    (
                        index,
                        f"Timestamp {record.timestamp} of message with offset {record.offset} is "
                        f"out of range. The timestamp should be within [{low}, {high}]",
                    )
                )
        elif log_append_batch:
            any_timestamp = True
            found.append(
                (
                    index,
                    f"Invalid timestamp type in message {_describe(record)}. Producer should "
                    "not set timestamp type to LogAppendTime.",
                )
            )
    if not found:
        return
    if any_timestamp:
        raise errors.InvalidTimestampError(
            "One or more records have been rejected due to invalid timestamp"
        ).with_record_errors(found)
    shown = ", ".join(
        f"RecordError(batchIndex={i}, message={'null' if m is None else _java_quoted(m)})"
        for i, m in found[:3]
    )
    raise errors.InvalidRecordError(
        f"One or more records have been rejected due to {len(found)} record errors in total, "
        f"and only showing the first three errors at most: [{shown}]"
    ).with_record_errors(found)


def _java_quoted(message: str) -> str:
    return f"'{message}'"


def _describe(record: Record) -> str:
    """A record as Java's ``DefaultRecord.toString`` prints it."""
    key = 0 if record.key is None else len(record.key)
    value = 0 if record.value is None else len(record.value)
    return (
        f"DefaultRecord(offset={record.offset}, timestamp={record.timestamp}, key={key} bytes, "
        f"value={value} bytes)"
    )


def _without_recompression(config: LogConfig) -> LogConfig:
    return attrs.evolve(config, compression_type="producer")


def _recompress(
    buf: Buffer,
    start: int,
    header: BatchHeader,
    target: Compression,
    config: LogConfig,
) -> bytes:
    """Re-encode the batch at ``start`` with ``target`` (the topic's compression.type)."""
    builder = RecordBatchBuilder(
        compression=target,
        timestamp_type=header.timestamp_type,
        producer_id=header.producer_id,
        producer_epoch=header.producer_epoch,
        base_sequence=header.base_sequence,
        is_transactional=header.is_transactional,
        is_control=header.is_control,
        compression_level=config.compression_level(target),
        log_append_time=header.max_timestamp if header.attributes & _ATTR_LOG_APPEND_TIME else None,
    )
    for record in RecordBatch(buf, start).records():
        builder.append(record.timestamp, record.key, record.value, record.headers)
    return builder.build()


def _validate_replicated(buf: Buffer) -> ValidatedAppend:
    positions = _positions(buf)
    batches: list[BatchInfo] = []
    max_timestamp, offset_of_max, count, last_offset = -1, -1, 0, -1
    for start, _size, magic in positions:
        if magic != 2:
            raise errors.InvalidRecordError("only magic v2 record batches can be stored")
        try:
            header = BatchHeader.parse(buf, start)
            verify_crc(buf, start)
        except DecodeError as exc:
            raise translate_decode_error(exc) from None
        last = header.base_offset + header.last_offset_delta
        if header.last_offset_delta < 0 or header.base_offset <= last_offset:
            raise OffsetsOutOfOrderError(
                f"replicated batch offsets [{header.base_offset}, {last}] do not follow "
                f"{last_offset}"
            )
        last_offset = last
        if header.max_timestamp > max_timestamp:
            max_timestamp, offset_of_max = header.max_timestamp, last
        count += header.records_count
        batches.append(BatchInfo.from_header(start, header))
    total = positions[-1][0] + positions[-1][1] if positions else 0
    return ValidatedAppend(
        [memoryview(buf)[:total]] if total else [],
        batches,
        total,
        max_timestamp,
        offset_of_max,
        -1,
        count,
    )


def iter_batch_infos(buf: Buffer) -> Iterator[BatchInfo]:
    """Header summaries of every whole batch in ``buf`` (no validation)."""
    for start, _size, _ in iter_batch_positions(buf):
        yield BatchInfo.from_header(start, BatchHeader.parse(buf, start))

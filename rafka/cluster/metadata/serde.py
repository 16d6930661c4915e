"""KRaft metadata records inside record batches, framed as Kafka frames them.

Each record's value in the ``__cluster_metadata`` log is::

    unsigned varint  frame version (1)
    unsigned varint  record type (the metadata schema's apiKey)
    unsigned varint  record version
    ...              the record, encoded at that version

so Apache Kafka's ``kafka-dump-log --cluster-metadata-decoder`` reads rafka's metadata log.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rafka.errors import DecodeError
from rafka.protocol._codec import r_uvarint, w_uvarint
from rafka.protocol._message import Message
from rafka.protocol.records import RecordBatchBuilder, read_batches
from rafka.protocol.schemas.metadata import BY_API_KEY

__all__ = ["FRAME_VERSION", "decode_records", "encode_batch", "encode_record"]

FRAME_VERSION = 1


def encode_record(record: Message) -> bytes:
    """One metadata record as the value of a log record, at the record's newest version."""
    out = bytearray()
    w_uvarint(out, FRAME_VERSION)
    w_uvarint(out, record.API_KEY)  # type: ignore[attr-defined]
    w_uvarint(out, record.MAX_VERSION)
    record.encode_into(out, record.MAX_VERSION)
    return bytes(out)


def decode_record(value: bytes) -> Message:
    frame, pos = r_uvarint(value, 0)
    if frame != FRAME_VERSION:
        raise DecodeError(f"unknown metadata record frame version {frame}")
    api_key, pos = r_uvarint(value, pos)
    version, pos = r_uvarint(value, pos)
    cls = BY_API_KEY.get(("metadata", api_key))
    if cls is None:
        raise DecodeError(f"unknown metadata record type {api_key}")
    message, _end = cls.decode_from(value, pos, version)
    return message


def encode_batch(records: Iterable[Message], timestamp: int, leader_epoch: int) -> bytes:
    builder = RecordBatchBuilder(partition_leader_epoch=leader_epoch)
    for record in records:
        builder.append(timestamp, None, encode_record(record))
    return builder.build()


def decode_records(batches: bytes | memoryview) -> Iterator[Message]:
    """Every metadata record in a concatenation of batches (control batches skipped)."""
    for batch in read_batches(batches):
        if getattr(batch, "is_control", False):
            continue
        for record in batch.records():
            if record.value is not None:
                yield decode_record(record.value)

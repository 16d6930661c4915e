"""Kafka record batches: magic v2 batches, legacy v0/v1 message sets, and their compression.

Sans-I/O and pure Python. The broker's hot path uses the header-only tools (:class:`BatchHeader`,
:func:`verify_crc`, :func:`patch_base_offset`, :func:`walk_records`, ...) and moves batches as
bytes; clients build batches with :class:`RecordBatchBuilder` and read them lazily with
:func:`read_batches`. Compression libraries load on first use.
"""

from __future__ import annotations

from rafka.protocol.records.batch_header import (
    BATCH_HEADER_SIZE,
    LOG_OVERHEAD,
    BatchHeader,
    compute_crc,
    increment_sequence,
    iter_batch_positions,
    patch_base_offset,
    patch_partition_leader_epoch,
    set_log_append_time,
    set_max_timestamp,
    verify_crc,
)
from rafka.protocol.records.builder import RecordBatchBuilder, encode_batch, estimate_record_size
from rafka.protocol.records.compression import (
    DEFAULT_MAX_DECOMPRESSED_SIZE,
    Compression,
    compress,
    decompress,
)
from rafka.protocol.records.control import (
    ControlRecord,
    ControlRecordType,
    EndTxnMarker,
    build_control_batch,
    build_end_txn_marker_batch,
    encode_control_key,
    encode_end_txn_marker,
    parse_control_key,
    parse_control_record,
    parse_end_txn_marker,
)
from rafka.protocol.records.default_records import RecordBatch, decode_records
from rafka.protocol.records.errors import (
    CorruptRecordError,
    DecompressionError,
    InvalidRecordError,
)
from rafka.protocol.records.legacy_records import LegacyBatch, LegacyBatchBuilder, encode_legacy
from rafka.protocol.records.reader import AnyBatch, read_batches
from rafka.protocol.records.record import Header, Record, TimestampType
from rafka.protocol.records.walk import WalkResult, walk_records

__all__ = [
    "BATCH_HEADER_SIZE",
    "DEFAULT_MAX_DECOMPRESSED_SIZE",
    "LOG_OVERHEAD",
    "AnyBatch",
    "BatchHeader",
    "Compression",
    "ControlRecord",
    "ControlRecordType",
    "CorruptRecordError",
    "DecompressionError",
    "EndTxnMarker",
    "Header",
    "InvalidRecordError",
    "LegacyBatch",
    "LegacyBatchBuilder",
    "Record",
    "RecordBatch",
    "RecordBatchBuilder",
    "TimestampType",
    "WalkResult",
    "build_control_batch",
    "build_end_txn_marker_batch",
    "compress",
    "compute_crc",
    "decode_records",
    "decompress",
    "encode_batch",
    "encode_control_key",
    "encode_end_txn_marker",
    "encode_legacy",
    "estimate_record_size",
    "increment_sequence",
    "iter_batch_positions",
    "parse_control_key",
    "parse_control_record",
    "parse_end_txn_marker",
    "patch_base_offset",
    "patch_partition_leader_epoch",
    "read_batches",
    "set_log_append_time",
    "set_max_timestamp",
    "verify_crc",
    "walk_records",
]

"""Record batch encode/decode throughput: rafka against kafka-python, measured in the same run.

Each row encodes or decodes one v2 batch of 1,000 records with 100-byte values, no key and no
headers, uncompressed and with lz4: rafka's ``RecordBatchBuilder`` and ``RecordBatch`` against
kafka-python's ``DefaultRecordBatchBuilder`` and ``DefaultRecordBatch``. Both readers read the
same bytes. Throughput is the best of several ``timeit`` repeats, in records per second.

Run: ``python benchmarks/bench_records.py``.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

from benchmarks._util import print_table, row
from rafka.protocol.records import Compression, RecordBatch, RecordBatchBuilder

RECORDS = 1000
VALUE = bytes(range(100))
BASE_TIMESTAMP = 1_700_000_000_000
REPEAT = 7


def _best_rate(func: Callable[[], object], records: int = RECORDS) -> float:
    """Records per second of ``func`` (which handles ``records`` records), best of REPEAT."""
    func()  # warm up: lazy imports, caches
    number = 1
    while timeit.timeit(func, number=number) < 0.05:
        number *= 2
    best = min(timeit.repeat(func, number=number, repeat=REPEAT)) / number
    return records / best


def _rafka_encode(codec: Compression) -> Callable[[], bytes]:
    def encode() -> bytes:
        builder = RecordBatchBuilder(compression=codec)
        append = builder.append
        for i in range(RECORDS):
            append(BASE_TIMESTAMP + i, None, VALUE)
        return builder.build()

    return encode


def _kafka_python_encode(codec: Compression) -> Callable[[], Any]:
    from kafka.record.default_records import DefaultRecordBatchBuilder

    def encode() -> Any:
        builder = DefaultRecordBatchBuilder(
            magic=2,
            compression_type=int(codec),
            is_transactional=False,
            producer_id=-1,
            producer_epoch=-1,
            base_sequence=-1,
            batch_size=1 << 30,
        )
        append = builder.append
        for i in range(RECORDS):
            append(i, timestamp=BASE_TIMESTAMP + i, key=None, value=VALUE, headers=[])
        return builder.build()

    return encode


def _rafka_decode(data: bytes) -> Callable[[], object]:
    def decode() -> object:
        return RecordBatch(data).records()

    return decode


def _kafka_python_decode(data: bytes) -> Callable[[], object]:
    from kafka.record.default_records import DefaultRecordBatch

    def decode() -> object:
        return list(DefaultRecordBatch(data))

    return decode


def run() -> list[dict[str, Any]]:
    """Measure every row: rafka and kafka-python records/s and their ratio."""
    rows: list[dict[str, Any]] = []
    for codec in (Compression.NONE, Compression.LZ4):
        label = codec.name.lower()
        data = bytes(_kafka_python_encode(codec)())
        assert RecordBatch(data).records() == RecordBatch(_rafka_encode(codec)()).records()
        pairs = [
            (f"encode {label}", _rafka_encode(codec), _kafka_python_encode(codec)),
            (f"decode {label}", _rafka_decode(data), _kafka_python_decode(data)),
        ]
        for name, ours, theirs in pairs:
            rows.append(
                row(
                    f"record batch {name} ({RECORDS} x {len(VALUE)} B)",
                    "records/s",
                    _best_rate(ours),
                    _best_rate(theirs),
                    "kafka-python",
                )
            )
    return rows


if __name__ == "__main__":
    print_table("Record batches", run())

"""Reading every batch of a blob that may mix record formats (a fetch response, a log segment).

Layout: batches follow one another with no separator; each opens with ``offset int64,
size int32`` and has its magic at byte 16 (see ``batch_header.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

from rafka.protocol.records.batch_header import iter_batch_positions
from rafka.protocol.records.default_records import RecordBatch
from rafka.protocol.records.legacy_records import LegacyBatch

__all__ = ["AnyBatch", "read_batches"]

#: A batch of any magic: v2 batches, or v0/v1 top-level messages (possibly compressed wrappers).
AnyBatch = RecordBatch | LegacyBatch


def read_batches(buf: bytes | bytearray | memoryview, pos: int = 0) -> Iterator[AnyBatch]:
    """Yield every whole batch in ``buf`` from ``pos``, of any magic.

    A trailing partial batch is skipped, as fetch responses may end with one. Records are decoded
    only when asked for (``batch.records()``); CRCs are checked only by ``batch.verify_crc()``.
    """
    for start, _size, magic in iter_batch_positions(buf, pos):
        if magic == 2:
            yield RecordBatch(buf, start)
        else:
            yield LegacyBatch(buf, start)

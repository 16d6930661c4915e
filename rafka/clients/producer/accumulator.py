"""The record accumulator: records gathered into per-partition batches until they are sent.

Pure state and decisions, no I/O (the sender drives it with the clock's ``now``)::

    append(record)        -> into the partition's open batch, or a new one when it is full
    ready(now)            -> partitions whose first batch should go now: full, older than
                             linger.ms, being flushed, or the producer is closing
    drain(partitions)     -> at most one batch per partition (Kafka accepts one per partition
                             per request), skipping partitions with a batch in flight so that
                             retries keep records in order
    reenqueue(batch)      -> a batch to retry goes back to the front of its partition
    expire(now)           -> batches older than delivery.timeout.ms are taken out to fail

Memory: ``buffered_bytes`` counts the (uncompressed) bytes held; the producer blocks appends
over ``buffer.memory``.

Threads: the sync producer appends from the user's thread while the sender drains on the event
loop (as Java's producer does), so every method must be called with :attr:`lock` held.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from rafka.clients.producer.delivery import BatchOutcome
from rafka.protocol.records import Compression, RecordBatchBuilder

__all__ = ["ProducerBatch", "RecordAccumulator", "TopicPartition"]

TopicPartition = tuple[str, int]
Header = tuple[str, bytes | None]


class ProducerBatch:
    """Records for one partition, sent together."""

    __slots__ = (
        "attempts",
        "base_sequence",
        "builder",
        "created",
        "encoded",
        "outcome",
        "producer_epoch",
        "producer_id",
        "retry_at",
        "tp",
    )

    def __init__(self, tp: TopicPartition, builder: RecordBatchBuilder, now: float) -> None:
        self.tp = tp
        self.builder = builder
        self.created = now
        self.outcome = BatchOutcome(tp[0], tp[1])
        self.attempts = 0
        self.retry_at = 0.0
        self.base_sequence = -1
        self.producer_id = -1
        self.producer_epoch = -1
        self.encoded: bytes | None = None

    @property
    def record_count(self) -> int:
        return len(self.builder)

    def size(self) -> int:
        return self.builder.estimated_size()

    def encode(self, producer_id: int, producer_epoch: int, sequence: int) -> bytes:
        """The batch's bytes; encoded once, so retries resend exactly the same batch."""
        if self.encoded is None:
            self.producer_id, self.producer_epoch, self.base_sequence = (
                producer_id,
                producer_epoch,
                sequence,
            )
            self.builder.set_producer_state(producer_id, producer_epoch, sequence, False)
            self.encoded = self.builder.build()
        return self.encoded

    def reset_producer_state(self) -> None:
        """Forget the encoding, to be stamped again under a new producer id/epoch."""
        self.encoded = None
        self.base_sequence = -1


class RecordAccumulator:
    def __init__(
        self,
        *,
        batch_size: int,
        linger_s: float,
        compression: Compression,
        compression_level: int | None,
        delivery_timeout_s: float,
    ) -> None:
        self.batch_size = batch_size
        self.linger_s = linger_s
        self.compression = compression
        self.compression_level = compression_level
        self.delivery_timeout_s = delivery_timeout_s
        self.batches: dict[TopicPartition, deque[ProducerBatch]] = {}
        self.in_flight: set[TopicPartition] = set()
        self.buffered_bytes = 0
        self.flushing = 0  # flush() calls waiting
        self.closing = False
        #: Outcomes other threads may wait on (the sync facade sets this).
        self.threaded = False
        #: Held around every call (appends may come from another thread).
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return sum(len(q) for q in self.batches.values())

    def _new_batch(self, tp: TopicPartition, now: float) -> ProducerBatch:
        builder = RecordBatchBuilder(
            compression=self.compression, compression_level=self.compression_level
        )
        batch = ProducerBatch(tp, builder, now)
        if self.threaded:
            batch.outcome.prepare_for_threads()
        return batch

    def append(
        self,
        tp: TopicPartition,
        timestamp: int,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header],
        size: int,
        now: float,
    ) -> tuple[ProducerBatch, int, bool]:
        """Add a record of estimated ``size`` bytes; ``(its batch, its offset delta, opened a
        new batch)``."""
        queue = self.batches.get(tp)
        if queue is None:
            queue = self.batches[tp] = deque()
        batch = queue[-1] if queue else None
        opened = False
        if (
            batch is None
            or batch.encoded is not None
            or (len(batch.builder) and batch.builder.estimated_size() + size > self.batch_size)
        ):
            batch = self._new_batch(tp, now)
            queue.append(batch)
            opened = True
        delta = batch.builder.append(timestamp, key, value, headers)
        self.buffered_bytes += size
        return batch, delta, opened

    def ready(
        self, now: float, leader_of: Callable[[TopicPartition], int | None]
    ) -> tuple[set[int], float, set[str]]:
        """``(nodes with a batch to send now, seconds until the next batch is due,
        topics whose leader is unknown)``."""
        nodes: set[int] = set()
        unknown: set[str] = set()
        next_due = float("inf")
        urgent = self.flushing > 0 or self.closing
        for tp, queue in self.batches.items():
            if not queue or tp in self.in_flight:
                continue
            first = queue[0]
            leader = leader_of(tp)
            if leader is None:
                unknown.add(tp[0])
                continue
            if first.retry_at > now:
                next_due = min(next_due, first.retry_at - now)
                continue
            full = len(queue) > 1 or first.size() >= self.batch_size
            due = first.created + self.linger_s
            if full or urgent or first.attempts or due <= now:
                nodes.add(leader)
            else:
                next_due = min(next_due, due - now)
        return nodes, next_due, unknown

    def drain(
        self,
        node: int,
        leader_of: Callable[[TopicPartition], int | None],
        max_request_size: int,
        now: float,
    ) -> list[ProducerBatch]:
        """Batches for ``node``: the first of each ready partition, within the request size."""
        out: list[ProducerBatch] = []
        size = 0
        for tp, queue in self.batches.items():
            if not queue or tp in self.in_flight or leader_of(tp) != node:
                continue
            first = queue[0]
            if first.retry_at > now:
                continue
            batch_size = first.size()
            if out and size + batch_size > max_request_size:
                break
            queue.popleft()
            self.in_flight.add(tp)
            out.append(first)
            size += batch_size
        return out

    def complete(self, batch: ProducerBatch) -> None:
        """A batch's outcome is final (acknowledged or failed)."""
        self.in_flight.discard(batch.tp)
        self.buffered_bytes = max(0, self.buffered_bytes - batch.size())

    def reenqueue(self, batch: ProducerBatch, retry_at: float) -> None:
        """A batch to retry: first in its partition again, after ``retry_at``."""
        self.in_flight.discard(batch.tp)
        batch.attempts += 1
        batch.retry_at = retry_at
        self.batches.setdefault(batch.tp, deque()).appendleft(batch)

    def expire(self, now: float) -> list[ProducerBatch]:
        """Waiting batches created more than delivery.timeout.ms ago (removed)."""
        expired = []
        for tp, queue in self.batches.items():
            if tp in self.in_flight:
                continue
            while queue and now - queue[0].created >= self.delivery_timeout_s:
                expired.append(queue.popleft())
        for batch in expired:
            self.buffered_bytes = max(0, self.buffered_bytes - batch.size())
        return expired

    def reset_producer_state(self) -> None:
        """After a new producer id/epoch: waiting batches get new sequences when sent."""
        for queue in self.batches.values():
            for batch in queue:
                batch.reset_producer_state()

    def pending_batches(self) -> Iterable[ProducerBatch]:
        for queue in self.batches.values():
            yield from queue

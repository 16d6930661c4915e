"""Per-partition producer state: idempotence and transactions (Kafka's ProducerStateManager).

For each producer id the table keeps its epoch, the sequence/offset ranges of its last 5 batches,
the coordinator epoch of its last transaction marker, and the first offset of its open
transaction. Checks made for a data batch with epoch ``e`` and sequences ``[s, t]``:

    e  < current epoch                      INVALID_PRODUCER_EPOCH (REPLICATION: accepted)
    origin CLIENT, e != current epoch:
        s != 0 and a current epoch exists   OUT_OF_ORDER_SEQUENCE_NUMBER
    origin CLIENT, e == current epoch:
        s != last sequence + 1 (mod 2**31)  OUT_OF_ORDER_SEQUENCE_NUMBER, unless the producer's
                                            state was lost (no epoch known): then accepted
    non-transactional while a txn is open   INVALID_TXN_STATE
    transactional with no txn open          opens one at this batch's first offset

A CLIENT batch with the same epoch and exact sequence range as one of the last 5 is a duplicate:
the append is answered with that batch's offsets and nothing is written (checked by the log
before these rules). A transaction marker (COMMIT/ABORT control batch) checks the epoch, and for
non-replicated origins that its coordinator epoch is not older than the last one
(TRANSACTION_COORDINATOR_FENCED); it closes the open transaction, which stays "unreplicated"
until the high watermark passes the marker. The first unstable offset is the smallest first
offset of an open or unreplicated transaction; the last stable offset is that or the high
watermark, whichever is smaller.
"""

from __future__ import annotations

from bisect import insort
from collections import deque
from collections.abc import Iterable
from typing import NamedTuple

from rafka.errors import (
    InvalidProducerEpochError,
    InvalidTxnStateError,
    OutOfOrderSequenceNumberError,
    TransactionCoordinatorFencedError,
)
from rafka.storage.append import AppendOrigin

__all__ = [
    "NUM_BATCHES_TO_RETAIN",
    "BatchMetadata",
    "CompletedTxn",
    "ProducerAppendInfo",
    "ProducerStateEntry",
    "ProducerStateManager",
]

NUM_BATCHES_TO_RETAIN = 5
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1
_INT32_MAX = (1 << 31) - 1


def _decrement_sequence(sequence: int, decrement: int) -> int:
    if sequence < decrement:
        return _INT32_MAX - (decrement - sequence) + 1
    return sequence - decrement


class BatchMetadata(NamedTuple):
    """Sequence and offset range of one recent batch of a producer."""

    last_seq: int
    last_offset: int
    offset_delta: int
    timestamp: int

    @property
    def first_seq(self) -> int:
        """Sequence of the batch's first record."""
        return _decrement_sequence(self.last_seq, self.offset_delta)

    @property
    def first_offset(self) -> int:
        """Offset of the batch's first record."""
        return self.last_offset - self.offset_delta


class CompletedTxn(NamedTuple):
    """A transaction closed by a marker: ``[first_offset, last_offset]`` (the marker)."""

    producer_id: int
    first_offset: int
    last_offset: int
    is_aborted: bool


class ProducerStateEntry:
    """What the partition remembers of one producer id."""

    __slots__ = (
        "batches",
        "coordinator_epoch",
        "current_txn_first_offset",
        "last_timestamp",
        "producer_epoch",
        "producer_id",
    )

    def __init__(
        self,
        producer_id: int,
        producer_epoch: int = NO_PRODUCER_EPOCH,
        coordinator_epoch: int = -1,
        last_timestamp: int = -1,
        current_txn_first_offset: int | None = None,
        batches: Iterable[BatchMetadata] = (),
    ) -> None:
        self.producer_id = producer_id
        self.producer_epoch = producer_epoch
        self.coordinator_epoch = coordinator_epoch
        self.last_timestamp = last_timestamp
        self.current_txn_first_offset = current_txn_first_offset
        self.batches: deque[BatchMetadata] = deque(batches, maxlen=NUM_BATCHES_TO_RETAIN)

    def __repr__(self) -> str:
        return (
            f"ProducerStateEntry(producer_id={self.producer_id}, epoch={self.producer_epoch}, "
            f"txn_first_offset={self.current_txn_first_offset}, batches={list(self.batches)})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProducerStateEntry):
            return NotImplemented
        return (
            self.producer_id,
            self.producer_epoch,
            self.coordinator_epoch,
            self.last_timestamp,
            self.current_txn_first_offset,
            list(self.batches),
        ) == (
            other.producer_id,
            other.producer_epoch,
            other.coordinator_epoch,
            other.last_timestamp,
            other.current_txn_first_offset,
            list(other.batches),
        )

    __hash__ = None  # type: ignore[assignment]

    def copy(self, *, with_batches: bool = True) -> ProducerStateEntry:
        """A copy (without the batch history when ``with_batches`` is False)."""
        return ProducerStateEntry(
            self.producer_id,
            self.producer_epoch,
            self.coordinator_epoch,
            self.last_timestamp,
            self.current_txn_first_offset,
            self.batches if with_batches else (),
        )

    @property
    def is_empty(self) -> bool:
        """No batch is remembered (e.g. only markers were seen, or the epoch changed)."""
        return not self.batches

    @property
    def first_seq(self) -> int:
        """First sequence of the oldest remembered batch, -1 if none."""
        return self.batches[0].first_seq if self.batches else NO_SEQUENCE

    @property
    def last_seq(self) -> int:
        """Last sequence of the newest remembered batch, -1 if none."""
        return self.batches[-1].last_seq if self.batches else NO_SEQUENCE

    @property
    def last_data_offset(self) -> int:
        """Last offset of the newest remembered batch, -1 if none."""
        return self.batches[-1].last_offset if self.batches else -1

    @property
    def last_offset_delta(self) -> int:
        """Offset delta of the newest remembered batch, 0 if none."""
        return self.batches[-1].offset_delta if self.batches else 0

    def maybe_update_producer_epoch(self, epoch: int) -> bool:
        """Move to ``epoch``, forgetting the batches of the old one; whether it changed."""
        if self.producer_epoch != epoch:
            self.batches.clear()
            self.producer_epoch = epoch
            return True
        return False

    def add_batch(self, epoch: int, last_seq: int, last_offset: int, delta: int, ts: int) -> None:
        """Remember a batch (dropping the oldest beyond 5)."""
        self.maybe_update_producer_epoch(epoch)
        self.batches.append(BatchMetadata(last_seq, last_offset, delta, ts))
        self.last_timestamp = ts

    def update(self, nxt: ProducerStateEntry) -> None:
        """Take over the state of ``nxt`` (an updated copy made by an append)."""
        self.maybe_update_producer_epoch(nxt.producer_epoch)
        self.batches.extend(nxt.batches)
        self.coordinator_epoch = nxt.coordinator_epoch
        self.current_txn_first_offset = nxt.current_txn_first_offset
        self.last_timestamp = nxt.last_timestamp

    def find_duplicate_batch(
        self, epoch: int, first_seq: int, last_seq: int
    ) -> BatchMetadata | None:
        """The remembered batch with exactly this epoch and sequence range, if any."""
        if epoch != self.producer_epoch:
            return None
        for batch in self.batches:
            if batch.first_seq == first_seq and batch.last_seq == last_seq:
                return batch
        return None


class ProducerAppendInfo:
    """The checks and updates of one producer's batches within one append."""

    __slots__ = ("current", "origin", "producer_id", "started_txns", "updated")

    def __init__(self, producer_id: int, current: ProducerStateEntry, origin: AppendOrigin):
        self.producer_id = producer_id
        self.current = current
        self.origin = origin
        self.updated = current.copy(with_batches=False)
        self.started_txns: list[int] = []

    def _check_epoch(self, epoch: int, offset: int) -> None:
        if epoch < self.updated.producer_epoch and self.origin != AppendOrigin.REPLICATION:
            raise InvalidProducerEpochError(
                f"epoch {epoch} of producer {self.producer_id} at offset {offset} is older than "
                f"the last seen epoch {self.updated.producer_epoch}"
            )

    def _check_sequence(self, epoch: int, first_seq: int, offset: int) -> None:
        updated, current = self.updated, self.current
        if epoch != updated.producer_epoch:
            if first_seq != 0 and updated.producer_epoch != NO_PRODUCER_EPOCH:
                raise OutOfOrderSequenceNumberError(
                    f"sequence {first_seq} for new epoch {epoch} of producer {self.producer_id} "
                    f"at offset {offset} must be 0 (current epoch {updated.producer_epoch})"
                )
            return
        if not updated.is_empty:
            last_seq = updated.last_seq
        elif epoch == current.producer_epoch:
            last_seq = current.last_seq
        else:
            last_seq = NO_SEQUENCE
        in_sequence = first_seq == last_seq + 1 or (first_seq == 0 and last_seq == _INT32_MAX)
        if current.producer_epoch != NO_PRODUCER_EPOCH and not in_sequence:
            raise OutOfOrderSequenceNumberError(
                f"out of order sequence {first_seq} for producer {self.producer_id} at offset "
                f"{offset}: expected {last_seq + 1 if last_seq < _INT32_MAX else 0}"
            )

    def append_data_batch(
        self,
        epoch: int,
        first_seq: int,
        last_seq: int,
        last_timestamp: int,
        first_offset: int,
        last_offset: int,
        is_transactional: bool,
    ) -> None:
        """Check and record a data batch of this producer."""
        self._check_epoch(epoch, first_offset)
        if self.origin == AppendOrigin.CLIENT:
            self._check_sequence(epoch, first_seq, first_offset)
        updated = self.updated
        updated.add_batch(epoch, last_seq, last_offset, last_offset - first_offset, last_timestamp)
        if updated.current_txn_first_offset is not None and not is_transactional:
            raise InvalidTxnStateError(
                f"non-transactional write from producer {self.producer_id} at offset "
                f"{first_offset} while its transaction is open"
            )
        if updated.current_txn_first_offset is None and is_transactional:
            updated.current_txn_first_offset = first_offset
            self.started_txns.append(first_offset)

    def append_end_txn_marker(
        self, *, commit: bool, coordinator_epoch: int, epoch: int, offset: int, timestamp: int
    ) -> CompletedTxn | None:
        """Check and record a COMMIT/ABORT marker; the transaction it closes, if any."""
        self._check_epoch(epoch, offset)
        updated = self.updated
        if (
            updated.coordinator_epoch > coordinator_epoch
            and self.origin != AppendOrigin.REPLICATION
        ):
            raise TransactionCoordinatorFencedError(
                f"coordinator epoch {coordinator_epoch} of the marker at offset {offset} for "
                f"producer {self.producer_id} is older than {updated.coordinator_epoch}"
            )
        completed = None
        if updated.current_txn_first_offset is not None:
            completed = CompletedTxn(
                self.producer_id, updated.current_txn_first_offset, offset, not commit
            )
        updated.maybe_update_producer_epoch(epoch)
        updated.coordinator_epoch = coordinator_epoch
        updated.current_txn_first_offset = None
        updated.last_timestamp = timestamp
        return completed


class ProducerStateManager:
    """The producer table of one partition and its open and recently closed transactions."""

    __slots__ = ("_ongoing", "_unreplicated", "map_end_offset", "producers")

    def __init__(self) -> None:
        self.producers: dict[int, ProducerStateEntry] = {}
        self._ongoing: dict[int, int] = {}  # txn first offset -> producer id
        self._unreplicated: dict[int, tuple[int, int]] = {}  # first offset -> (pid, last offset)
        #: The offset up to which the log has been applied to the table.
        self.map_end_offset = 0

    def copy(self) -> ProducerStateManager:
        """An independent copy of the table (for in-memory snapshots)."""
        other = ProducerStateManager()
        other.producers = {pid: entry.copy() for pid, entry in self.producers.items()}
        other._ongoing = self._ongoing.copy()
        other._unreplicated = self._unreplicated.copy()
        other.map_end_offset = self.map_end_offset
        return other

    def same_state(self, other: ProducerStateManager) -> bool:
        """Whether both tables hold the same producers and transactions."""
        return (
            self.producers == other.producers
            and self._ongoing == other._ongoing
            and self._unreplicated == other._unreplicated
            and self.map_end_offset == other.map_end_offset
        )

    def last_entry(self, producer_id: int) -> ProducerStateEntry | None:
        """The state of ``producer_id``, if known."""
        return self.producers.get(producer_id)

    def prepare_update(self, producer_id: int, origin: AppendOrigin) -> ProducerAppendInfo:
        """Start checking the batches of ``producer_id`` in an append."""
        current = self.producers.get(producer_id) or ProducerStateEntry(producer_id)
        return ProducerAppendInfo(producer_id, current, origin)

    def update(self, info: ProducerAppendInfo) -> None:
        """Apply a checked append."""
        entry = self.producers.get(info.producer_id)
        if entry is None:
            self.producers[info.producer_id] = info.updated
        else:
            entry.update(info.updated)
        for first_offset in info.started_txns:
            self._ongoing[first_offset] = info.producer_id

    def load_entry(self, entry: ProducerStateEntry) -> None:
        """Add an entry read from a snapshot."""
        self.producers[entry.producer_id] = entry
        if entry.current_txn_first_offset is not None:
            self._ongoing[entry.current_txn_first_offset] = entry.producer_id

    def last_stable_offset(self, completed: CompletedTxn) -> int:
        """The LSO once ``completed`` is done: the next open transaction of another producer,
        else the offset after its marker (written to the transaction index)."""
        for first_offset in sorted(self._ongoing):
            if self._ongoing[first_offset] != completed.producer_id:
                return first_offset
        return completed.last_offset + 1

    def complete_txn(self, completed: CompletedTxn) -> None:
        """Close a transaction; it stays unstable until the high watermark passes its marker."""
        if self._ongoing.pop(completed.first_offset, None) is None:
            raise ValueError(f"transaction {completed} was not open")
        self._unreplicated[completed.first_offset] = (completed.producer_id, completed.last_offset)

    def first_unstable_offset(self) -> int | None:
        """The first offset of the oldest open or unreplicated transaction."""
        candidates = list(self._ongoing) + list(self._unreplicated)
        return min(candidates) if candidates else None

    def first_undecided_offset(self) -> int | None:
        """The first offset of the oldest transaction still open."""
        return min(self._ongoing) if self._ongoing else None

    def ongoing_transactions(self) -> list[tuple[int, int]]:
        """``(first_offset, producer_id)`` of every open transaction, by offset."""
        out: list[tuple[int, int]] = []
        for first_offset, pid in self._ongoing.items():
            insort(out, (first_offset, pid))
        return out

    def on_high_watermark_updated(self, high_watermark: int) -> None:
        """Forget closed transactions whose marker is below the high watermark."""
        self._remove_unreplicated(high_watermark)

    def on_log_start_offset_incremented(self, log_start_offset: int) -> None:
        """Forget closed transactions below the new log start offset."""
        self._remove_unreplicated(log_start_offset)
        self.map_end_offset = max(self.map_end_offset, log_start_offset)

    def _remove_unreplicated(self, offset: int) -> None:
        for first, (_, last) in list(self._unreplicated.items()):
            if last < offset:
                del self._unreplicated[first]

    def remove_expired_producers(self, now_ms: int, expiration_ms: int) -> None:
        """Forget producers idle for ``expiration_ms`` with no open transaction
        (``transactional.id.expiration.ms`` / ``producer.id.expiration.ms`` of the broker)."""
        for pid, entry in list(self.producers.items()):
            if (
                entry.current_txn_first_offset is None
                and now_ms - entry.last_timestamp >= expiration_ms
            ):
                del self.producers[pid]

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Forget everything; the table now starts at ``offset``."""
        self.producers.clear()
        self._ongoing.clear()
        self._unreplicated.clear()
        self.map_end_offset = offset

    def is_empty(self) -> bool:
        """No producer and no transaction is known."""
        return not self.producers and not self._unreplicated

    def snapshot_entries(self) -> list[ProducerStateEntry]:
        """Entries to persist, in producer id order."""
        return [self.producers[pid] for pid in sorted(self.producers)]

"""Idempotence and transaction rules of the producer-state table."""

from __future__ import annotations

import pytest

from rafka import errors
from rafka.storage import AppendOrigin, LogConfig
from rafka.storage.producer_snapshot import decode_snapshot, encode_snapshot
from rafka.storage.producer_state import BatchMetadata, ProducerStateEntry
from rafka.storage.unified_log import UnifiedLog
from tests.storage.batches import batch, marker
from tests.storage.conftest import MakeLog

PID = 1000


def idem(seq: int, count: int = 2, epoch: int = 0, txn: bool = False) -> bytes:
    return batch(count, producer_id=PID, producer_epoch=epoch, base_sequence=seq, transactional=txn)


def test_sequences_and_duplicates(make_log: MakeLog) -> None:
    log = make_log()
    first = log.append(idem(0))
    second = log.append(idem(2))
    assert (second.first_offset, second.last_offset) == (2, 3)
    retry = log.append(idem(0))
    assert retry.duplicate and (retry.first_offset, retry.last_offset) == (0, 1)
    assert not first.duplicate
    assert log.log_end_offset == 4
    with pytest.raises(errors.OutOfOrderSequenceNumberError):
        log.append(idem(5))
    with pytest.raises(errors.OutOfOrderSequenceNumberError):
        log.append(idem(1))  # overlaps without being an exact retry
    assert log.log_end_offset == 4


def test_only_five_batches_are_remembered(make_log: MakeLog) -> None:
    log = make_log()
    for i in range(6):
        log.append(idem(2 * i))
    assert log.append(idem(2)).duplicate  # batches 1..5 are remembered
    with pytest.raises(errors.OutOfOrderSequenceNumberError):
        log.append(idem(0))  # batch 0 was forgotten
    entry = log.producer_state.last_entry(PID)
    assert entry is not None and len(entry.batches) == 5


def test_epochs(make_log: MakeLog) -> None:
    log = make_log()
    log.append(idem(0, epoch=3))
    with pytest.raises(errors.InvalidProducerEpochError):
        log.append(idem(2, epoch=2))
    with pytest.raises(errors.OutOfOrderSequenceNumberError):
        log.append(idem(7, epoch=4))  # a new epoch must start at 0
    log.append(idem(0, epoch=4))
    entry = log.producer_state.last_entry(PID)
    assert entry is not None and entry.producer_epoch == 4


def test_sequence_wraps(make_log: MakeLog) -> None:
    log = make_log()
    log.append(idem((1 << 31) - 2, count=2))
    log.append(idem(0, count=1))
    entry = log.producer_state.last_entry(PID)
    assert entry is not None and entry.last_seq == 0


def test_unknown_producer_accepts_any_sequence(make_log: MakeLog) -> None:
    log = make_log()
    log.append(idem(40))  # state lost (e.g. retention): no epoch known, anything goes
    log.append(idem(42))


def test_replication_does_not_check(make_log: MakeLog) -> None:
    leader = make_log(name="l-0")
    leader.append(idem(0, epoch=5))
    leader.append(idem(2, epoch=5))
    data = bytes(leader.read(0, 10_000).records)
    follower = make_log(name="f-0")
    follower.append(idem(0, epoch=9), leader_epoch=0)
    follower.truncate_fully_and_start_at(0)
    follower.append(data, origin=AppendOrigin.REPLICATION)
    entry = follower.producer_state.last_entry(PID)
    assert entry is not None and entry.producer_epoch == 5 and entry.last_seq == 3


def test_transactions(make_log: MakeLog) -> None:
    log = make_log()
    log.append(idem(0, txn=True))
    with pytest.raises(errors.InvalidTxnStateError):
        log.append(idem(2, txn=False))
    log.append(idem(2, txn=True))
    log.high_watermark = log.log_end_offset
    assert log.first_unstable_offset == 0 and log.last_stable_offset == 0
    log.append(marker(PID, 0, commit=True, coordinator_epoch=3), origin=AppendOrigin.COORDINATOR)
    assert log.last_stable_offset == 0  # stable only once the marker is below the watermark
    log.high_watermark = log.log_end_offset
    assert log.first_unstable_offset is None and log.last_stable_offset == 5
    with pytest.raises(errors.TransactionCoordinatorFencedError):
        log.append(
            marker(PID, 0, commit=True, coordinator_epoch=2), origin=AppendOrigin.COORDINATOR
        )
    log.append(marker(PID, 0, commit=False, coordinator_epoch=3), origin=AppendOrigin.COORDINATOR)
    assert log.collect_aborted_transactions(0, 100) == []  # an empty transaction: no entry


def test_transaction_state_survives_truncation(make_log: MakeLog) -> None:
    log = make_log(LogConfig(internal_segment_bytes=200))
    log.append(idem(0, txn=True))
    for i in range(1, 5):
        log.append(idem(2 * i, txn=True))
    assert len(log.segments) > 2
    log.truncate_to(4)
    entry = log.producer_state.last_entry(PID)
    assert entry is not None and entry.last_seq == 3 and entry.current_txn_first_offset == 0
    assert log.first_unstable_offset == 0
    log.append(idem(4, txn=True))


def test_snapshot_format_round_trip() -> None:
    entries = [
        ProducerStateEntry(7, 2, 5, 1234, None, [BatchMetadata(9, 100, 3, 1234)]),
        ProducerStateEntry(8, 0, -1, 99, 50, []),
    ]
    data = encode_snapshot(entries)
    assert data[:2] == b"\x00\x01" and len(data) == 10 + 46 * 2
    assert decode_snapshot(data) == entries
    from rafka.storage.errors import CorruptIndexError

    damaged = bytearray(data)
    damaged[20] ^= 1
    with pytest.raises(CorruptIndexError):
        decode_snapshot(bytes(damaged))


def test_expired_producers_are_dropped(make_log: MakeLog, clock: object) -> None:
    log: UnifiedLog = make_log(producer_id_expiration_ms=1000)
    log.append(idem(0))
    clock.advance(2000)  # type: ignore[attr-defined]
    log.remove_expired_producers()
    assert log.producer_state.last_entry(PID) is None

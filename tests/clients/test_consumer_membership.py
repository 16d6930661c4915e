"""The consumer group protocol's member state machine (KIP-848), without I/O."""

from __future__ import annotations

import uuid

import pytest

from rafka import errors
from rafka.clients.consumer.membership import (
    LEAVE_EPOCH,
    LEAVE_STATIC_EPOCH,
    Membership,
    MemberState,
)
from rafka.clients.types import TopicPartition
from rafka.protocol.messages import ConsumerGroupHeartbeatResponse as R

S = MemberState
T1, T2 = uuid.UUID(int=1), uuid.UUID(int=2)
NAMES = {T1: "t1", T2: "t2"}


def state(m: Membership) -> MemberState:
    """The member's state (read through a call, so checks in a row are not narrowed)."""
    return m.state


def known(topic_id: uuid.UUID) -> str | None:
    return NAMES.get(topic_id)


def answer(epoch: int, assignment: dict[uuid.UUID, list[int]] | None = None) -> R:
    return R(
        member_id=None,
        member_epoch=epoch,
        heartbeat_interval_ms=5000,
        assignment=None
        if assignment is None
        else R.Assignment([R.TopicPartitions(t, ps) for t, ps in assignment.items()]),
    )


def joined(assignment: dict[uuid.UUID, list[int]], **kwargs: object) -> Membership:
    """A member that joined, reconciled ``assignment`` and acknowledged it."""
    m = Membership("g", **kwargs)  # type: ignore[arg-type]
    m.subscribe(["t1", "t2"], None)
    m.heartbeat_request(1)
    m.heartbeat_sent()
    m.heartbeat_succeeded(answer(1, assignment))
    step = m.reconciliation(known, [])
    assert step is not None
    m.reconciled(step)
    m.heartbeat_request(1)
    m.heartbeat_sent()
    assert state(m) is S.STABLE
    return m


def test_joining_sends_everything_then_only_what_changed() -> None:
    m = Membership("g", instance_id="i", rebalance_timeout_ms=1234, server_assignor="range")
    assert state(m) is S.UNSUBSCRIBED and m.skips_heartbeats
    m.subscribe(["b", "a"], None)
    assert state(m) is S.JOINING and m.heartbeat_now
    first = m.heartbeat_request(1)
    assert (first.group_id, first.member_epoch, first.instance_id) == ("g", 0, "i")
    assert len(first.member_id) == 22  # a Uuid in Kafka's base64 form, made by the client
    assert first.rebalance_timeout_ms == 1234
    assert first.subscribed_topic_names == ["a", "b"]
    assert first.subscribed_topic_regex is None
    assert first.server_assignor == "range"
    assert first.topic_partitions == []
    m.heartbeat_sent()
    m.heartbeat_succeeded(answer(3))
    assert m.member_epoch == 3 and m.in_group and state(m) is S.JOINING
    assert m.heartbeat_request(1).subscribed_topic_names == ["a", "b"]  # joining: all
    m.heartbeat_sent()
    m.heartbeat_succeeded(answer(3, {}))  # an empty assignment is reconciled too
    step = m.reconciliation(known, [])
    assert step is not None and step.added == step.revoked == ()
    m.reconciled(step)
    assert m.heartbeat_request(1).topic_partitions == []  # the acknowledgement
    m.heartbeat_sent()
    assert state(m) is S.STABLE
    second = m.heartbeat_request(1)
    assert (second.member_id, second.member_epoch) == (first.member_id, 3)
    assert second.rebalance_timeout_ms == -1
    assert second.subscribed_topic_names is None
    assert second.server_assignor is None
    assert second.topic_partitions is None
    m.subscribe(["a"], None)  # a new subscription goes with the next heartbeat
    assert m.heartbeat_request(1).subscribed_topic_names == ["a"]
    m.heartbeat_failed()  # after a failure, everything again
    again = m.heartbeat_request(1)
    assert again.rebalance_timeout_ms == 1234 and again.subscribed_topic_names == ["a"]
    assert again.topic_partitions == []


def test_a_pattern_is_the_coordinators_to_match() -> None:
    m = Membership("g")
    m.subscribe([], "t.*")
    with pytest.raises(errors.UnsupportedVersionError, match="version >= 1"):
        m.heartbeat_request(0)
    first = m.heartbeat_request(1)
    assert (first.subscribed_topic_regex, first.subscribed_topic_names) == ("t.*", [])
    m.heartbeat_sent()
    m.heartbeat_succeeded(answer(1, {}))
    assert m.heartbeat_request(1).subscribed_topic_regex is None
    m.subscribe(["t1"], None)
    switched = m.heartbeat_request(1)
    assert switched.subscribed_topic_regex == ""  # removes the pattern
    assert switched.subscribed_topic_names == ["t1"]


def test_an_assignment_is_reconciled_then_acknowledged() -> None:
    m = Membership("g")
    m.subscribe(["t1", "t2"], None)
    m.heartbeat_request(1)
    m.heartbeat_sent()
    m.heartbeat_succeeded(answer(1, {T1: [0, 1], T2: [0]}))
    assert state(m) is S.RECONCILING
    step = m.reconciliation(known, [])
    assert step is not None and m.reconciling
    assert step.added == (TopicPartition("t1", 0), TopicPartition("t1", 1), TopicPartition("t2", 0))
    assert step.revoked == ()
    assert m.reconciliation(known, []) is None  # one at a time
    m.reconciled(step)
    assert state(m) is S.ACKNOWLEDGING and m.heartbeat_now and not m.reconciling
    ack = m.heartbeat_request(1)
    assert ack.topic_partitions is not None
    assert sorted((tp.topic_id, tp.partitions) for tp in ack.topic_partitions) == [
        (T1, [0, 1]),
        (T2, [0]),
    ]
    m.heartbeat_sent()
    assert state(m) is S.STABLE
    assert m.heartbeat_request(1).topic_partitions is None  # acknowledged once


def test_only_what_moves_is_revoked_or_added() -> None:
    m = joined({T1: [0, 1]})
    owned = [TopicPartition("t1", 0), TopicPartition("t1", 1)]
    m.heartbeat_succeeded(answer(2, {T1: [0]}))
    step = m.reconciliation(known, owned)
    assert step is not None
    assert (step.revoked, step.added) == ((TopicPartition("t1", 1),), ())
    m.reconciled(step)
    m.heartbeat_sent()
    m.heartbeat_succeeded(answer(3, {T1: [0], T2: [4]}))
    step = m.reconciliation(known, [TopicPartition("t1", 0)])
    assert step is not None
    assert (step.revoked, step.added) == ((), (TopicPartition("t2", 4),))


def test_topics_without_a_name_yet_wait_for_metadata() -> None:
    unknown = uuid.UUID(int=9)
    m = joined({T1: [0]})
    m.heartbeat_succeeded(answer(2, {T1: [0], unknown: [0]}))
    assert m.unresolved(known) == {unknown}
    # the named part equals what is owned: acknowledge it, add the rest once named
    assert m.reconciliation(known, [TopicPartition("t1", 0)]) is None
    assert state(m) is S.ACKNOWLEDGING
    m.heartbeat_request(1)
    m.heartbeat_sent()
    assert state(m) is S.RECONCILING
    assert m.reconciliation(known, [TopicPartition("t1", 0)]) is None  # nothing new to ack
    NAMES[unknown] = "t9"
    try:
        step = m.reconciliation(known, [TopicPartition("t1", 0)])
        assert step is not None and step.added == (TopicPartition("t9", 0),)
    finally:
        del NAMES[unknown]


def test_a_fenced_member_rejoins_as_epoch_zero() -> None:
    m = joined({T1: [0]})
    assert m.fenced()
    assert state(m) is S.FENCED and m.member_epoch == 0 and m.skips_heartbeats
    m.clear_assignment()
    m.rejoin_after_fence()
    assert state(m) is S.JOINING
    request = m.heartbeat_request(1)
    assert request.member_epoch == 0 and request.topic_partitions == []


def test_a_reconciliation_overtaken_by_fencing_does_not_apply() -> None:
    m = joined({T1: [0]})
    m.heartbeat_succeeded(answer(2, {T1: [0, 1]}))
    step = m.reconciliation(known, [TopicPartition("t1", 0)])
    assert step is not None
    m.fenced()
    assert m.reconciliation_aborted() and not m.reconciling
    m.reconciled(step)
    assert m.current.partitions == {T1: frozenset({0})}


@pytest.mark.parametrize(("instance_id", "epoch"), [(None, LEAVE_EPOCH), ("i", LEAVE_STATIC_EPOCH)])
def test_leaving(instance_id: str | None, epoch: int) -> None:
    m = joined({T1: [0]}, instance_id=instance_id)
    assert m.prepare_leaving() and state(m) is S.PREPARE_LEAVING and m.in_group
    m.heartbeat_succeeded(answer(2, {T1: [0, 1]}))  # no new assignments while leaving
    assert state(m) is S.PREPARE_LEAVING
    m.clear_assignment()
    m.send_leave()
    leave = m.heartbeat_request(1)
    assert leave.member_epoch == epoch and leave.topic_partitions == []
    m.heartbeat_sent()
    assert state(m) is S.UNSUBSCRIBED and not m.in_group
    assert not m.prepare_leaving()  # already out


def test_a_late_poll_leaves_until_the_next_poll() -> None:
    m = joined({T1: [0]})
    m.send_leave(poll_timeout=True)
    assert state(m) is S.LEAVING and m.heartbeat_request(1).member_epoch == LEAVE_EPOCH
    m.heartbeat_sent()
    assert state(m) is S.STALE and m.skips_heartbeats
    m.heartbeat_succeeded(answer(5, {T1: [0]}))  # the answer to the leave: ignored
    assert state(m) is S.STALE
    m.rejoin_stale()
    assert state(m) is S.JOINING and m.member_epoch == 0


def test_a_fatal_error_stops_the_member() -> None:
    m = joined({T1: [0]})
    assert m.fatal()  # partitions still to release
    assert state(m) is S.FATAL and m.skips_heartbeats
    m.subscribe(["t1"], None)
    assert state(m) is S.FATAL


def test_a_transition_outside_the_table_is_a_bug() -> None:
    m = Membership("g")
    with pytest.raises(errors.IllegalStateError, match="UNSUBSCRIBED to ACKNOWLEDGING"):
        m._to(S.ACKNOWLEDGING)

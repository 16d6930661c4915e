"""What a coordinator operation decides: records to write, a response, and what to do once the
records are (or fail to be) committed. Also :class:`Reply`, a response that arrives later.

Decision code (the group state machines, the offset store) never awaits. An operation returns a
:class:`CoordinatorResult`; the async runtime (:mod:`rafka.cluster.groups.coordinator`) appends
its records to the ``__consumer_offsets`` partition, waits until the high watermark passes them,
then replays them into the shard (when ``replay``) and calls ``on_written(None)``; on a failed
or timed-out write it calls ``on_written(error)`` instead.

JoinGroup and SyncGroup responses may be decided long after the request arrived (when the
rebalance completes); the state machine completes the member's :class:`Reply` then, and the
request's handler, which has been waiting on it, sends the response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import attrs

from rafka.cluster.groups.records import CoordinatorRecord
from rafka.errors import KafkaError

__all__ = ["CoordinatorResult", "Reply"]

T = TypeVar("T")


class Reply(Generic[T]):
    """A response decided later: completed once, by decision code; awaited by async code.

    ``waker`` (set by the waiting side) is called on completion; decision code never needs to
    know what it does.
    """

    __slots__ = ("_done", "_value", "waker")

    def __init__(self) -> None:
        self._done = False
        self._value: T | None = None
        self.waker: Callable[[], None] | None = None

    @property
    def done(self) -> bool:
        return self._done

    def complete(self, value: T) -> bool:
        """Set the response; False (and nothing changes) if it was already set."""
        if self._done:
            return False
        self._done = True
        self._value = value
        if self.waker is not None:
            self.waker()
        return True

    def result(self) -> T:
        if not self._done:
            raise RuntimeError("the reply is not complete")
        return self._value  # type: ignore[return-value]


@attrs.define
class CoordinatorResult(Generic[T]):
    """The outcome of one coordinator operation."""

    #: Records to append to the shard's ``__consumer_offsets`` partition, in order.
    records: list[CoordinatorRecord] = attrs.Factory(list)
    #: The response, when the operation has one to give once its records are committed.
    response: T | None = None
    #: Apply the records to the shard's state once committed (offsets, tombstones). Classic
    #: group records are not replayed: the state machine changed the group already.
    replay: bool = True
    #: Called with None once the records are committed, or with the write's error.
    on_written: Callable[[KafkaError | None], None] | None = None
    #: Undoes what the operation already applied to the shard (consumer groups apply their
    #: records at once, as Kafka does), called when the records could not be appended.
    rollback: Callable[[], None] | None = None

    @property
    def is_empty(self) -> bool:
        return not self.records and self.on_written is None

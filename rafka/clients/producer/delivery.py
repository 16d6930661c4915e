"""The outcome of sending one record: :class:`RecordMetadata`, or an error.

Records of a batch share one :class:`BatchOutcome`, settled once when the broker answers; each
record's :class:`DeliveryFuture` reads it (its offset is the batch's base offset plus the
record's position), so acknowledging a batch of a thousand records costs one assignment, not a
thousand. Metadata objects are built only when asked for.

Async code awaits a future; synchronous code (the sync facade, on another thread) calls
:meth:`DeliveryFuture.result`; callbacks run on the event loop when the batch settles.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from typing import Any

import anyio
import attrs

from rafka import errors

__all__ = ["BatchOutcome", "DeliveryFuture", "RecordMetadata"]


@attrs.frozen(slots=True)
class RecordMetadata:
    """Where a record was written."""

    topic: str
    partition: int
    offset: int
    #: The record's timestamp: the broker's append time on LogAppendTime topics.
    timestamp: int
    serialized_key_size: int = -1
    serialized_value_size: int = -1


Callback = Callable[["DeliveryFuture"], Any]


class BatchOutcome:
    """How one batch ended: a base offset (and append time), or an exception."""

    __slots__ = (
        "_event",
        "_lock",
        "_thread_event",
        "append_time",
        "base_offset",
        "done",
        "exception",
        "partition",
        "topic",
        "waiters",
    )

    def __init__(self, topic: str, partition: int) -> None:
        self.topic = topic
        self.partition = partition
        self.done = False
        self.base_offset = -1
        self.append_time = -1
        self.exception: BaseException | None = None
        self.waiters: list[DeliveryFuture] | None = None  # futures with callbacks
        self._event: anyio.Event | None = None
        self._thread_event: threading.Event | None = None
        self._lock: threading.Lock | None = None

    def succeed(self, base_offset: int, append_time: int) -> None:
        self.base_offset = base_offset
        self.append_time = append_time
        self._settle()

    def fail(self, exc: BaseException) -> None:
        self.exception = exc
        self._settle()

    def _settle(self) -> None:
        lock = self._lock
        if lock is not None:
            with lock:
                if self.done:
                    return
                self.done = True
                if self._thread_event is not None:
                    self._thread_event.set()
        elif self.done:
            return
        else:
            self.done = True
        if self._event is not None:
            self._event.set()
        if self.waiters:
            for future in self.waiters:
                future._run_callbacks()

    def add_waiter(self, future: DeliveryFuture) -> bool:
        """Register a future with callbacks; False if already settled (run them now)."""
        lock = self._lock
        if lock is not None:
            with lock:
                if self.done:
                    return False
                if self.waiters is None:
                    self.waiters = []
                self.waiters.append(future)
                return True
        if self.done:
            return False
        if self.waiters is None:
            self.waiters = []
        self.waiters.append(future)
        return True

    async def wait(self) -> None:
        if not self.done:
            if self._event is None:
                self._event = anyio.Event()
            await self._event.wait()

    def prepare_for_threads(self) -> None:
        if self._lock is None:
            self._lock = threading.Lock()

    def wait_from_thread(self, timeout: float | None) -> bool:
        if self.done:
            return True
        lock = self._lock
        if lock is None:
            raise RuntimeError("call prepare_for_threads() before waiting from a thread")
        with lock:
            if self.done:
                return True
            if self._thread_event is None:
                self._thread_event = threading.Event()
            event = self._thread_event
        return event.wait(timeout)


class DeliveryFuture:
    """Completes once with a :class:`RecordMetadata` or an exception."""

    __slots__ = ("_callbacks", "delta", "key_size", "outcome", "timestamp", "value_size")

    def __init__(
        self, outcome: BatchOutcome, delta: int, timestamp: int, key_size: int, value_size: int
    ) -> None:
        self.outcome = outcome
        self.delta = delta
        self.timestamp = timestamp
        self.key_size = key_size
        self.value_size = value_size
        self._callbacks: list[Callback] | None = None

    def done(self) -> bool:
        return self.outcome.done

    def add_done_callback(self, callback: Callback) -> None:
        """Call ``callback(future)`` when done (at once if already done). Runs on the event
        loop, or on the calling thread when the record is already settled."""
        if self._callbacks is None:
            self._callbacks = [callback]
            if not self.outcome.add_waiter(self):
                callback(self)
            return
        self._callbacks.append(callback)
        if self.outcome.done:
            callback(self)

    def _run_callbacks(self) -> None:
        for callback in self._callbacks or ():
            callback(self)

    def exception(self) -> BaseException | None:
        exc = self.outcome.exception
        if isinstance(exc, errors.KafkaError) and exc.record_errors:
            return _for_record(exc, self.delta)
        return exc

    def metadata(self) -> RecordMetadata:
        """The result of a completed future (raises its exception)."""
        outcome = self.outcome
        if outcome.exception is not None:
            raise self.exception() or outcome.exception
        if not outcome.done:
            raise RuntimeError("the delivery is not complete")
        base = outcome.base_offset
        return RecordMetadata(
            outcome.topic,
            outcome.partition,
            base + self.delta if base >= 0 else -1,
            outcome.append_time if outcome.append_time >= 0 else self.timestamp,
            self.key_size,
            self.value_size,
        )

    def __await__(self) -> Generator[Any, None, RecordMetadata]:
        yield from self.outcome.wait().__await__()
        return self.metadata()

    # -- for other threads (the sync facade) ------------------------------------------------

    def result(self, timeout: float | None = None) -> RecordMetadata:
        """Block this (non-loop) thread until done; TimeoutError after ``timeout`` seconds."""
        if not self.outcome.wait_from_thread(timeout):
            raise TimeoutError(f"the record was not delivered within {timeout} s")
        return self.metadata()

    # concurrent.futures.Future-like spelling
    def get(self, timeout: float | None = None) -> RecordMetadata:
        return self.result(timeout)


def _for_record(batch_error: errors.KafkaError, index: int) -> errors.KafkaError:
    """What one record of a batch the broker rejected record by record learns (as Java's
    producer): the broker's message for it, or that a sibling in its batch was at fault."""
    for at, message in batch_error.record_errors:
        if at == index:
            return type(batch_error)(message or batch_error.message).with_record_errors(
                [(at, message)]
            )
    return type(batch_error)(
        "Failed to append record because it was part of a batch which had one or more invalid "
        "records"
    )

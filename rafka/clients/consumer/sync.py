"""The synchronous consumer: :class:`AsyncConsumer`'s methods, run on an event-loop thread.

Each ``poll`` is one call into the loop and returns a whole batch of records, so the thread
hop is paid per poll, not per record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread

from rafka.clients.consumer.consumer import AsyncConsumer
from rafka.clients.consumer.records import ConsumerRecord
from rafka.clients.sync import ClientThread
from rafka.clients.types import OffsetAndTimestamp, TopicPartition

__all__ = ["Consumer"]

Listener = Callable[[list[TopicPartition]], Any]


def _in_thread(callback: Listener | None) -> Listener | None:
    """Run a user's rebalance callback off the event loop, so it can call the consumer."""
    if callback is None:
        return None
    listener = callback

    async def run(partitions: list[TopicPartition]) -> None:
        await anyio.to_thread.run_sync(listener, partitions)

    return run


class Consumer:
    """The synchronous consumer: the same settings and methods as :class:`AsyncConsumer`."""

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        portal: anyio.from_thread.BlockingPortal | None = None,
        backend: str = "asyncio",
        **kwargs: Any,
    ) -> None:
        self._async = AsyncConsumer(config, **kwargs)
        self._thread = ClientThread(self._async, portal, backend)

    @property
    def async_consumer(self) -> AsyncConsumer:
        return self._async

    def _call(self, fn: Any, *args: Any) -> Any:
        async def run() -> Any:
            return fn(*args)

        return self._thread.call(run)

    def assign(self, partitions: Iterable[tuple[str, int]]) -> None:
        self._call(self._async.assign, list(partitions))

    def subscribe(
        self,
        topics: Iterable[str] | str = (),
        *,
        pattern: str | None = None,
        on_assign: Callable[[list[TopicPartition]], Any] | None = None,
        on_revoke: Callable[[list[TopicPartition]], Any] | None = None,
    ) -> None:
        """As :meth:`AsyncConsumer.subscribe`. The callbacks run on a worker thread (the
        event loop waits for them), so they may call this consumer's methods."""
        names = [topics] if isinstance(topics, str) else list(topics)

        async def subscribe() -> None:
            self._async.subscribe(
                names,
                pattern=pattern,
                on_assign=_in_thread(on_assign),
                on_revoke=_in_thread(on_revoke),
            )

        self._thread.call(subscribe)

    def subscription(self) -> set[str]:
        result: set[str] = self._call(self._async.subscription)
        return result

    def unsubscribe(self) -> None:
        self._call(self._async.unsubscribe)

    def commit(
        self,
        offsets: Mapping[tuple[str, int], int] | None = None,
        *,
        metadata: str = "",
        timeout: float | None = None,
    ) -> None:
        """As :meth:`AsyncConsumer.commit` (returns once the commit is acknowledged)."""

        async def commit() -> None:
            await self._async.commit(offsets, metadata=metadata, timeout=timeout)

        self._thread.call(commit)

    def committed(
        self, partitions: Iterable[tuple[str, int]], *, timeout: float | None = None
    ) -> dict[TopicPartition, int]:
        wanted = list(partitions)

        async def committed() -> dict[TopicPartition, int]:
            return await self._async.committed(wanted, timeout=timeout)

        result: dict[TopicPartition, int] = self._thread.call(committed)
        return result

    def assignment(self) -> set[TopicPartition]:
        result: set[TopicPartition] = self._call(self._async.assignment)
        return result

    def poll(self, timeout: float = 1.0, max_records: int | None = None) -> list[ConsumerRecord]:
        records: list[ConsumerRecord] = self._thread.call(self._async.poll, timeout, max_records)
        return records

    def __iter__(self) -> Iterator[ConsumerRecord]:
        while True:
            yield from self.poll(60.0)

    def seek(self, tp: tuple[str, int], offset: int) -> None:
        self._call(self._async.seek, tp, offset)

    def seek_to_beginning(self, *partitions: tuple[str, int]) -> None:
        self._call(self._async.seek_to_beginning, *partitions)

    def seek_to_end(self, *partitions: tuple[str, int]) -> None:
        self._call(self._async.seek_to_end, *partitions)

    def position(self, tp: tuple[str, int], timeout: float = 30.0) -> int:
        result: int = self._thread.call(self._async.position, tp, timeout)
        return result

    def pause(self, *partitions: tuple[str, int]) -> None:
        self._call(self._async.pause, *partitions)

    def resume(self, *partitions: tuple[str, int]) -> None:
        self._call(self._async.resume, *partitions)

    def paused(self) -> set[TopicPartition]:
        result: set[TopicPartition] = self._call(self._async.paused)
        return result

    def offsets_for_times(
        self, timestamps: Mapping[tuple[str, int], int]
    ) -> dict[TopicPartition, OffsetAndTimestamp | None]:
        result: dict[TopicPartition, OffsetAndTimestamp | None] = self._thread.call(
            self._async.offsets_for_times, timestamps
        )
        return result

    def beginning_offsets(self, partitions: Iterable[tuple[str, int]]) -> dict[TopicPartition, int]:
        result: dict[TopicPartition, int] = self._thread.call(
            self._async.beginning_offsets, list(partitions)
        )
        return result

    def end_offsets(self, partitions: Iterable[tuple[str, int]]) -> dict[TopicPartition, int]:
        result: dict[TopicPartition, int] = self._thread.call(
            self._async.end_offsets, list(partitions)
        )
        return result

    def close(self) -> None:
        self._thread.close()

    def __enter__(self) -> Consumer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

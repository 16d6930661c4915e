"""Synchronous clients: a thin facade over the async ones, run on an event-loop thread.

Each sync client owns (or, for ``cluster.producer()`` on a sync :class:`rafka.Cluster`,
borrows) an anyio blocking portal: an event loop on a background thread. The async client
lives inside one long-lived task on that loop, so its task groups nest correctly; calls from
the user's thread go through the portal.

``Producer.send()`` does not cross threads per record: as in Java's producer, the user's thread
appends to the record accumulator (under its lock) and wakes the sender on the event loop only
when a batch opens or fills. The returned future is safe to wait on from any thread.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

import anyio
import anyio.abc
import anyio.from_thread

from rafka.clients.admin import AsyncAdmin
from rafka.clients.producer import AsyncProducer, DeliveryFuture
from rafka.errors import ClientClosedError

__all__ = ["Admin", "ClientThread", "Producer"]

C = TypeVar("C")
P = ParamSpec("P")
R = TypeVar("R")


def _loop_callback() -> Callable[[Callable[[], None]], None]:
    """A cheap, thread-safe "run this plain function on the current event loop soon"."""
    import sniffio

    if sniffio.current_async_library() == "trio":
        import trio

        return trio.lowlevel.current_trio_token().run_sync_soon
    import asyncio

    loop = asyncio.get_running_loop()

    def call_soon(fn: Callable[[], None]) -> None:
        loop.call_soon_threadsafe(fn)

    return call_soon


class ClientThread(Generic[C]):
    """Runs an async client (an async context manager) on a portal's loop until closed."""

    def __init__(
        self,
        client: C,
        portal: anyio.from_thread.BlockingPortal | None = None,
        backend: str = "asyncio",
    ) -> None:
        self.client = client
        self._own_portal: contextlib.AbstractContextManager[Any] | None = None
        if portal is None:
            self._own_portal = anyio.from_thread.start_blocking_portal(backend)
            portal = self._own_portal.__enter__()
        self.portal = portal
        self._stop: anyio.Event | None = None
        self.loop_thread = -1
        self._call_soon: Callable[[Callable[[], None]], None] | None = None
        try:
            self._done, _ = portal.start_task(self._run)
        except BaseException:
            self._close_portal()
            raise

    async def _run(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        self.loop_thread = threading.get_ident()
        self._call_soon = _loop_callback()
        self._stop = anyio.Event()
        async with self.client:  # type: ignore[attr-defined]
            task_status.started()
            await self._stop.wait()

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run a plain function on the client's event loop soon (from any thread)."""
        if self._call_soon is None:
            raise RuntimeError("the client's event loop is not running")
        self._call_soon(fn)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.portal.call(fn, *args)

    def close(self) -> None:
        if self._stop is None:
            return
        stop, self._stop = self._stop, None
        try:
            self.portal.call(stop.set)
            self._done.result()
        finally:
            self._close_portal()

    def _close_portal(self) -> None:
        if self._own_portal is not None:
            portal, self._own_portal = self._own_portal, None
            portal.__exit__(None, None, None)


class Producer:
    """The synchronous producer: the same settings and methods as :class:`AsyncProducer`.

    >>> with Producer(bootstrap_servers="localhost:9092") as producer:   # doctest: +SKIP
    ...     producer.send("orders", b"value").result(10)
    """

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        portal: anyio.from_thread.BlockingPortal | None = None,
        backend: str = "asyncio",
        **kwargs: Any,
    ) -> None:
        self._async = AsyncProducer(config, **kwargs)
        self._async.accumulator.threaded = True
        self._poke_pending = False
        self._thread = ClientThread(self._async, portal, backend)
        self._async.poke = self._poke_from_thread

    @property
    def async_producer(self) -> AsyncProducer:
        return self._async

    def send(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        headers: Sequence[tuple[str, bytes | None]] | Mapping[str, bytes | None] | None = None,
        partition: int | None = None,
        timestamp: int | None = None,
        *,
        on_delivery: Callable[[DeliveryFuture], Any] | None = None,
    ) -> DeliveryFuture:
        """Queue a record; returns at once with a future of its metadata (``.result()``)."""
        future = self._async.try_send(topic, value, key, headers, partition, timestamp, on_delivery)
        if future is None:  # the topic's metadata is needed, or buffer.memory is full
            future = self._thread.call(
                self._send_waiting,
                topic,
                value,
                key,
                headers,
                partition,
                timestamp,
                on_delivery,
            )
        return future

    async def _send_waiting(
        self,
        topic: str,
        value: Any,
        key: Any,
        headers: Any,
        partition: int | None,
        timestamp: int | None,
        on_delivery: Any,
    ) -> DeliveryFuture:
        return await self._async.send(
            topic, value, key, headers, partition, timestamp, on_delivery=on_delivery
        )

    def _poke_from_thread(self) -> None:
        """Wake the sender from the user's thread, once per burst."""
        if threading.get_ident() == self._thread.loop_thread:
            self._async.sender.poke()
            return
        if self._poke_pending:
            return
        self._poke_pending = True
        self._thread.call_soon(self._poke_on_loop)

    def _poke_on_loop(self) -> None:
        self._poke_pending = False
        self._async.sender.poke()

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every record sent so far is acknowledged or failed."""

        async def flush() -> None:
            with anyio.fail_after(timeout):
                await self._async.flush()

        self._thread.call(flush)

    def partitions_for(self, topic: str) -> list[int]:
        result: list[int] = self._thread.call(self._async.partitions_for, topic)
        return result

    def close(self, timeout: float | None = None) -> None:
        """Send what is buffered, then stop."""
        with contextlib.suppress(Exception):
            self.flush(timeout)
        self._thread.close()

    def __enter__(self) -> Producer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _blocking(
    method: Callable[Concatenate[AsyncAdmin, P], Awaitable[R]],
) -> Callable[Concatenate[Admin, P], R]:
    """The sync twin of an :class:`AsyncAdmin` method: the same arguments, run on the client's
    event loop, blocking until it answers (or raises)."""

    @functools.wraps(method)
    def call(self: Admin, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if self._async.closed:  # its event loop may be gone too
            raise ClientClosedError("the admin client is closed")
        result: R = self._thread.call(functools.partial(method, self._async, *args, **kwargs))
        return result

    return call


class Admin:
    """The synchronous admin client: the same settings and methods as :class:`AsyncAdmin`
    (see it for each method), blocking until the cluster answers.

    >>> with Admin(bootstrap_servers="localhost:9092") as admin:   # doctest: +SKIP
    ...     admin.create_topics(NewTopic("orders", num_partitions=3))
    """

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        portal: anyio.from_thread.BlockingPortal | None = None,
        backend: str = "asyncio",
        **kwargs: Any,
    ) -> None:
        self._async = AsyncAdmin(config, **kwargs)
        self._thread = ClientThread(self._async, portal, backend)

    @property
    def async_admin(self) -> AsyncAdmin:
        return self._async

    create_topics = _blocking(AsyncAdmin.create_topics)
    delete_topics = _blocking(AsyncAdmin.delete_topics)
    list_topics = _blocking(AsyncAdmin.list_topics)
    describe_topics = _blocking(AsyncAdmin.describe_topics)
    create_partitions = _blocking(AsyncAdmin.create_partitions)
    describe_configs = _blocking(AsyncAdmin.describe_configs)
    alter_configs = _blocking(AsyncAdmin.alter_configs)
    incremental_alter_configs = _blocking(AsyncAdmin.incremental_alter_configs)
    delete_records = _blocking(AsyncAdmin.delete_records)
    list_offsets = _blocking(AsyncAdmin.list_offsets)
    list_groups = _blocking(AsyncAdmin.list_groups)
    describe_groups = _blocking(AsyncAdmin.describe_groups)
    delete_groups = _blocking(AsyncAdmin.delete_groups)
    list_group_offsets = _blocking(AsyncAdmin.list_group_offsets)
    alter_group_offsets = _blocking(AsyncAdmin.alter_group_offsets)
    delete_group_offsets = _blocking(AsyncAdmin.delete_group_offsets)
    describe_cluster = _blocking(AsyncAdmin.describe_cluster)
    describe_log_dirs = _blocking(AsyncAdmin.describe_log_dirs)

    @property
    def closed(self) -> bool:
        return self._async.closed

    def close(self) -> None:
        """Stop (calls still running fail with :class:`~rafka.errors.ClientClosedError`)."""
        self._thread.close()

    def __enter__(self) -> Admin:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

"""Embedded clusters: :class:`AsyncCluster` on the caller's event loop, :class:`Cluster` on a
background event-loop thread for synchronous code.

>>> import rafka
>>> with rafka.Cluster(listen=True) as cluster:          # doctest: +SKIP
...     print(cluster.bootstrap_servers)
127.0.0.1:52311
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import anyio.abc
import anyio.from_thread

from rafka.cluster.broker import Broker
from rafka.cluster.clock import ClusterClock
from rafka.cluster.core import ClusterCore
from rafka.server.listener import Listener

__all__ = ["AsyncCluster", "Cluster"]


class AsyncCluster:
    """A Kafka cluster in this process, driven by the running anyio event loop.

    :param brokers: how many brokers (node ids 1..N).
    :param data_dir: keep logs and metadata on disk there; memory when None.
    :param listen: open a TCP listener per broker on ``host`` so real clients can connect.
    :param config: broker properties by Kafka's names (``{"num.partitions": 3}``).
    :param port: the first broker's port when listening (0 picks a free one); the others
        always pick free ports.
    """

    def __init__(
        self,
        brokers: int = 1,
        *,
        data_dir: str | Path | None = None,
        listen: bool = False,
        config: Mapping[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | None = None,
        clock: ClusterClock | None = None,
    ) -> None:
        self.core = ClusterCore(brokers, config=config, data_dir=data_dir, clock=clock, seed=seed)
        self.listen = listen
        self.host = host
        self.port = port
        self.listeners: dict[int, Listener] = {}
        self._stack: contextlib.AsyncExitStack | None = None

    @property
    def brokers(self) -> dict[int, Broker]:
        return self.core.brokers

    @property
    def cluster_id(self) -> str:
        return self.core.cluster_id

    @property
    def bootstrap_servers(self) -> str:
        """``host:port,...`` of every listening broker (only with ``listen=True``)."""
        if not self.listeners:
            raise RuntimeError("this cluster is not listening: create it with listen=True")
        return ",".join(f"{self.host}:{lst.port}" for lst in self.listeners.values())

    def transport(self, *, client_id: str = "rafka", through_codec: bool = False) -> Any:
        """An in-process transport into this cluster, for rafka's clients."""
        from rafka.inprocess import InProcessTransport

        return InProcessTransport(self.core, client_id=client_id, through_codec=through_codec)

    def producer(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        through_codec: bool = False,
        **kwargs: Any,
    ) -> Any:
        """An :class:`~rafka.clients.producer.AsyncProducer` connected in process (use as
        ``async with``)."""
        from rafka.clients.producer import AsyncProducer

        return AsyncProducer(
            config, transport=self.transport(through_codec=through_codec), **kwargs
        )

    def admin(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        through_codec: bool = False,
        **kwargs: Any,
    ) -> Any:
        """An :class:`~rafka.clients.admin.AsyncAdmin` connected in process (use as
        ``async with``)."""
        from rafka.clients.admin import AsyncAdmin

        transport = self.transport(client_id="rafka-admin", through_codec=through_codec)
        return AsyncAdmin(config, transport=transport, **kwargs)

    def consumer(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        through_codec: bool = False,
        **kwargs: Any,
    ) -> Any:
        """An :class:`~rafka.clients.consumer.AsyncConsumer` connected in process (use as
        ``async with``)."""
        from rafka.clients.consumer import AsyncConsumer

        return AsyncConsumer(
            config, transport=self.transport(through_codec=through_codec), **kwargs
        )

    async def start(self) -> None:
        if self._stack is not None:
            raise RuntimeError("cluster already started")
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            stack.callback(self.core.close)  # logs close after every task has ended
            tg = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(tg.cancel_scope.cancel)  # background work ends after the listeners
            stack.push_async_callback(self._stop_listeners)
            await tg.start(self.core.run)
            for index, (node_id, broker) in enumerate(self.core.brokers.items()):
                if self.listen:
                    listener = Listener(broker, self.host, self.port if index == 0 else 0)
                    broker.host, broker.port = self.host, await listener.bind()
                    self.listeners[node_id] = listener
                    await tg.start(listener.serve)
                else:
                    broker.port = 0  # in-process only: no address clients could use
                self.core.register(broker)
        except BaseException:
            await stack.__aexit__(None, None, None)
            raise
        self._stack = stack

    async def _stop_listeners(self) -> None:
        with anyio.CancelScope(shield=True):
            for broker in self.core.brokers.values():
                broker.group_coordinator.shutdown()  # parked joins answer now, not at timeout
            for listener in self.listeners.values():
                await listener.stop()

    async def stop(self) -> None:
        """Stop listening (in-flight requests finish), then stop every background task."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.__aexit__(None, None, None)

    async def __aenter__(self) -> AsyncCluster:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class Cluster:
    """A Kafka cluster in this process for synchronous code.

    The cluster runs on its own event-loop thread; ``with Cluster(...) as cluster:`` starts
    it and stops it. Takes the same arguments as :class:`AsyncCluster`, plus ``backend``
    (``"asyncio"`` or ``"trio"``).
    """

    def __init__(self, brokers: int = 1, *, backend: str = "asyncio", **kwargs: Any) -> None:
        self._cluster = AsyncCluster(brokers, **kwargs)
        self._backend = backend
        self._portal_cm: Any = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._stopped: anyio.Event | None = None
        self._run_future: Future[None] | None = None

    @property
    def async_cluster(self) -> AsyncCluster:
        return self._cluster

    @property
    def portal(self) -> anyio.from_thread.BlockingPortal:
        if self._portal is None:
            raise RuntimeError("the cluster is not running: use `with Cluster() as c:`")
        return self._portal

    @property
    def brokers(self) -> dict[int, Broker]:
        return self._cluster.brokers

    @property
    def cluster_id(self) -> str:
        return self._cluster.cluster_id

    @property
    def bootstrap_servers(self) -> str:
        return self._cluster.bootstrap_servers

    def producer(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        through_codec: bool = False,
        **kwargs: Any,
    ) -> Any:
        """A sync :class:`~rafka.clients.sync.Producer` connected in process, running on
        this cluster's event loop."""
        from rafka.clients.sync import Producer

        transport = self._cluster.transport(through_codec=through_codec)
        return Producer(config, portal=self.portal, transport=transport, **kwargs)

    def admin(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        through_codec: bool = False,
        **kwargs: Any,
    ) -> Any:
        """A sync :class:`~rafka.clients.sync.Admin` connected in process, running on this
        cluster's event loop."""
        from rafka.clients.sync import Admin

        transport = self._cluster.transport(client_id="rafka-admin", through_codec=through_codec)
        return Admin(config, portal=self.portal, transport=transport, **kwargs)

    def consumer(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        through_codec: bool = False,
        **kwargs: Any,
    ) -> Any:
        """A sync :class:`~rafka.clients.consumer.sync.Consumer` connected in process, running
        on this cluster's event loop."""
        from rafka.clients.consumer.sync import Consumer

        transport = self._cluster.transport(through_codec=through_codec)
        return Consumer(config, portal=self.portal, transport=transport, **kwargs)

    async def _run(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        self._stopped = anyio.Event()
        async with self._cluster:
            task_status.started()
            await self._stopped.wait()

    def start(self) -> None:
        if self._portal is not None:
            raise RuntimeError("cluster already started")
        self._portal_cm = anyio.from_thread.start_blocking_portal(self._backend)
        self._portal = self._portal_cm.__enter__()
        try:
            self._run_future, _ = self._portal.start_task(self._run)
        except BaseException:
            self._portal_cm.__exit__(None, None, None)
            self._portal = None
            raise

    def stop(self) -> None:
        portal, self._portal = self._portal, None
        if portal is None:
            return
        try:
            if self._stopped is not None:
                portal.call(self._stopped.set)
            if self._run_future is not None:
                self._run_future.result()
        finally:
            self._portal_cm.__exit__(None, None, None)

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

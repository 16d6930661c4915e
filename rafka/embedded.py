"""Embedded clusters: :class:`AsyncCluster` on the caller's event loop, :class:`Cluster` on a
background event-loop thread for synchronous code.

>>> import rafka
>>> with rafka.Cluster(listen=True) as cluster:          # doctest: +SKIP
...     print(cluster.bootstrap_servers)
127.0.0.1:52311
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import anyio.abc
import anyio.from_thread

from rafka.cluster import inspect as inspection
from rafka.cluster.broker import Broker
from rafka.cluster.clock import ClusterClock, VirtualClock
from rafka.cluster.core import ClusterCore
from rafka.cluster.snapshot import ClusterSnapshot, groups_loaded, restore_snapshot, take_snapshot
from rafka.faults import AsyncClusterFaults, ClusterFaults
from rafka.server.listener import Listener

__all__ = ["AsyncCluster", "Cluster"]


class AsyncCluster(AsyncClusterFaults):
    """A Kafka cluster in this process, driven by the running anyio event loop.

    :param brokers: how many brokers (node ids 1..N).
    :param data_dir: keep logs and metadata on disk there; memory when None.
    :param listen: open a TCP listener per broker on ``host`` so real clients can connect.
    :param config: broker properties by Kafka's names (``{"num.partitions": 3}``).
    :param port: the first broker's port when listening (0 picks a free one); the others
        always pick free ports.
    :param seed: seeds every random choice (cluster id, member ids), for repeatable runs.
    :param clock: ``"system"`` (default), ``"virtual"`` (time moves only in :meth:`advance`;
        see docs/testing.md) or a :class:`~rafka.cluster.clock.ClusterClock`.
    :param kafka_version: emulate that Apache Kafka release line's protocol (``"2.8"``,
        ``"3.6"``, any of 2.0-4.1): its ApiVersions, and refusal of versions it lacked.
    :param journal: record every request from the start (``cluster.journal``; see
        docs/testing.md). Fault plans: ``cluster.faults``; broker faults: ``stop_broker``,
        ``kill_broker``, ``restart_broker``, ``isolate_broker``, ``set_latency``,
        ``move_leader`` (see :class:`~rafka.faults.AsyncClusterFaults`).
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
        clock: ClusterClock | str | None = None,
        kafka_version: str | None = None,
        journal: bool = False,
    ) -> None:
        self.core = ClusterCore(
            brokers,
            config=config,
            data_dir=data_dir,
            clock=clock,
            seed=seed,
            kafka_version=kafka_version,
        )
        self.listen = listen
        self.host = host
        self.port = port
        self.listeners: dict[int, Listener] = {}
        self._stack: contextlib.AsyncExitStack | None = None
        self._init_faults(seed=seed, journal=journal)

    @property
    def brokers(self) -> dict[int, Broker]:
        return self.core.brokers

    @property
    def cluster_id(self) -> str:
        return self.core.cluster_id

    @property
    def clock(self) -> ClusterClock:
        """The clock every broker of this cluster reads."""
        return self.core.clock

    async def advance(self, ms: int) -> None:
        """Move a virtual clock forward ``ms`` milliseconds: every timer due fires in order
        and what it wakes runs before this returns (see :class:`VirtualClock`)."""
        clock = self.core.clock
        if not isinstance(clock, VirtualClock):
            raise TypeError(
                "advance() needs a virtual clock: create the cluster with clock='virtual'"
            )
        await clock.advance(ms)

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
            self._task_group = tg  # restarted brokers' listeners run here
            stack.callback(setattr, self, "_task_group", None)
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

    # ------------------------------------------------------- snapshots and state (testing.md)

    def snapshot(self) -> ClusterSnapshot:
        """Capture topics, configs, logs, producer and group state (in-memory clusters)."""
        return take_snapshot(self.core)

    async def restore(self, snapshot: ClusterSnapshot, *, timeout: float = 10.0) -> None:
        """Put a snapshot back; returns once the group coordinators have reloaded."""
        restore_snapshot(self.core, snapshot)
        if self._stack is not None:
            with anyio.fail_after(timeout):
                while not groups_loaded(self.core):
                    await anyio.sleep(0.001)

    def list_topics(self, *, include_internal: bool = False) -> list[str]:
        return inspection.list_topics(self.core, include_internal=include_internal)

    def describe_topic(self, name: str) -> inspection.TopicState | None:
        return inspection.describe_topic(self.core, name)

    def describe_partition(self, topic: str, partition: int = 0) -> inspection.PartitionState:
        return inspection.describe_partition(self.core, topic, partition)

    def read_topic(self, name: str, partition: int | None = None) -> list[inspection.StoredRecord]:
        return inspection.read_topic(self.core, name, partition)

    def list_groups(self) -> list[str]:
        return inspection.list_groups(self.core)

    def describe_group(self, group_id: str) -> inspection.GroupState | None:
        return inspection.describe_group(self.core, group_id)

    async def wait_for_group_state(
        self, group_id: str, state: str, timeout: float = 10.0
    ) -> inspection.GroupState | None:
        """Wait until the group is in ``state`` ("Dead": gone); TimeoutError after ``timeout``
        seconds."""
        deadline = time.monotonic() + timeout
        while True:
            group = inspection.describe_group(self.core, group_id)
            if inspection.in_state(group, state):
                return group
            if time.monotonic() >= deadline:
                raise TimeoutError(inspection.not_in_state(group_id, group, state, timeout))
            await anyio.sleep(0.005)


class Cluster(ClusterFaults):
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

    @property
    def clock(self) -> ClusterClock:
        return self._cluster.clock

    def advance(self, ms: int) -> None:
        """Move a virtual clock forward ``ms`` milliseconds (see :meth:`AsyncCluster.advance`)."""
        self.portal.call(self._cluster.advance, ms)

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

    # ------------------------------------------------------- snapshots and state (testing.md)

    def snapshot(self) -> ClusterSnapshot:
        """Capture topics, configs, logs, producer and group state (in-memory clusters)."""
        return self.portal.call(take_snapshot, self._cluster.core)

    def restore(self, snapshot: ClusterSnapshot, *, timeout: float = 10.0) -> None:
        """Put a snapshot back; returns once the group coordinators have reloaded."""
        self.portal.call(lambda: self._cluster.restore(snapshot, timeout=timeout))

    def list_topics(self, *, include_internal: bool = False) -> list[str]:
        core = self._cluster.core
        return self.portal.call(
            lambda: inspection.list_topics(core, include_internal=include_internal)
        )

    def describe_topic(self, name: str) -> inspection.TopicState | None:
        return self.portal.call(inspection.describe_topic, self._cluster.core, name)

    def describe_partition(self, topic: str, partition: int = 0) -> inspection.PartitionState:
        return self.portal.call(inspection.describe_partition, self._cluster.core, topic, partition)

    def read_topic(self, name: str, partition: int | None = None) -> list[inspection.StoredRecord]:
        return self.portal.call(inspection.read_topic, self._cluster.core, name, partition)

    def list_groups(self) -> list[str]:
        return self.portal.call(inspection.list_groups, self._cluster.core)

    def describe_group(self, group_id: str) -> inspection.GroupState | None:
        return self.portal.call(inspection.describe_group, self._cluster.core, group_id)

    def wait_for_group_state(
        self, group_id: str, state: str, timeout: float = 10.0
    ) -> inspection.GroupState | None:
        """Wait until the group is in ``state`` ("Dead": gone); TimeoutError after ``timeout``
        seconds. Blocks the calling thread (from async code, run it with
        ``anyio.to_thread.run_sync``)."""
        deadline = time.monotonic() + timeout
        while True:
            group = self.describe_group(group_id)
            if inspection.in_state(group, state):
                return group
            if time.monotonic() >= deadline:
                raise TimeoutError(inspection.not_in_state(group_id, group, state, timeout))
            time.sleep(0.005)

"""Faults and the request journal of an embedded cluster (``cluster.faults``, ``cluster.journal``,
``cluster.stop_broker(2)``, ...): the testing toolkit's "what if" and "what happened".

:class:`AsyncClusterFaults` and :class:`ClusterFaults` are the parts of
:class:`~rafka.AsyncCluster` and :class:`~rafka.Cluster` that do this; the engine lives in
:mod:`rafka.cluster.faults` (plans, error responses, broker lifecycle) and
:mod:`rafka.cluster.journal`. See docs/testing.md, "Fault plans" and "Request journal".

>>> with rafka.Cluster(brokers=3, listen=True, seed=7) as cluster:         # doctest: +SKIP
...     with cluster.faults.add({"api": "Produce", "error": "NOT_LEADER_OR_FOLLOWER",
...                              "times": 3}) as plan:
...         ...  # a producer retries three times, then succeeds
...     assert plan.fired == 3
...     cluster.stop_broker(2)       # controlled shutdown: leaders move to in-sync replicas
...     cluster.restart_broker(2)    # same port, same data
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from rafka.cluster.faults import (
    BrokerLifecycle,
    FaultHandle,
    FaultInjector,
    FaultPlan,
    RequestHooks,
)
from rafka.cluster.journal import Journal, JournalEntry
from rafka.server.listener import Listener

if TYPE_CHECKING:
    import anyio.abc
    import anyio.from_thread

    from rafka.cluster.core import ClusterCore
    from rafka.embedded import AsyncCluster

__all__ = [
    "AsyncClusterFaults",
    "ClusterFaults",
    "FaultHandle",
    "FaultInjector",
    "FaultPlan",
    "Journal",
    "JournalEntry",
]

ISOLATION_MODES = ("refuse", "hang")


class AsyncClusterFaults:
    """Broker faults, leadership moves, fault plans and the journal of an
    :class:`~rafka.AsyncCluster` (a base class of it)."""

    core: ClusterCore
    listen: bool
    host: str
    listeners: dict[int, Listener]
    _hooks: RequestHooks
    _lifecycle: BrokerLifecycle
    _task_group: anyio.abc.TaskGroup | None
    _isolated: dict[int, str]

    def _init_faults(self, *, seed: int | None, journal: bool) -> None:
        self._hooks = RequestHooks(self.core.brokers, seed=seed)
        self._lifecycle = BrokerLifecycle(self.core)
        self._task_group = None
        self._isolated = {}
        if journal:
            self._hooks.journal.start()

    # -------------------------------------------------------------------- plans and journal

    @property
    def faults(self) -> FaultInjector:
        """This cluster's fault plans: ``add(plan or dict)``, ``remove``, ``clear``."""
        return self._hooks.faults

    @property
    def journal(self) -> Journal:
        """This cluster's request journal (off until ``start()``, or ``journal=True``)."""
        return self._hooks.journal

    def requests(
        self,
        api: str | int | None = None,
        *,
        client_id: str | None = None,
        topic: str | None = None,
        broker: int | None = None,
        outcome: str | None = None,
    ) -> list[JournalEntry]:
        """Journal entries matching every criterion given (see :meth:`Journal.query`)."""
        return self._hooks.journal.query(
            api, client_id=client_id, topic=topic, broker=broker, outcome=outcome
        )

    # ------------------------------------------------------------------------------- brokers

    async def stop_broker(self, node_id: int) -> None:
        """Stop a broker as a controlled shutdown: its leaderships move to other in-sync
        replicas, in-flight requests finish, its listener closes, its logs are flushed."""
        lifecycle = self._lifecycle
        if not lifecycle.is_running(node_id):
            return
        lifecycle.fence(node_id)
        lifecycle.broker(node_id).reachable = False
        await self._close_listener(node_id, abort=False)
        lifecycle.shut_down(node_id, clean=True)

    async def kill_broker(self, node_id: int) -> None:
        """Kill a broker: connections drop mid-request, nothing is flushed, no clean-shutdown
        marker (an on-disk broker recovers its logs when it starts again).

        The controller fences the killed broker at once: it leaves every ISR and its
        leaderships move on return. Apache Kafka's controller does that only once
        ``broker.session.timeout.ms`` (9 s by default) has passed without a heartbeat from
        it, so against a real cluster wait for the new leader rather than expect it."""
        lifecycle = self._lifecycle
        if not lifecycle.is_running(node_id):
            return
        lifecycle.broker(node_id).reachable = False
        await self._close_listener(node_id, abort=True)
        lifecycle.shut_down(node_id, clean=False)

    async def start_broker(self, node_id: int) -> None:
        """Start a stopped or killed broker: same port, same data; it rejoins the cluster."""
        lifecycle = self._lifecycle
        if lifecycle.is_running(node_id):
            raise RuntimeError(f"broker {node_id} is running")
        lifecycle.open(node_id)
        self._isolated.pop(node_id, None)
        self.faults.set_broker_plan("hang", node_id, None)
        await self._open_listener(node_id)
        lifecycle.rejoin(node_id)

    async def restart_broker(self, node_id: int, *, kill: bool = False) -> None:
        """Stop (or ``kill``) a broker, then start it again."""
        if self._lifecycle.is_running(node_id):
            if kill:
                await self.kill_broker(node_id)
            else:
                await self.stop_broker(node_id)
        await self.start_broker(node_id)

    def broker_running(self, node_id: int) -> bool:
        return self._lifecycle.is_running(node_id)

    async def isolate_broker(self, node_id: int, mode: str = "refuse") -> None:
        """Cut clients off a broker that keeps running (it still leads, replicates and stays
        in the ISRs): ``"refuse"`` closes its listener and connections (connections are
        refused; in process, TransportError); ``"hang"`` accepts connections and requests
        but never answers (clients time out). :meth:`heal_broker` undoes it."""
        if mode not in ISOLATION_MODES:
            raise ValueError(f"mode must be one of {ISOLATION_MODES}, not {mode!r}")
        lifecycle = self._lifecycle
        if not lifecycle.is_running(node_id):
            raise RuntimeError(f"broker {node_id} is not running")
        if node_id in self._isolated:
            await self.heal_broker(node_id)
        self._isolated[node_id] = mode
        if mode == "refuse":
            lifecycle.broker(node_id).reachable = False
            await self._close_listener(node_id, abort=True)
        else:
            plan = FaultPlan(broker=node_id, drop=True, name=f"broker {node_id} hangs")
            self.faults.set_broker_plan("hang", node_id, plan)

    async def heal_broker(self, node_id: int) -> None:
        """Make an isolated broker reachable again."""
        mode = self._isolated.pop(node_id, None)
        if mode == "refuse":
            await self._open_listener(node_id)
            self._lifecycle.broker(node_id).reachable = True
        elif mode == "hang":
            self.faults.set_broker_plan("hang", node_id, None)

    def set_latency(self, node_id: int, seconds: float | None) -> None:
        """Delay every request to broker ``node_id`` by ``seconds`` (0 or None: no delay)."""
        self._lifecycle.broker(node_id)
        plan = None
        if seconds:
            plan = FaultPlan(broker=node_id, delay=seconds, name=f"broker {node_id} latency")
        self.faults.set_broker_plan("latency", node_id, plan)

    # ---------------------------------------------------------------------------- leadership

    def move_leader(self, topic: str, partition: int, *, to: int) -> None:
        """Elect broker ``to`` (an in-sync replica) leader of ``topic``-``partition``."""
        self._lifecycle.move_leader(topic, partition, to)

    def move_coordinator(self, group_id: str, *, to: int) -> int:
        """Make broker ``to`` the group coordinator of ``group_id`` (it must hold an in-sync
        replica of the group's ``__consumer_offsets`` partition); returns that partition."""
        return self._lifecycle.move_coordinator(group_id, to)

    def leader_of(self, topic: str, partition: int) -> int:
        """The node id of the partition's leader (-1: none)."""
        return self._lifecycle.leader_of(topic, partition)

    # ------------------------------------------------------------------------------ network

    async def _close_listener(self, node_id: int, *, abort: bool) -> None:
        listener = self.listeners.get(node_id)
        if listener is None:
            return
        if abort:
            await listener.abort()
        else:
            await listener.stop()

    async def _open_listener(self, node_id: int) -> None:
        if not self.listen:
            return
        tg = self._task_group
        if tg is None:
            raise RuntimeError("the cluster is not running")
        broker = self.core.brokers[node_id]
        listener = Listener(broker, self.host, broker.port)
        await listener.bind()
        self.listeners[node_id] = listener
        await tg.start(listener.serve)


class ClusterFaults:
    """The same for the synchronous :class:`~rafka.Cluster` (a base class of it): every call
    runs on the cluster's event loop and returns when done."""

    _cluster: AsyncCluster

    @property
    def portal(self) -> anyio.from_thread.BlockingPortal:
        raise NotImplementedError

    @property
    def faults(self) -> FaultInjector:
        """This cluster's fault plans (safe to change from any thread)."""
        return self._cluster.faults

    @property
    def journal(self) -> Journal:
        return self._cluster.journal

    def requests(
        self,
        api: str | int | None = None,
        *,
        client_id: str | None = None,
        topic: str | None = None,
        broker: int | None = None,
        outcome: str | None = None,
    ) -> list[JournalEntry]:
        """Journal entries matching every criterion given (see :meth:`Journal.query`)."""
        return self._cluster.requests(
            api, client_id=client_id, topic=topic, broker=broker, outcome=outcome
        )

    def _call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        return self.portal.call(functools.partial(func, *args, **kwargs))

    def stop_broker(self, node_id: int) -> None:
        """See :meth:`AsyncClusterFaults.stop_broker`."""
        self._call(self._cluster.stop_broker, node_id)

    def kill_broker(self, node_id: int) -> None:
        """See :meth:`AsyncClusterFaults.kill_broker`."""
        self._call(self._cluster.kill_broker, node_id)

    def start_broker(self, node_id: int) -> None:
        """See :meth:`AsyncClusterFaults.start_broker`."""
        self._call(self._cluster.start_broker, node_id)

    def restart_broker(self, node_id: int, *, kill: bool = False) -> None:
        """See :meth:`AsyncClusterFaults.restart_broker`."""
        self._call(self._cluster.restart_broker, node_id, kill=kill)

    def broker_running(self, node_id: int) -> bool:
        return bool(self._call(self._cluster.broker_running, node_id))

    def isolate_broker(self, node_id: int, mode: str = "refuse") -> None:
        """See :meth:`AsyncClusterFaults.isolate_broker`."""
        self._call(self._cluster.isolate_broker, node_id, mode)

    def heal_broker(self, node_id: int) -> None:
        self._call(self._cluster.heal_broker, node_id)

    def set_latency(self, node_id: int, seconds: float | None) -> None:
        """See :meth:`AsyncClusterFaults.set_latency`."""
        self._call(self._cluster.set_latency, node_id, seconds)

    def move_leader(self, topic: str, partition: int, *, to: int) -> None:
        """See :meth:`AsyncClusterFaults.move_leader`."""
        self._call(self._cluster.move_leader, topic, partition, to=to)

    def move_coordinator(self, group_id: str, *, to: int) -> int:
        """See :meth:`AsyncClusterFaults.move_coordinator`."""
        return int(self._call(self._cluster.move_coordinator, group_id, to=to))

    def leader_of(self, topic: str, partition: int) -> int:
        return int(self._call(self._cluster.leader_of, topic, partition))

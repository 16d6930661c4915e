"""A cluster's fault plans, and how they act on one request.

For each request, every plan is tried in the order they were added (the cluster's own
per-broker plans — latency, a hung broker — last): a plan whose criteria match counts the
match and asks its trigger (:meth:`FaultPlan.decide`). Plans that fire add their delays and
throttle; the first one that fires with an error, drop, close or corrupt action decides the
request's fate and ends the search (later plans do not count that request).

Then: sleep the delays (on the cluster clock), then close / answer with the error / serve,
then set the throttle, then drop or corrupt the response.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rafka.cluster.broker import CloseConnection
from rafka.cluster.faults.effects import DropResponse, MangledResponse
from rafka.cluster.faults.inspect import group_ids, request_items, transactional_ids
from rafka.cluster.faults.plan import FaultPlan
from rafka.cluster.faults.responses import build_error_response, set_throttle
from rafka.protocol._message import Message

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker
    from rafka.cluster.request import RequestContext

__all__ = ["FaultHandle", "FaultInjector"]

log = logging.getLogger("rafka.faults")

Serve = Callable[["RequestContext", Message], Awaitable[Message | None]]


class FaultHandle:
    """A plan added to a cluster: how often it matched and fired, and how to remove it.

    Also a context manager: the plan is removed when the block ends.
    """

    def __init__(self, injector: FaultInjector, plan: FaultPlan) -> None:
        self._injector = injector
        self.plan = plan

    @property
    def fired(self) -> int:
        return self.plan.fired

    @property
    def matched(self) -> int:
        return self.plan.matched

    @property
    def active(self) -> bool:
        return self.plan in self._injector.plans

    def remove(self) -> None:
        """Stop the plan (a no-op when it is already removed)."""
        self._injector.remove(self.plan)

    def __enter__(self) -> FaultHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()

    def __repr__(self) -> str:
        state = "active" if self.active else "removed"
        return f"<FaultHandle {self.plan.describe()!r} {state} fired={self.fired}>"


class _RequestView:
    """What plans may ask about one request, each read once and only when asked."""

    __slots__ = ("_groups", "_items", "_txn", "broker", "ctx", "request")

    def __init__(self, broker: Broker, ctx: RequestContext, request: Message) -> None:
        self.broker = broker
        self.ctx = ctx
        self.request = request
        self._items: list[tuple[str, int | None]] | None = None
        self._groups: set[str] | None = None
        self._txn: set[str] | None = None

    @property
    def items(self) -> list[tuple[str, int | None]]:
        if self._items is None:
            image = self.broker.controller.image

            def name_of(topic_id: Any) -> str | None:
                topic = image.topics_by_id.get(topic_id)
                return None if topic is None else topic.name

            self._items = request_items(self.request, self.ctx.api_version, name_of)
        return self._items

    @property
    def groups(self) -> set[str]:
        if self._groups is None:
            self._groups = group_ids(self.request, self.ctx.api_key, self.ctx.api_version)
        return self._groups

    @property
    def transactional_ids(self) -> set[str]:
        if self._txn is None:
            self._txn = transactional_ids(self.request, self.ctx.api_key, self.ctx.api_version)
        return self._txn


def _matches(plan: FaultPlan, view: _RequestView) -> bool:
    ctx = view.ctx
    if not plan.matches_request(view.broker.node_id, ctx.api_key, ctx.api_version, ctx.client_id):
        return False
    if plan.scoped and not any(plan.matches_item(t, p) for t, p in view.items):
        return False
    if plan.group_id is not None and not plan.matches_any(view.groups, plan.group_id):
        return False
    return plan.transactional_id is None or plan.matches_any(
        view.transactional_ids, plan.transactional_id
    )


def _terminal(plan: FaultPlan) -> bool:
    return plan.error is not None or plan.drop or plan.close or plan.corrupt is not None


class FaultInjector:
    """The fault plans of one cluster (``cluster.faults``).

    ``seed`` seeds each plan's probability draws (plan n draws from ``Random(f"{seed}:{n}")``
    unless it has its own ``seed``), so a cluster built with a seed fires the same way on
    every run for the same requests. ``changed`` is called when the set of plans changes.
    Adding and removing plans is safe from any thread (the sync ``Cluster``'s too).
    """

    def __init__(
        self, *, seed: int | str | None = None, changed: Callable[[], None] = lambda: None
    ) -> None:
        self._seed = seed if seed is not None else random.SystemRandom().getrandbits(64)
        self._changed = changed
        self._plans: tuple[FaultPlan, ...] = ()
        self._broker_plans: dict[tuple[str, int], FaultPlan] = {}
        self._numbers = itertools.count()

    # ------------------------------------------------------------------------------- control

    @property
    def plans(self) -> list[FaultPlan]:
        """The plans added with :meth:`add`, in order."""
        return list(self._plans)

    @property
    def active(self) -> bool:
        return bool(self._plans or self._broker_plans)

    def add(self, plan: FaultPlan | Mapping[str, Any]) -> FaultHandle:
        """Add a plan (a :class:`FaultPlan` or its dict form); returns its handle."""
        plan = FaultPlan.of(plan)
        if plan in self._plans:
            raise ValueError("this plan is already active")
        plan.seeded(f"{self._seed}:{next(self._numbers)}")
        self._plans = (*self._plans, plan)
        self._changed()
        return FaultHandle(self, plan)

    def extend(self, plans: list[FaultPlan | Mapping[str, Any]]) -> list[FaultHandle]:
        """Add several plans (e.g. a pytest marker's ``faults=[...]``)."""
        return [self.add(p) for p in plans]

    def remove(self, plan: FaultPlan | FaultHandle) -> None:
        target = plan.plan if isinstance(plan, FaultHandle) else plan
        self._plans = tuple(p for p in self._plans if p is not target)
        self._changed()

    def clear(self) -> None:
        """Remove every plan added with :meth:`add` (broker latency and hangs stay)."""
        self._plans = ()
        self._changed()

    def __enter__(self) -> FaultInjector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.clear()

    def set_broker_plan(self, kind: str, node_id: int, plan: FaultPlan | None) -> None:
        """The cluster's own plan ``kind`` (``"latency"``, ``"hang"``) for one broker."""
        if plan is None:
            self._broker_plans = {
                key: p for key, p in self._broker_plans.items() if key != (kind, node_id)
            }
        else:
            plan.seeded(f"{self._seed}:{kind}:{node_id}")
            self._broker_plans = {**self._broker_plans, (kind, node_id): plan}
        self._changed()

    def broker_plan(self, kind: str, node_id: int) -> FaultPlan | None:
        return self._broker_plans.get((kind, node_id))

    # ----------------------------------------------------------------------------- requests

    def verdict(
        self,
        broker: Broker,
        ctx: RequestContext,
        request: Message,
        fired: list[str] | None = None,
    ) -> tuple[float, int | None, FaultPlan | None]:
        """The plans' verdict on one request: ``(delay, throttle_ms, terminal plan)``, counting
        each plan's matches and firings; the descriptions of those that fire go to ``fired``."""
        view = _RequestView(broker, ctx, request)
        delay = 0.0
        throttle: int | None = None
        for plan in (*self._plans, *self._broker_plans.values()):
            if not _matches(plan, view) or not plan.decide():
                continue
            if fired is not None:
                fired.append(plan.describe())
            delay += plan.delay
            if plan.throttle_ms is not None:
                throttle = plan.throttle_ms
            if _terminal(plan):
                return delay, throttle, plan
        return delay, throttle, None

    async def apply(
        self,
        broker: Broker,
        ctx: RequestContext,
        request: Message,
        serve: Serve,
        fired: list[str] | None = None,
    ) -> Message | None:
        """Serve one request through the plans (see the module docstring)."""
        delay, throttle, terminal = self.verdict(broker, ctx, request, fired)
        if delay > 0:
            await broker.clock.sleep(delay)
        if terminal is not None and terminal.close:
            raise CloseConnection(f"closed by a fault plan ({terminal.describe()})")
        if terminal is not None and terminal.error is not None:
            response = await build_error_response(broker, ctx, request, terminal, serve)
        else:
            response = await serve(ctx, request)
        if response is not None and throttle is not None:
            set_throttle(response, ctx.api_version, throttle)
        if terminal is not None and terminal.drop:
            raise DropResponse(f"dropped by a fault plan ({terminal.describe()})")
        if terminal is not None and terminal.corrupt is not None and response is not None:
            raise MangledResponse(ctx, response, terminal.corrupt)
        return response

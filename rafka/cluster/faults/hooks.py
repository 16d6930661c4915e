"""The journal and the fault plans of one cluster, on its brokers' request path.

:class:`RequestHooks` installs one interceptor in every broker (``Broker.interceptor``) while
the journal records or any fault is planned, and removes it otherwise, so a cluster without
either pays one attribute check per request. Requests flow::

    Broker.handle -> journal (records) -> fault plans (delay, error, drop, ...) -> Broker.serve
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rafka.cluster.faults.injector import FaultInjector
from rafka.cluster.journal import Journal
from rafka.protocol._message import Message

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker
    from rafka.cluster.request import RequestContext

__all__ = ["RequestHooks"]


class RequestHooks:
    """``journal`` and ``faults`` of the brokers in ``brokers`` (one cluster)."""

    def __init__(
        self,
        brokers: Mapping[int, Broker],
        *,
        seed: int | str | None = None,
        journal_limit: int | None = None,
    ) -> None:
        self.brokers = brokers
        self.journal = Journal(self._topic_name, self._update, limit=journal_limit)
        self.faults = FaultInjector(seed=seed, changed=self._update)

    def _topic_name(self, topic_id: Any) -> str | None:
        for broker in self.brokers.values():
            topic = broker.controller.image.topics_by_id.get(topic_id)
            return None if topic is None else topic.name
        return None

    def _update(self) -> None:
        hook = self._intercept if (self.journal.recording or self.faults.active) else None
        for broker in self.brokers.values():
            broker.interceptor = hook

    async def _intercept(
        self, broker: Broker, ctx: RequestContext, request: Message
    ) -> Message | None:
        if self.journal.recording:
            return await self.journal.record(broker, ctx, request, self._faulted)
        return await self._faulted(broker, ctx, request, None)

    async def _faulted(
        self, broker: Broker, ctx: RequestContext, request: Message, fired: list[str] | None
    ) -> Message | None:
        if self.faults.active:
            return await self.faults.apply(broker, ctx, request, broker.serve, fired)
        return await broker.serve(ctx, request)

"""rafka's asynchronous admin client.

    async with AsyncAdmin(bootstrap_servers="localhost:9092") as admin:
        await admin.create_topics(NewTopic("orders", num_partitions=3))
        description = await admin.describe_topics("orders")

or, in process, ``async with cluster.admin() as admin:``. The operations live in the mixins
(:mod:`.topics`, :mod:`.configs`, :mod:`.records`, :mod:`.groups`, :mod:`.offsets`,
:mod:`.cluster`); this module holds the settings and the lifecycle. Close the client from the
task that opened it (as ``async with`` does): its connections live in that task's scope.

Timeouts: each request waits at most ``request.timeout.ms``; each call at most
``default.api.timeout.ms`` (or its own ``timeout=`` in seconds) in all, retries included,
then fails with :class:`~rafka.errors.ClientTimeoutError`. As in Kafka, an explicitly set
``default.api.timeout.ms`` below ``request.timeout.ms`` is a config error, and an unset one
follows a larger ``request.timeout.ms``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import anyio

from rafka import errors
from rafka.clients.admin.cluster import ClusterMixin
from rafka.clients.admin.configs import ConfigsMixin
from rafka.clients.admin.groups import GroupsMixin
from rafka.clients.admin.offsets import GroupOffsetsMixin
from rafka.clients.admin.records import RecordsMixin
from rafka.clients.admin.routing import Router
from rafka.clients.admin.topics import TopicsMixin
from rafka.clients.config import ADMIN_KEYS, ClientConfig
from rafka.clients.tcp import TcpTransport
from rafka.clients.transport import Transport

__all__ = ["AsyncAdmin"]


class AsyncAdmin(
    TopicsMixin, ConfigsMixin, RecordsMixin, GroupsMixin, GroupOffsetsMixin, ClusterMixin
):
    """Administers a Kafka cluster (rafka's or any other). Use as ``async with``.

    :param config: settings by Kafka's names (``{"request.timeout.ms": 5000}``).
    :param transport: how to reach the brokers; ``cluster.admin()`` passes an in-process
        one, otherwise ``bootstrap_servers`` is required and TCP is used.
    :param kwargs: the same settings as keywords (``request_timeout_ms=5000``).

    Calls on several items answer per item (:class:`~rafka.clients.admin.Results`); see
    :mod:`rafka.clients.admin.results` for the convention.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        transport: Transport | None = None,
        **kwargs: Any,
    ) -> None:
        self.config = cfg = ClientConfig(ADMIN_KEYS, config, kwargs, "admin")
        request_ms = cfg["request.timeout.ms"]
        api_ms = cfg["default.api.timeout.ms"]
        if api_ms < request_ms:
            if cfg.is_set("default.api.timeout.ms"):
                raise errors.ConfigError(
                    f"default.api.timeout.ms ({api_ms}) must be at least request.timeout.ms "
                    f"({request_ms})"
                )
            api_ms = request_ms
        if transport is None:
            servers = cfg["bootstrap.servers"]
            if not servers:
                raise errors.ConfigError("bootstrap_servers is required (or use cluster.admin())")
            transport = TcpTransport(
                servers,
                client_id=cfg["client.id"] or "rafka-admin",
                connect_timeout=cfg["socket.connection.setup.timeout.ms"] / 1000,
                reconnect_backoff_ms=cfg["reconnect.backoff.ms"],
                reconnect_backoff_max_ms=cfg["reconnect.backoff.max.ms"],
            )
        self.transport = transport
        self._router = Router(
            transport,
            request_timeout=request_ms / 1000,
            retry_backoff=cfg["retry.backoff.ms"] / 1000,
            retry_backoff_max=cfg["retry.backoff.max.ms"] / 1000,
        )
        self._default_timeout = api_ms / 1000
        self._closed = False
        self._started = False
        self._scopes: set[anyio.CancelScope] = set()
        self._stack: contextlib.AsyncExitStack | None = None

    # ---------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Get ready to send (``async with`` does this). Connects lazily: an unreachable
        cluster fails the first call, within its timeout, not this."""
        if self._closed:
            raise errors.ClientClosedError("the admin client is closed")
        if self._started:
            return
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            if isinstance(self.transport, TcpTransport):
                await stack.enter_async_context(self.transport)
            else:
                stack.push_async_callback(self.transport.close)
        except BaseException:
            await stack.__aexit__(None, None, None)
            raise
        self._stack = stack
        self._started = True

    async def close(self) -> None:
        """Stop: calls still running fail with :class:`~rafka.errors.ClientClosedError`,
        later ones too."""
        if self._closed:
            return
        self._closed = True
        for scope in list(self._scopes):
            scope.cancel()
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.__aexit__(None, None, None)  # the connections (their task group)

    @property
    def closed(self) -> bool:
        return self._closed

    async def __aenter__(self) -> AsyncAdmin:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

"""A broker: the request handlers of one Kafka node and the partitions it hosts.

Requests reach :meth:`Broker.handle` the same way whether they came over TCP (through
:meth:`Broker.handle_frame`, which decodes and encodes) or from an in-process client (which
passes message objects). Exceptions become response error codes in exactly one place, here:
a typed :class:`~rafka.errors.KafkaError` raised by a handler becomes that error in the
response; anything else is a bug, logged loudly and answered with UNKNOWN_SERVER_ERROR.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.clock import ClusterClock
from rafka.cluster.config import BrokerConfig
from rafka.cluster.fetch_session import FetchSessionCache
from rafka.cluster.groups import GroupCoordinator
from rafka.cluster.request import Handler, RequestContext, load_handlers
from rafka.errors import DecodeError
from rafka.protocol import framing
from rafka.protocol._message import Message
from rafka.protocol.messages import API_SPECS, ApiVersionsResponse

if TYPE_CHECKING:
    from rafka.cluster.emulation import KafkaRelease
    from rafka.cluster.metadata.controller import Controller
    from rafka.cluster.replica_manager import ReplicaManager

__all__ = ["Broker", "CloseConnection", "Interceptor"]

log = logging.getLogger("rafka.broker")

API_VERSIONS_KEY = 18


Interceptor = Callable[["Broker", RequestContext, Message], Awaitable[Message | None]]


class CloseConnection(Exception):
    """The request cannot be answered; Kafka closes the connection in this case."""


class Broker:
    """One Kafka broker inside a :class:`~rafka.cluster.cluster.ClusterCore`."""

    def __init__(
        self,
        node_id: int,
        config: BrokerConfig,
        controller: Controller,
        clock: ClusterClock,
        *,
        host: str = "127.0.0.1",
        port: int = -1,
        rack: str | None = None,
        rng: random.Random | None = None,
        kafka_release: KafkaRelease | None = None,
    ) -> None:
        self.node_id = node_id
        #: The Apache Kafka release this broker emulates (None: rafka's own, Kafka 4.1).
        self.kafka_release = kafka_release
        self.config = config
        self.controller = controller
        self.clock = clock
        self.host = host
        self.port = port
        self.rack = rack
        self.handlers: dict[int, Handler] = load_handlers()
        self.fetch_sessions = FetchSessionCache(
            int(config.get("max.incremental.fetch.session.cache.slots"))
        )
        self._replica_manager: ReplicaManager | None = None
        self._producer_ids = (0, 0)  # (next id, end of the block)
        self.group_coordinator = GroupCoordinator(self, rng)
        #: The cluster's request journal and fault plans (rafka.cluster.faults.hooks), set
        #: only while one of them is active: :meth:`handle` goes through it.
        self.interceptor: Interceptor | None = None
        #: False while the broker is stopped or cut off: in-process clients cannot reach it.
        self.reachable = True

    @property
    def replica_manager(self) -> ReplicaManager:
        if self._replica_manager is None:
            raise RuntimeError(f"broker {self.node_id} has no replica manager")
        return self._replica_manager

    @replica_manager.setter
    def replica_manager(self, value: ReplicaManager) -> None:
        self._replica_manager = value

    def next_producer_id(self) -> int:
        """A producer id from this broker's block, taking a new block when it runs out."""
        nxt, end = self._producer_ids
        if nxt >= end:
            nxt, count = self.controller.allocate_producer_ids(self.node_id)
            end = nxt + count
        self._producer_ids = (nxt + 1, end)
        return nxt

    @property
    def cluster_id(self) -> str:
        return self.controller.image.cluster_id

    def api_versions(self) -> list[tuple[int, int, int]]:
        """``(api_key, min_version, max_version)`` of every API this broker serves."""
        unstable = bool(self.config.get("unstable.api.versions.enable"))
        out = []
        for key, handler in sorted(self.handlers.items()):
            hi = handler.max_version
            if (
                API_SPECS[key].latest_version_unstable
                and not unstable
                and hi == (API_SPECS[key].max_version)
            ):
                hi -= 1
            out.append((key, handler.min_version, hi))
        if self.kafka_release is not None:
            return self.kafka_release.cap(out)
        return out

    def is_enabled(self, api_key: int, version: int) -> bool:
        return any(k == api_key and lo <= version <= hi for k, lo, hi in self.api_versions())

    # ----------------------------------------------------------------------------- requests

    async def handle(self, ctx: RequestContext, request: Message) -> Message | None:
        """Serve one decoded request; the response, or None when none is sent.

        Through the cluster's journal and fault plans when either is active (a fault may
        also raise :class:`CloseConnection` or one of the effects of
        :mod:`rafka.cluster.faults.effects`, which the transports carry out).
        """
        if self.interceptor is not None:
            return await self.interceptor(self, ctx, request)
        return await self.serve(ctx, request)

    async def serve(self, ctx: RequestContext, request: Message) -> Message | None:
        """Serve one decoded request with its handler (no journal, no faults)."""
        handler = self.handlers.get(ctx.api_key)
        if (
            handler is None
            or not handler.supports(ctx.api_version)
            or (
                self.kafka_release is not None
                and not self.kafka_release.allows(ctx.api_key, ctx.api_version)
            )
        ):
            raise errors.UnsupportedVersionError(
                f"{API_SPECS[ctx.api_key].name} v{ctx.api_version} is not supported"
            )
        try:
            return await handler.handle(self, ctx, request)
        except CloseConnection:
            raise
        except errors.KafkaError as exc:
            return handler.error_response(request, ctx.api_version, exc)
        except Exception as exc:
            log.exception(
                "broker %d: bug while handling %s v%d from %s",
                self.node_id,
                API_SPECS[ctx.api_key].name,
                ctx.api_version,
                ctx.client_id,
            )
            return handler.error_response(
                request,
                ctx.api_version,
                errors.UnknownServerError(
                    f"unexpected {type(exc).__name__} in rafka (a bug): {exc}"
                ),
            )

    async def handle_frame(
        self, frame: bytes, connection_id: str = "in-process", client_host: str = "127.0.0.1"
    ) -> bytearray | None:
        """Serve one request frame (without its size prefix); the response frame or None.

        Raises :class:`CloseConnection` when Kafka would close the connection: an unknown API
        key, a version this broker does not serve, or bytes that do not decode.
        """
        try:
            api_key, version, correlation_id = framing.peek_request(frame)
        except DecodeError as exc:
            raise CloseConnection(str(exc)) from None
        if api_key == API_VERSIONS_KEY and not self.is_enabled(api_key, version):
            # A client may ask with a version newer than ours: answer v0 with our versions.
            return framing.encode_response(
                API_VERSIONS_KEY, 0, correlation_id, self.unsupported_api_versions_response()
            )
        if not self.is_enabled(api_key, version):
            raise CloseConnection(f"API key {api_key} version {version} is not enabled")
        try:
            header, request = framing.decode_request(frame)
        except (DecodeError, LookupError) as exc:
            raise CloseConnection(f"cannot decode request: {exc}") from None
        ctx = RequestContext(
            api_key, version, correlation_id, header.client_id, connection_id, client_host
        )
        response = await self.handle(ctx, request)
        if response is None:
            return None
        return framing.encode_response(api_key, version, correlation_id, response)

    def unsupported_api_versions_response(self) -> ApiVersionsResponse:
        return ApiVersionsResponse(
            error_code=errors.UnsupportedVersionError.code,
            api_keys=[
                ApiVersionsResponse.ApiVersion(key, lo, hi) for key, lo, hi in self.api_versions()
            ],
        )

"""The in-process transport: rafka's clients talking to brokers in the same event loop.

Requests go straight to :meth:`rafka.cluster.broker.Broker.handle`, the same handler TCP
requests reach, without sockets and (by default) without encoding. ``through_codec=True``
encodes and decodes every request and response instead, exactly as the wire would, which
catches version mistakes that passing objects cannot (a field a version does not carry).

A stopped broker is unreachable (:class:`TransportError`), as a dead TCP peer would be.
Fault plans act here as over TCP: a closed connection is a :class:`TransportError`, a dropped
response makes the request time out, a corrupted one raises :class:`DecodeError` (see
:mod:`rafka.cluster.faults.effects`).
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import anyio

from rafka import errors
from rafka.clients.transport import Node, TransportError, broker_of, choose_version
from rafka.cluster.broker import CloseConnection
from rafka.cluster.faults.effects import DropResponse, MangledResponse
from rafka.cluster.request import RequestContext
from rafka.protocol import framing
from rafka.protocol._message import Message
from rafka.protocol.messages import API_SPECS
from rafka.protocol.messages.request_header import RequestHeader

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker
    from rafka.cluster.core import ClusterCore

__all__ = ["InProcessTransport"]

_connection_ids = itertools.count(1)


class InProcessTransport:
    """A :class:`~rafka.clients.transport.Transport` into a :class:`ClusterCore`."""

    def __init__(
        self, core: ClusterCore, *, client_id: str = "rafka", through_codec: bool = False
    ) -> None:
        self.core = core
        self.client_id = client_id
        self.through_codec = through_codec
        self._connection = f"in-process-{next(_connection_ids)}"
        self._correlation = itertools.count(1)

    def bootstrap_nodes(self) -> list[int]:
        return [-1]

    def update_nodes(self, nodes: list[Node]) -> None:
        pass

    def _broker(self, node_id: int) -> Broker:
        if node_id < 0:
            for broker in self.core.brokers.values():
                if broker.replica_manager.running and broker.reachable:
                    return broker
            raise TransportError("no broker of this cluster is running")
        found = self.core.brokers.get(broker_of(node_id))
        if found is None or not found.replica_manager.running or not found.reachable:
            raise TransportError(f"broker {node_id} is not running")
        return found

    async def api_versions(self, node_id: int) -> dict[int, tuple[int, int]]:
        return {key: (lo, hi) for key, lo, hi in self._broker(node_id).api_versions()}

    async def request(
        self,
        node_id: int,
        request: Message,
        *,
        version: int | None = None,
        expect_response: bool = True,
        timeout: float = 30.0,
    ) -> Message | None:
        broker = self._broker(node_id)
        api_key = request.API_KEY  # type: ignore[attr-defined]
        if version is None:
            versions = {key: (lo, hi) for key, lo, hi in broker.api_versions()}
            version = choose_version(api_key, versions.get(api_key), None)
        correlation = next(self._correlation)
        try:
            with anyio.fail_after(timeout if math.isfinite(timeout) else None):
                try:
                    if self.through_codec:
                        response = await self._through_codec(broker, request, version, correlation)
                    else:
                        ctx = RequestContext(
                            api_key, version, correlation, self.client_id, self._connection
                        )
                        response = await broker.handle(ctx, request)
                except DropResponse:
                    if not expect_response:
                        return None
                    await anyio.sleep_forever()  # the response never comes: time out
                    raise
        except TimeoutError:
            raise errors.RequestTimedOutError(
                f"no response from broker {broker.node_id} to {API_SPECS[api_key].name} "
                f"within {timeout:.1f} s"
            ) from None
        except CloseConnection as exc:
            raise TransportError(f"broker {broker.node_id} closed the connection: {exc}") from None
        except MangledResponse as exc:
            raise errors.DecodeError(f"bad response from broker {broker.node_id}: {exc}") from None
        if not expect_response:
            return None
        return response

    async def _through_codec(
        self, broker: Broker, request: Message, version: int, correlation: int
    ) -> Message | None:
        api_key = request.API_KEY  # type: ignore[attr-defined]
        frame = framing.encode_request(
            RequestHeader(api_key, version, correlation, self.client_id), request
        )
        response = await broker.handle_frame(bytes(frame[4:]), self._connection)
        if response is None:
            return None
        return framing.decode_response(bytes(response[4:]), api_key, version)[1]

    async def close(self) -> None:
        pass

"""How rafka's clients reach brokers: the :class:`Transport` seam.

A transport sends one request to one node and returns its response. Two implementations:

- :class:`rafka.clients.tcp.TcpTransport`: the Kafka wire protocol over TCP to any Kafka
  (rafka's listener, Apache Kafka, any compatible cluster);
- rafka's in-process transport (``cluster.producer()`` and friends, in :mod:`rafka.embedded`):
  calls the broker's request handler directly, with no sockets and no encoding.

Clients above this seam see only nodes (ids), requests and responses. Node ids of bootstrap
servers, before metadata names the brokers, are negative (-1, -2, ...), as in Kafka's clients.
Versions are negotiated per node from its ApiVersions answer: the highest version both sides
support.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from rafka import errors
from rafka.protocol._message import Message
from rafka.protocol.messages import API_SPECS

__all__ = [
    "Node",
    "Transport",
    "TransportError",
    "broker_of",
    "choose_version",
    "coordinator_node",
]

#: Node ids from here up name a second connection to broker ``_COORDINATOR_BASE - id``.
_COORDINATOR_BASE = 2**31 - 1
_COORDINATOR_MIN = 2**30


def coordinator_node(broker_id: int) -> int:
    """The node id under which a client talks to ``broker_id`` as its group coordinator.

    A broker answers one connection's requests in order, so a commit or heartbeat sent on
    the connection that carries a long-poll fetch would wait out the fetch's ``max_wait_ms``.
    Like Kafka's clients, rafka's give the coordinator a connection of its own.
    """
    return _COORDINATOR_BASE - broker_id


def broker_of(node_id: int) -> int:
    """The broker a node id (a broker's own or :func:`coordinator_node`'s) connects to."""
    return _COORDINATOR_BASE - node_id if node_id >= _COORDINATOR_MIN else node_id


class TransportError(errors.RafkaError, ConnectionError):
    """A node could not be reached, or its connection broke with requests in flight.

    Retriable: clients refresh metadata and retry with backoff.
    """

    retriable = True


@attrs.frozen
class Node:
    node_id: int
    host: str
    port: int
    rack: str | None = None


def choose_version(api_key: int, broker: tuple[int, int] | None, wanted_max: int | None) -> int:
    """The highest version of ``api_key`` both this client and the broker support."""
    spec = API_SPECS[api_key]
    hi = spec.max_version if wanted_max is None else min(spec.max_version, wanted_max)
    lo = spec.min_version
    if broker is not None:
        lo, hi = max(lo, broker[0]), min(hi, broker[1])
    if lo > hi:
        raise errors.UnsupportedVersionError(
            f"the broker supports {spec.name} versions {broker}, this client "
            f"{spec.min_version}-{spec.max_version}: no common version"
        )
    return hi


class Transport(Protocol):
    """Requests to nodes. Implementations are used from one event loop."""

    def bootstrap_nodes(self) -> list[int]:
        """Node ids to ask for metadata before any is known (negative for bootstrap)."""
        ...

    def update_nodes(self, nodes: list[Node]) -> None:
        """The brokers as metadata describes them (addresses may change)."""
        ...

    async def api_versions(self, node_id: int) -> dict[int, tuple[int, int]]:
        """``api_key -> (min, max)`` the node serves."""
        ...

    async def request(
        self,
        node_id: int,
        request: Message,
        *,
        version: int | None = None,
        expect_response: bool = True,
        timeout: float = 30.0,
    ) -> Message | None:
        """Send ``request`` (at ``version``, or the best common one) and await its response.

        Raises :class:`TransportError` when the node is unreachable or the connection breaks,
        and ``rafka.errors.RequestTimedOutError`` after ``timeout`` seconds.
        """
        ...

    async def close(self) -> None: ...

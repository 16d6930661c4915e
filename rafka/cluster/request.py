"""What a handler knows about the request it serves, and the table of handlers.

A handler module serves one API. It declares ``API_KEY``, ``VERSIONS`` (the inclusive range
it implements), ``async def handle(broker, ctx, request)`` returning the response message (or
None when no response is sent, as for acks=0 produce), and optionally
``error_response(request, version, error)`` for APIs whose errors live per topic or
partition. ApiVersions advertises exactly the registered handlers' ranges.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import attrs

from rafka.errors import KafkaError
from rafka.protocol._message import Message
from rafka.protocol.messages import API_SPECS

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

__all__ = ["Handler", "RequestContext", "load_handlers"]


@attrs.define
class RequestContext:
    """One request: who sent it, how, and at which version."""

    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    connection_id: str = "in-process"
    client_host: str = "127.0.0.1"
    listener: str = "PLAINTEXT"


HandleFn = Callable[["Broker", RequestContext, Any], Awaitable[Message | None]]
ErrorFn = Callable[[Any, int, KafkaError], Message]


@attrs.frozen
class Handler:
    api_key: int
    min_version: int
    max_version: int
    handle: HandleFn
    error_response: ErrorFn

    def supports(self, version: int) -> bool:
        return self.min_version <= version <= self.max_version


def top_level_error_response(request: Any, version: int, error: KafkaError) -> Message:
    """The response with ``error_code`` (and ``error_message``) set at the top level."""
    spec = API_SPECS[request.API_KEY]
    response = spec.response_class()
    if hasattr(response, "error_code"):
        response.error_code = error.code
    if hasattr(response, "error_message"):
        response.error_message = error.message
    return response


HANDLER_MODULES = (
    "api_versions",
    "metadata",
    "produce",
    "fetch",
    "list_offsets",
    "init_producer_id",
    "create_topics",
    "delete_topics",
    "describe_cluster",
    "create_partitions",
    "describe_configs",
    "alter_configs",
    "incremental_alter_configs",
    "delete_records",
    "offset_for_leader_epoch",
    "describe_log_dirs",
    "describe_topic_partitions",
    "find_coordinator",
    "join_group",
    "sync_group",
    "heartbeat",
    "leave_group",
    "describe_groups",
    "list_groups",
    "delete_groups",
    "offset_commit",
    "offset_fetch",
    "offset_delete",
    "consumer_group_heartbeat",
    "consumer_group_describe",
)


def _handler(module: ModuleType) -> Handler:
    lo, hi = module.VERSIONS
    spec = API_SPECS[module.API_KEY]
    if lo < spec.min_version or hi > spec.max_version:
        raise RuntimeError(f"{module.__name__} claims versions outside {spec.name}'s range")
    return Handler(
        module.API_KEY,
        lo,
        hi,
        module.handle,
        getattr(module, "error_response", top_level_error_response),
    )


def load_handlers() -> dict[int, Handler]:
    handlers = {}
    for name in HANDLER_MODULES:
        handler = _handler(importlib.import_module(f"rafka.cluster.handlers.{name}"))
        handlers[handler.api_key] = handler
    return handlers

"""Error responses built generically, for any API and version.

An error goes where Kafka puts it for that API, found through the generated schemas:

1. A request that names topics (or partitions), answered by a response with a topic array:
   the picked items (every item, or those a scoped plan matches) get the error in the
   response's topic or partition entries; the other items are served for real (a request
   without the picked items reaches the handler, so a Produce to an "errored" partition
   appends nothing). Fetch is served whole (its fetch session must see every partition);
   Metadata is always served (brokers, cluster id), with an empty topic list when every
   topic is picked; a Metadata request for all topics gets the error in every topic.
2. Otherwise the error the handler would return if it raised it: the handler's own
   ``error_response`` (per group, per resource, ...), or the top-level ``error_code``.
3. A response with no top-level error code and nothing else to pick: served, then every
   ``error_code`` in it is set (:func:`fill_errors`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs

from rafka import errors
from rafka.cluster.faults.inspect import Item, TopicLayout, request_items, topic_layout
from rafka.cluster.request import top_level_error_response
from rafka.protocol._message import KafkaStruct, Message
from rafka.protocol.messages import API_SPECS

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker
    from rafka.cluster.faults.plan import FaultPlan
    from rafka.cluster.request import RequestContext

__all__ = ["build_error_response", "fill_errors", "set_throttle"]

Serve = Callable[["RequestContext", Message], Awaitable[Message | None]]

_PRODUCE, _FETCH, _METADATA = 0, 1, 3


def _has(struct: type[KafkaStruct] | KafkaStruct, name: str, version: int) -> bool:
    return any(f.name == name and f.present_in(version) for f in struct._SCHEMA)


def _set_error(struct: KafkaStruct, version: int, code: int, message: str | None) -> bool:
    if not _has(struct, "error_code", version):
        return False
    struct.error_code = code  # type: ignore[attr-defined]
    if message is not None and _has(struct, "error_message", version):
        struct.error_message = message  # type: ignore[attr-defined]
    return True


def _unknown_offsets(struct: KafkaStruct, version: int) -> None:
    """-1 in the offsets, watermarks, timestamps and epochs of a new error entry, as Kafka
    answers them for a partition in error."""
    for f in struct._SCHEMA:
        if not f.present_in(version):
            continue
        if (f.type == "int64" and any(w in f.name for w in ("offset", "watermark", "time"))) or (
            f.type == "int32" and f.name.endswith("epoch")
        ):
            setattr(struct, f.name, -1)


def fill_errors(message: KafkaStruct, version: int, code: int, text: str | None) -> int:
    """Set every ``error_code`` (and ``error_message``) present at ``version`` in
    ``message`` and the structs nested in it; returns how many were set."""
    count = int(_set_error(message, version, code, text))
    for f in message._SCHEMA:
        if f.struct is None or not f.present_in(version):
            continue
        value = getattr(message, f.name, None)
        for element in value if isinstance(value, list) else (value,):
            if isinstance(element, KafkaStruct):
                count += fill_errors(element, version, code, text)
    return count


def set_throttle(response: Message, version: int, throttle_ms: int) -> None:
    if _has(response, "throttle_time_ms", version):
        response.throttle_time_ms = throttle_ms  # type: ignore[attr-defined]


class _Topics:
    """Topic names and ids from the cluster's metadata image."""

    def __init__(self, broker: Broker) -> None:
        self.image = broker.controller.image

    def name_of(self, topic_id: Any) -> str | None:
        topic = self.image.topics_by_id.get(topic_id)
        return None if topic is None else topic.name

    def id_of(self, name: str) -> Any:
        topic = self.image.topics.get(name)
        return None if topic is None else topic.topic_id


def without_items(message: Any, layout: TopicLayout, drop: set[Item], topics: _Topics) -> Any:
    """A copy of ``message`` without the topic/partition items in ``drop``."""
    kept: list[Any] = []
    for element in getattr(message, layout.field, None) or ():
        topic = layout.topic_of(element, topics.name_of)
        parts = layout.partitions_of(element)
        if parts is None:
            if (topic, None) not in drop:
                kept.append(element)
            continue
        assert layout.parts_field is not None
        raw = getattr(element, layout.parts_field)
        keep = [r for r, p in zip(raw, parts, strict=True) if (topic, p) not in drop]
        if len(keep) == len(raw):
            kept.append(element)
        elif keep:
            kept.append(attrs.evolve(element, **{layout.parts_field: keep}))
    return attrs.evolve(message, **{layout.field: kept})


def add_error_items(
    response: Message,
    layout: TopicLayout,
    version: int,
    items: list[Item],
    code: int,
    text: str | None,
    topics: _Topics,
) -> None:
    """Give each item its own entry in ``response`` (new or existing) carrying the error."""
    assert layout.struct is not None
    entries: list[Any] = getattr(response, layout.field)
    if entries is None:
        entries = []
        setattr(response, layout.field, entries)
    by_topic = {layout.topic_of(e, topics.name_of): e for e in entries}
    for topic, partition in items:
        entry = by_topic.get(topic)
        if entry is None:
            entry = layout.struct()
            if layout.name_field is not None:
                setattr(entry, layout.name_field, topic)
            if layout.id_field is not None:
                topic_id = topics.id_of(topic)
                if topic_id is not None:
                    setattr(entry, layout.id_field, topic_id)
            entries.append(entry)
            by_topic[topic] = entry
        if partition is None or layout.parts_field is None or layout.part_struct is None:
            _set_error(entry, version, code, text)
            continue
        assert layout.part_key is not None
        parts: list[Any] = getattr(entry, layout.parts_field)
        found = next((p for p in parts if getattr(p, layout.part_key) == partition), None)
        if found is None:
            found = layout.part_struct()
            _unknown_offsets(found, version)
            setattr(found, layout.part_key, partition)
            parts.append(found)
        _set_error(found, version, code, text)


async def build_error_response(
    broker: Broker, ctx: RequestContext, request: Message, plan: FaultPlan, serve: Serve
) -> Message | None:
    """The response to ``request`` carrying ``plan``'s error (see the module docstring)."""
    version = ctx.api_version
    code = plan.error_code
    text = plan.error_message or f"injected by a rafka fault plan ({plan.describe()})"
    spec = API_SPECS[ctx.api_key]
    topics = _Topics(broker)
    req_layout = topic_layout(type(request), version)
    resp_layout = topic_layout(spec.response_class, version)
    items = request_items(request, version, topics.name_of) if req_layout else []
    if ctx.api_key == _PRODUCE and getattr(request, "acks", -1) == 0:
        return None  # acks=0: no response whatever happens
    if req_layout is not None and items and resp_layout is not None and resp_layout.struct:
        picked = [it for it in items if not plan.scoped or plan.matches_item(*it)]
        picked_set = set(picked)
        rest = [it for it in items if it not in picked_set]
        if ctx.api_key == _FETCH and rest:
            base = await serve(ctx, request)
        elif rest or ctx.api_key == _METADATA:
            base = await serve(ctx, without_items(request, req_layout, picked_set, topics))
        else:
            base = spec.response_class()
        if base is not None:
            add_error_items(base, resp_layout, version, picked, code, text, topics)
        return base
    if ctx.api_key == _METADATA:  # errors live per topic; brokers and the rest stay real
        response = await serve(ctx, request)
        for entry in getattr(response, "topics", None) or ():
            _set_error(entry, version, code, text)
        return response
    exc = errors.for_code(code)(text)
    handler = broker.handlers.get(ctx.api_key)
    if handler is not None and handler.error_response is not top_level_error_response:
        return handler.error_response(request, version, exc)
    if _has(spec.response_class, "error_code", version):
        return top_level_error_response(request, version, exc)
    response = await serve(ctx, request)
    if response is not None:
        fill_errors(response, version, code, text)
    return response

"""Error responses built generically: every API at every version, and scoped errors on
requests drawn by Hypothesis (the picked items get the error, the rest is served)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rafka.cluster.faults import FaultPlan
from rafka.cluster.faults.effects import mangle_frame
from rafka.cluster.faults.inspect import request_items, topic_layout
from rafka.cluster.faults.responses import add_error_items, build_error_response, fill_errors
from rafka.cluster.metadata.image import MetadataImage, TopicImage
from rafka.cluster.request import RequestContext, load_handlers
from rafka.protocol import framing
from rafka.protocol._message import Message
from rafka.protocol.messages import API_SPECS
from tests.strategies import message_strategy

NOT_LEADER = 6
TOPICS = ("alpha", "beta", "gamma")
IDS = {name: uuid.UUID(int=i + 1) for i, name in enumerate(TOPICS)}


def _broker() -> Any:
    image = MetadataImage("cluster", 1)
    for name, topic_id in IDS.items():
        topic = TopicImage(name, topic_id)
        image.topics[name] = topic
        image.topics_by_id[topic_id] = topic
    return SimpleNamespace(
        node_id=1, handlers=load_handlers(), controller=SimpleNamespace(image=image)
    )


BROKER = _broker()


def _names(topic_id: uuid.UUID) -> str | None:
    topic = BROKER.controller.image.topics_by_id.get(topic_id)
    return None if topic is None else topic.name


def _api_versions() -> list[tuple[int, int]]:
    return [
        (key, version)
        for key, spec in sorted(API_SPECS.items())
        if spec.module is not None
        for version in spec.versions
    ]


class _Served:
    """A fake handler: answers every item of the request it gets with error code 0."""

    def __init__(self) -> None:
        self.requests: list[Message] = []

    async def __call__(self, ctx: RequestContext, request: Message) -> Message:
        self.requests.append(request)
        spec = API_SPECS[ctx.api_key]
        response = spec.response_class()
        layout = topic_layout(spec.response_class, ctx.api_version)
        if layout is not None and layout.struct is not None:
            items = request_items(request, ctx.api_version, _names)
            add_error_items(response, layout, ctx.api_version, items, 0, None, _Topics())
        return response


class _Topics:
    def name_of(self, topic_id: Any) -> str | None:
        return _names(topic_id)

    def id_of(self, name: str) -> Any:
        return IDS.get(name)


def _build(request: Message, key: int, version: int, plan: FaultPlan, serve: _Served) -> Any:
    ctx = RequestContext(key, version, 1, "test")

    async def run() -> Any:
        return await build_error_response(BROKER, ctx, request, plan, serve)

    return anyio.run(run)


@pytest.mark.parametrize(("key", "version"), _api_versions())
def test_every_api_and_version_gets_an_encodable_error_response(key: int, version: int) -> None:
    spec = API_SPECS[key]
    response = _build(spec.request_class(), key, version, FaultPlan(error=NOT_LEADER), _Served())
    if response is None:
        assert key == 0  # acks=0 produce: nothing is sent
        return
    frame = framing.encode_response(key, version, 1, response)
    _, decoded = framing.decode_response(bytes(frame[4:]), key, version)
    assert type(decoded) is spec.response_class


def _error_codes(response: Any, key: int, version: int) -> dict[tuple[str, int | None], int]:
    """(topic, partition) -> error code of every entry of the response's topic array."""
    layout = topic_layout(API_SPECS[key].response_class, version)
    assert layout is not None
    out = {}
    for entry in getattr(response, layout.field) or ():
        topic = layout.topic_of(entry, _names)
        parts = getattr(entry, layout.parts_field) if layout.parts_field else None
        if parts:
            for p in parts:
                out[topic, getattr(p, layout.part_key or "")] = p.error_code
        else:
            out[topic, None] = getattr(entry, "error_code", 0)
    return out


#: APIs whose requests name topics (and partitions), with a version range to draw from.
ITEM_APIS = {
    "Produce": (3, 13),
    "Fetch": (4, 17),
    "ListOffsets": (1, 10),
    "Metadata": (1, 13),
    "OffsetCommit": (2, 9),
    "DeleteRecords": (0, 2),
    "OffsetForLeaderEpoch": (2, 4),
    "CreateTopics": (2, 7),
}
_KEYS = {spec.name: key for key, spec in API_SPECS.items()}


def _topic_names(request: Any, key: int, version: int) -> None:
    """Point every topic of a drawn request at one of the known topics (by name or id)."""
    layout = topic_layout(type(request), version)
    assert layout is not None
    for i, entry in enumerate(getattr(request, layout.field) or ()):
        name = TOPICS[i % len(TOPICS)]
        if layout.name_field:
            setattr(entry, layout.name_field, name)
        if layout.id_field:
            setattr(entry, layout.id_field, IDS[name])
    if key == 0:
        request.acks = -1


@st.composite
def _requests(draw: st.DrawFn) -> tuple[str, int, Any]:
    name = draw(st.sampled_from(sorted(ITEM_APIS)))
    lo, hi = ITEM_APIS[name]
    key = _KEYS[name]
    version = draw(st.integers(max(lo, API_SPECS[key].min_version), hi))
    request = draw(message_strategy(API_SPECS[key].request_class, version, unknown_tags=False))
    _topic_names(request, key, version)
    return name, version, request


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=_requests(), topic=st.sampled_from(TOPICS), partition=st.none() | st.integers(0, 3))
def test_scoped_errors_go_to_the_picked_items_only(
    drawn: tuple[str, int, Any], topic: str, partition: int | None
) -> None:
    name, version, request = drawn
    key = _KEYS[name]
    items = request_items(request, version, _names)
    plan = FaultPlan(topic=topic, partition=partition, error=NOT_LEADER)
    picked = [it for it in items if plan.matches_item(*it)]
    if not picked:
        return  # the plan would not match this request
    serve = _Served()
    response = _build(request, key, version, plan, serve)
    codes = _error_codes(response, key, version)
    for item in set(items):
        assert codes.get(item) == (NOT_LEADER if item in picked else 0), (item, codes)
    # picked items never reach the handler (Fetch is served whole for its session)
    for served in serve.requests:
        reached = set(request_items(served, version, _names))
        if name == "Fetch":
            assert reached == set(items)
        else:
            assert not reached & set(picked)
    framing.encode_response(key, version, 1, response)


def test_unscoped_produce_error_touches_nothing() -> None:
    from rafka.protocol.messages import ProduceRequest as P

    produce = P(
        acks=-1,
        topic_data=[
            P.TopicProduceData(name="alpha", partition_data=[P.PartitionProduceData(index=0)]),
            P.TopicProduceData(name="beta", partition_data=[P.PartitionProduceData(index=1)]),
        ],
    )
    serve = _Served()
    response = _build(produce, 0, 9, FaultPlan(error=NOT_LEADER), serve)
    assert serve.requests == []  # nothing appended anywhere
    assert _error_codes(response, 0, 9) == {("alpha", 0): NOT_LEADER, ("beta", 1): NOT_LEADER}


def test_metadata_for_all_topics_gets_the_error_in_every_topic() -> None:
    from rafka.protocol.messages import MetadataRequest, MetadataResponse

    class Serve(_Served):
        async def __call__(self, ctx: RequestContext, request: Message) -> Message:
            self.requests.append(request)
            R = MetadataResponse
            return R(
                brokers=[R.MetadataResponseBroker(1, "h", 1)],
                topics=[R.MetadataResponseTopic(name=t) for t in TOPICS],
            )

    response = _build(MetadataRequest(topics=None), 3, 12, FaultPlan(error=5), Serve())
    assert [t.error_code for t in response.topics] == [5, 5, 5]
    assert response.brokers  # the rest of the answer is real


def test_fill_errors_reaches_every_level() -> None:
    from rafka.protocol.messages import OffsetFetchResponse as R

    response = R(
        groups=[
            R.OffsetFetchResponseGroup(
                group_id="g",
                topics=[
                    R.OffsetFetchResponseTopics(
                        name="t", partitions=[R.OffsetFetchResponsePartitions(0)]
                    )
                ],
            )
        ]
    )
    assert fill_errors(response, 9, 16, "moved") == 2  # group and partition (no top level at v9)
    assert response.groups[0].error_code == 16
    assert response.groups[0].topics[0].partitions[0].error_code == 16


@pytest.mark.parametrize("how", ["short", "garbage"])
def test_mangled_frames_do_not_decode(how: str) -> None:
    from rafka.protocol.messages import MetadataResponse as R

    good = framing.encode_response(
        3, 12, 77, R(brokers=[R.MetadataResponseBroker(1, "localhost", 9092)])
    )
    bad = mangle_frame(bytes(good), 5, how)
    assert int.from_bytes(bad[:4], "big") == len(bad) - 4
    assert bad[4:8] == good[4:8]  # the correlation id survives
    with pytest.raises(ValueError):
        framing.decode_response(bad[4:], 3, 12)

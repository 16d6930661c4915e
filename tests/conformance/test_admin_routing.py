"""Where the admin client sends requests and how it retries, checked on a three-broker rafka
cluster in process through a transport that records every request and can inject errors.

(rafka only: the reference broker is a single node and cannot be made to fail on cue.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest

import rafka
from rafka import errors
from rafka.clients.admin import (
    AsyncAdmin,
    ConfigResource,
    NewTopic,
    OffsetSpec,
    TopicPartition,
)
from rafka.clients.transport import Node, TransportError
from rafka.protocol._message import Message
from rafka.protocol.messages import API_SPECS

pytestmark = pytest.mark.anyio

Fault = Callable[[int, Message, Message | None], Message | None]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class RecordingTransport:
    """An in-process transport that logs ``(node, api name)`` per request and lets a test
    rewrite responses (``faults[api name]``) or fail nodes (``down``)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.sent: list[tuple[int, str]] = []
        self.faults: dict[str, Fault] = {}
        self.down: set[int] = set()

    def bootstrap_nodes(self) -> list[int]:
        return list(self.inner.bootstrap_nodes())

    def update_nodes(self, nodes: list[Node]) -> None:
        self.inner.update_nodes(nodes)

    async def api_versions(self, node_id: int) -> dict[int, tuple[int, int]]:
        if node_id in self.down:
            raise TransportError(f"node {node_id} is down (test)")
        versions: dict[int, tuple[int, int]] = await self.inner.api_versions(node_id)
        return versions

    async def request(self, node_id: int, request: Message, **kwargs: Any) -> Message | None:
        name = API_SPECS[request.API_KEY].name  # type: ignore[attr-defined]
        self.sent.append((node_id, name))
        if node_id in self.down:
            raise TransportError(f"node {node_id} is down (test)")
        response: Message | None = await self.inner.request(node_id, request, **kwargs)
        fault = self.faults.get(name)
        if fault is not None:
            response = fault(node_id, request, response)
        return response

    async def close(self) -> None:
        await self.inner.close()

    def nodes_for(self, api: str) -> list[int]:
        return [node for node, name in self.sent if name == api]


def once(change: Callable[[Any], None]) -> Fault:
    """A fault that rewrites the first response only."""
    calls = [0]

    def fault(node: int, request: Message, response: Message | None) -> Message | None:
        calls[0] += 1
        if calls[0] == 1 and response is not None:
            change(response)
        return response

    return fault


@pytest.fixture
async def cluster() -> AsyncIterator[rafka.AsyncCluster]:
    async with rafka.AsyncCluster(brokers=3, config={"offsets.topic.num.partitions": 3}) as c:
        yield c


def _admin(cluster: rafka.AsyncCluster, **cfg: Any) -> tuple[AsyncAdmin, RecordingTransport]:
    transport = RecordingTransport(cluster.transport(through_codec=True))
    settings = {"retry_backoff_ms": 10, "retry_backoff_max_ms": 50, **cfg}
    return AsyncAdmin(transport=transport, **settings), transport


async def test_partition_requests_go_to_leaders(cluster: rafka.AsyncCluster) -> None:
    admin, transport = _admin(cluster)
    async with admin:
        await admin.create_topics(NewTopic("spread", 6, 2))
        leaders = {
            p.partition: p.leader for p in (await admin.describe_topics("spread")).partitions
        }
        assert set(leaders.values()) == {1, 2, 3}
        transport.sent.clear()
        specs = {TopicPartition("spread", p): OffsetSpec.latest() for p in range(6)}
        (await admin.list_offsets(specs)).check()
        assert sorted(transport.nodes_for("ListOffsets")) == [1, 2, 3]  # one request per leader
        (await admin.delete_records({tp: 0 for tp in specs})).check()
        assert sorted(transport.nodes_for("DeleteRecords")) == [1, 2, 3]


async def test_broker_resources_go_to_their_broker(cluster: rafka.AsyncCluster) -> None:
    admin, transport = _admin(cluster)
    async with admin:
        results = await admin.describe_configs(
            [ConfigResource.broker(2), ConfigResource.broker(3), ConfigResource.broker_logger(3)]
        )
        results.check()
        assert sorted(transport.nodes_for("DescribeConfigs")) == [2, 3]
        dirs = await admin.describe_log_dirs()
        assert list(dirs) == [1, 2, 3]
        assert sorted(transport.nodes_for("DescribeLogDirs")) == [1, 2, 3]


async def test_retries_when_the_leader_moves(cluster: rafka.AsyncCluster) -> None:
    admin, transport = _admin(cluster)
    async with admin:
        await admin.create_topics(NewTopic("moving", 1))

        def not_leader(response: Any) -> None:
            for topic in response.topics:
                for p in topic.partitions:
                    p.error_code = errors.NotLeaderOrFollowerError.code

        transport.faults["ListOffsets"] = once(not_leader)
        transport.sent.clear()
        tp = TopicPartition("moving", 0)
        assert (await admin.list_offsets({tp: OffsetSpec.latest()}))[tp].offset == 0
        # The leader was looked up again (Metadata) between the two ListOffsets requests.
        apis = [name for _, name in transport.sent if name in ("Metadata", "ListOffsets")]
        assert apis == ["Metadata", "ListOffsets", "Metadata", "ListOffsets"]

        def no_leader(response: Any) -> None:
            for topic in response.topics:
                for p in topic.partitions:
                    p.leader_id = -1

        transport.faults["Metadata"] = once(no_leader)
        assert (await admin.delete_records({tp: 0}))[tp].low_watermark == 0


async def test_retries_on_coordinator_errors(cluster: rafka.AsyncCluster) -> None:
    admin, transport = _admin(cluster)
    async with admin:
        await admin.create_topics(NewTopic("offsets", 1))
        (await admin.alter_group_offsets("g", {("offsets", 0): 3})).check()

        def not_available(response: Any) -> None:
            for c in response.coordinators:
                c.error_code = errors.CoordinatorNotAvailableError.code

        def not_coordinator(response: Any) -> None:
            for g in response.groups:
                g.error_code = errors.NotCoordinatorError.code

        def loading(response: Any) -> None:
            for g in response.groups:
                g.error_code = errors.CoordinatorLoadInProgressError.code

        transport.faults["FindCoordinator"] = once(not_available)
        transport.faults["OffsetFetch"] = once(not_coordinator)
        transport.faults["DescribeGroups"] = once(loading)
        transport.sent.clear()
        offsets = await admin.list_group_offsets("g")
        assert offsets[TopicPartition("offsets", 0)].offset == 3  # type: ignore[union-attr]
        assert [n for _, n in transport.sent].count("FindCoordinator") == 3
        assert (await admin.describe_groups("g")).state == "Empty"


async def test_an_unreachable_broker_is_avoided(cluster: rafka.AsyncCluster) -> None:
    admin, transport = _admin(cluster)
    async with admin:
        await admin.describe_cluster()
        transport.down.add(1)
        for _ in range(3):
            assert [b.node_id for b in (await admin.describe_cluster()).brokers] == [1, 2, 3]
        # A broker's own resources wait for it, until the call's deadline.
        with pytest.raises(errors.ClientTimeoutError, match="node 1 is down"):
            await admin.describe_configs(ConfigResource.broker(1), timeout=0.3)


async def test_every_broker_down_times_out(cluster: rafka.AsyncCluster) -> None:
    admin, transport = _admin(cluster, request_timeout_ms=200, default_api_timeout_ms=500)
    async with admin:
        transport.down.update({-1, 1, 2, 3})
        start = anyio.current_time()
        with pytest.raises(errors.ClientTimeoutError, match="list_topics"):
            await admin.list_topics()
        assert anyio.current_time() - start < 1.5
        with pytest.raises(errors.ClientTimeoutError):
            await admin.create_topics([NewTopic("a"), NewTopic("b")])  # nothing answered

"""The admin client itself: settings, lifecycle, bad arguments, and clusters that cannot be
reached or do not answer (each must fail with a typed error within its timeout)."""

from __future__ import annotations

import gc
import socket
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.abc
import pytest

import rafka
from rafka import errors
from rafka.clients.admin import (
    AlterConfigOp,
    AsyncAdmin,
    ConfigResource,
    ConfigResourceType,
    NewTopic,
    OffsetSpec,
    Results,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """A TCP server that accepts connections and never answers."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)

    async def hold(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            await anyio.sleep_forever()

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, hold)
        yield f"127.0.0.1:{port}"
        tg.cancel_scope.cancel()


def test_settings_are_validated() -> None:
    with pytest.raises(errors.ConfigError, match="bootstrap_servers is required"):
        AsyncAdmin()
    with pytest.raises(errors.ConfigError, match=r"unknown admin setting 'linger\.ms'"):
        AsyncAdmin(bootstrap_servers="localhost:9092", linger_ms=5)
    with pytest.raises(errors.ConfigError, match=r"default\.api\.timeout\.ms"):
        AsyncAdmin(
            bootstrap_servers="localhost:9092",
            request_timeout_ms=5000,
            default_api_timeout_ms=1000,
        )
    with pytest.raises(errors.ConfigError, match="host:port"):
        AsyncAdmin(bootstrap_servers="nowhere")
    admin = AsyncAdmin({"bootstrap.servers": "localhost:9092", "request.timeout.ms": 90000})
    assert admin.config["default.api.timeout.ms"] == 60000  # follows request.timeout.ms:
    assert admin._default_timeout == 90.0


async def test_unreachable_bootstrap_fails_within_the_timeout() -> None:
    servers = f"127.0.0.1:{_closed_port()},127.0.0.1:{_closed_port()}"
    async with AsyncAdmin(
        bootstrap_servers=servers, request_timeout_ms=500, default_api_timeout_ms=1000
    ) as admin:
        start = anyio.current_time()
        with pytest.raises(errors.ClientTimeoutError, match="cannot connect") as raised:
            await admin.describe_cluster()
        assert 0.9 < anyio.current_time() - start < 2.0
        assert raised.value.retriable
        with pytest.raises(errors.ClientTimeoutError):
            await admin.create_topics([NewTopic("a"), NewTopic("b")], timeout=0.2)
        with pytest.raises(errors.ClientTimeoutError):
            await admin.list_offsets({("a", 0): OffsetSpec.latest()}, timeout=0.2)


async def test_a_silent_server_times_out(silent_server: str) -> None:
    """A server that never answers ApiVersions: each negotiation gives up after
    ``socket.connection.setup.timeout.ms``, the call after ``default.api.timeout.ms``."""
    async with AsyncAdmin(
        bootstrap_servers=silent_server,
        request_timeout_ms=300,
        default_api_timeout_ms=500,
        socket_connection_setup_timeout_ms=200,
        retry_backoff_ms=1000,  # the deadline passes while backing off, not while connecting
    ) as admin:
        start = anyio.current_time()
        with pytest.raises(errors.ClientTimeoutError, match="ApiVersions"):
            await admin.list_topics()
        assert anyio.current_time() - start < 1.5


async def test_a_call_cancelled_while_connecting_leaks_nothing(silent_server: str) -> None:
    async with AsyncAdmin(
        bootstrap_servers=silent_server, request_timeout_ms=300, default_api_timeout_ms=500
    ) as admin:
        with pytest.raises(errors.ClientTimeoutError):
            await admin.list_topics()  # the deadline cancels the 10 s negotiation
    gc.collect()  # any leaked socket warns now, in this test


async def test_lifecycle_and_bad_arguments() -> None:
    async with rafka.AsyncCluster() as cluster:
        admin = cluster.admin()
        with pytest.raises(RuntimeError, match="async with"):
            await admin.list_topics()
        async with admin:
            with pytest.raises(TypeError):
                await admin.create_topics([NewTopic("a"), 5])
            with pytest.raises(ValueError, match="given twice"):
                await admin.create_topics([NewTopic("a", 1), NewTopic("a", 2)])
            with pytest.raises(TypeError):
                await admin.list_offsets({("a", 0): -1})
            with pytest.raises(TypeError):
                await admin.list_offsets({"a": OffsetSpec.latest()})
            with pytest.raises(TypeError):
                await admin.incremental_alter_configs({ConfigResource.topic("a"): ["x"]})
            with pytest.raises(ValueError):
                await admin.list_topics(timeout=-1)
            with pytest.raises(ValueError):
                OffsetSpec.for_timestamp(-5)
            with pytest.raises(ValueError):
                AlterConfigOp("x", "1", "MERGE")
            assert ConfigResource("topic", "t") == ConfigResource.topic("t")
            assert ConfigResource(4, 1).type == ConfigResourceType.BROKER
            assert ConfigResource.broker(2).broker_id == 2
            assert ConfigResource.broker().broker_id is None


def test_results_mapping() -> None:
    boom = errors.TopicAlreadyExistsError("b exists")
    results: Results[str, int] = Results(["a", "b", "c"], {"a": 1, "c": 3}, {"b": boom})
    assert list(results) == ["a", "b", "c"] and len(results) == 3
    assert results["a"] == 1 and "b" in results and "z" not in results
    with pytest.raises(errors.TopicAlreadyExistsError):
        results["b"]
    with pytest.raises(KeyError):
        results["z"]
    assert results.errors == {"b": boom}
    assert results.succeeded == {"a": 1, "c": 3}
    assert results.error("a") is None and results.error("b") is boom
    assert not results.ok
    with pytest.raises(errors.TopicAlreadyExistsError):
        results.check()
    assert Results(["a"], {"a": 1}, {}).check()["a"] == 1
    assert "'b': TopicAlreadyExistsError" in repr(results)


class _Stuck:
    """An in-process transport whose requests never get an answer."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def bootstrap_nodes(self) -> list[int]:
        return [-1]

    def update_nodes(self, nodes: list[Any]) -> None:
        pass

    async def api_versions(self, node_id: int) -> dict[int, tuple[int, int]]:
        versions: dict[int, tuple[int, int]] = await self.inner.api_versions(node_id)
        return versions

    async def request(self, node_id: int, request: Any, **kwargs: Any) -> Any:
        await anyio.sleep_forever()

    async def close(self) -> None:
        pass


async def test_close_fails_calls_in_flight() -> None:
    async with rafka.AsyncCluster() as cluster:
        admin = AsyncAdmin(transport=_Stuck(cluster.transport()))
        failures: list[BaseException] = []

        async def call() -> None:
            try:
                await admin.list_topics()
            except errors.ClientClosedError as exc:
                failures.append(exc)

        async with admin, anyio.create_task_group() as tg:
            tg.start_soon(call)
            tg.start_soon(call)
            await anyio.wait_all_tasks_blocked()
            await admin.close()
        assert len(failures) == 2

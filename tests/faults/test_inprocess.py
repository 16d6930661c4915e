"""Fault plans reach rafka's own clients in process exactly as they reach TCP clients: the
in-process transport (with and without the codec) turns each effect into what a socket would
give, and rafka's producer and consumer survive them; broker faults work without a listener.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

import rafka
from rafka import errors
from rafka.clients.admin import NewTopic
from rafka.clients.transport import TransportError
from rafka.protocol.messages import MetadataRequest, MetadataResponse

pytestmark = pytest.mark.anyio

TOPIC = "t"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _metadata() -> MetadataRequest:
    return MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=TOPIC)])


async def _cluster_with_topic(cluster: rafka.AsyncCluster, rf: int = 1) -> None:
    async with cluster.admin() as admin:
        await admin.create_topics(NewTopic(TOPIC, 1, rf))


@pytest.mark.parametrize("through_codec", [False, True], ids=["objects", "codec"])
async def test_every_effect_through_the_transport(through_codec: bool) -> None:
    async with rafka.AsyncCluster(seed=3, journal=True) as cluster:
        await _cluster_with_topic(cluster)
        transport = cluster.transport(through_codec=through_codec)

        with cluster.faults.add({"api": "Metadata", "error": "LEADER_NOT_AVAILABLE"}):
            response = await transport.request(1, _metadata())
            assert isinstance(response, MetadataResponse)
            assert [t.error_code for t in response.topics] == [5]
            assert response.brokers  # the rest is real

        with cluster.faults.add({"api": "Metadata", "throttle_ms": 250}):
            response = await transport.request(1, _metadata())
            assert isinstance(response, MetadataResponse)
            assert response.throttle_time_ms == 250

        with cluster.faults.add({"api": "Metadata", "delay": 0.2}):
            began = time.monotonic()
            await transport.request(1, _metadata())
            assert time.monotonic() - began >= 0.2

        with cluster.faults.add({"api": "Metadata", "drop": True}) as dropped:
            began = time.monotonic()
            with pytest.raises(errors.RequestTimedOutError):
                await transport.request(1, _metadata(), timeout=0.3)
            assert time.monotonic() - began >= 0.3
            assert dropped.fired == 1

        with (
            cluster.faults.add({"api": "Metadata", "close": True}),
            pytest.raises(TransportError, match="closed the connection"),
        ):
            await transport.request(1, _metadata())

        for how in ("short", "garbage"):
            with (
                cluster.faults.add({"api": "Metadata", "corrupt": how}),
                pytest.raises(errors.DecodeError),
            ):
                await transport.request(1, _metadata())

        assert not cluster.faults.plans  # every `with` removed its plan
        response = await transport.request(1, _metadata())
        assert isinstance(response, MetadataResponse)
        assert [t.error_code for t in response.topics] == [0]
        outcomes = [e.outcome for e in cluster.requests("Metadata", client_id="rafka")]
        assert outcomes == [
            *["response"] * 3,
            "dropped",
            "closed",
            "corrupted",
            "corrupted",
            "response",
        ]


async def test_removed_plans_stop_and_unused_hooks_leave_the_brokers() -> None:
    async with rafka.AsyncCluster(brokers=2, seed=3) as cluster:
        assert all(b.interceptor is None for b in cluster.brokers.values())
        handle = cluster.faults.add({"api": "Metadata", "broker": 2, "close": True})
        assert all(b.interceptor is not None for b in cluster.brokers.values())
        transport = cluster.transport()
        await transport.request(1, _metadata())  # another broker: untouched
        with pytest.raises(TransportError):
            await transport.request(2, _metadata())
        handle.remove()
        assert all(b.interceptor is None for b in cluster.brokers.values())
        await transport.request(2, _metadata())
        assert (handle.matched, handle.fired) == (1, 1)


async def test_producer_retries_not_leader_after_refreshing_metadata() -> None:
    async with rafka.AsyncCluster(seed=3, journal=True) as cluster:
        await _cluster_with_topic(cluster)
        plan = cluster.faults.add(
            {"api": "Produce", "error": "NOT_LEADER_OR_FOLLOWER", "times": 3, "topic": TOPIC}
        )
        async with cluster.producer({"retry.backoff.ms": 10}) as producer:
            metadata = await (await producer.send(TOPIC, value=b"v", partition=0))
        assert metadata.offset == 0
        assert plan.fired == 3
        produces = cluster.requests("Produce")
        first_error, success = produces[0], produces[-1]
        refreshes = [
            e for e in cluster.requests("Metadata") if first_error.start < e.start < success.start
        ]
        assert refreshes, "the producer did not ask who leads after NOT_LEADER_OR_FOLLOWER"


async def test_consumer_times_out_dropped_fetches_and_goes_on() -> None:
    async with rafka.AsyncCluster(seed=3) as cluster:
        await _cluster_with_topic(cluster)
        async with cluster.producer() as producer:
            for i in range(3):
                await producer.send(TOPIC, value=b"%d" % i, partition=0)
        plan = cluster.faults.add({"api": "Fetch", "drop": True, "once": True})
        config = {"request.timeout.ms": 500, "auto.offset.reset": "earliest"}
        async with cluster.consumer(config) as consumer:
            consumer.assign([(TOPIC, 0)])
            values: list[bytes | None] = []
            with anyio.fail_after(20):
                while len(values) < 3:
                    values += [r.value for r in await consumer.poll(0.5)]
        assert values == [b"0", b"1", b"2"]
        assert plan.fired == 1


async def _wait(condition: Any, timeout: float = 20.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.01)


@pytest.mark.parametrize("storage", ["memory", "disk"])
async def test_kill_and_restart_in_process(storage: str, tmp_path: Any) -> None:
    data_dir = tmp_path if storage == "disk" else None
    config = {"min.insync.replicas": 2}
    async with rafka.AsyncCluster(3, seed=5, data_dir=data_dir, config=config) as cluster:
        await _cluster_with_topic(cluster, rf=3)
        image = cluster.core.controller.image
        async with cluster.producer({"retry.backoff.ms": 10}) as producer:
            await (await producer.send(TOPIC, value=b"a", partition=0))
            leader = cluster.leader_of(TOPIC, 0)
            await cluster.kill_broker(leader)
            assert not cluster.brokers[leader].reachable
            part = image.partition(TOPIC, 0)
            assert part is not None
            assert leader not in part.isr and part.leader not in (leader, -1)
            with pytest.raises(TransportError):
                await cluster.transport().request(leader, _metadata())
            await (await producer.send(TOPIC, value=b"b", partition=0))
            await cluster.start_broker(leader)
            await _wait(lambda: leader in image.partition(TOPIC, 0).isr)  # type: ignore[union-attr]
            cluster.move_leader(TOPIC, 0, to=leader)
            await (await producer.send(TOPIC, value=b"c", partition=0))
        async with cluster.consumer({"auto.offset.reset": "earliest"}) as consumer:
            consumer.assign([(TOPIC, 0)])
            values: list[bytes | None] = []
            with anyio.fail_after(20):
                while len(values) < 3:
                    values += [r.value for r in await consumer.poll(0.5)]
        assert values == [b"a", b"b", b"c"]
        if storage == "disk":
            logs = cluster.brokers[leader].replica_manager.logs
            assert not logs.had_clean_shutdown  # killed: it recovered its logs


async def test_isolated_broker_keeps_leading_and_heals() -> None:
    async with rafka.AsyncCluster(2, seed=5) as cluster:
        await _cluster_with_topic(cluster, rf=2)
        leader = cluster.leader_of(TOPIC, 0)
        transport = cluster.transport()
        await cluster.isolate_broker(leader, "refuse")
        with pytest.raises(TransportError):
            await transport.request(leader, _metadata())
        assert cluster.leader_of(TOPIC, 0) == leader  # nothing moved: it still runs
        await cluster.isolate_broker(leader, "hang")
        with pytest.raises(errors.RequestTimedOutError):
            await transport.request(leader, _metadata(), timeout=0.2)
        await cluster.heal_broker(leader)
        await transport.request(leader, _metadata())


async def test_moves_need_an_in_sync_replica() -> None:
    async with rafka.AsyncCluster(3, seed=5) as cluster:
        await _cluster_with_topic(cluster, rf=2)
        part = cluster.core.controller.image.partition(TOPIC, 0)
        assert part is not None
        outsider = next(b for b in (1, 2, 3) if b not in part.replicas)
        with pytest.raises(ValueError, match="holds no replica"):
            cluster.move_leader(TOPIC, 0, to=outsider)
        with pytest.raises(ValueError, match="no partition"):
            cluster.move_leader("nope", 0, to=1)
        index = cluster.move_coordinator("some-group", to=2)
        assert cluster.leader_of("__consumer_offsets", index) == 2

"""Bad input to rafka's Producer and Consumer: each fails with a clear typed error within its
configured timeout, against rafka and against Apache Kafka alike; nothing hangs."""

from __future__ import annotations

import socket

import anyio
import pytest

from rafka import errors
from rafka.clients.admin import NewTopic
from rafka.clients.consumer import AsyncConsumer
from rafka.clients.producer import AsyncProducer
from tests.conformance.conftest import Target, eventually


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_a_record_over_the_topics_limit_is_rejected_by_the_broker(target: Target) -> None:
    topic = target.unique_topic("limits")
    async with target.admin() as admin:
        await admin.create_topics(NewTopic(topic, 1, configs={"max.message.bytes": "2000"}))
        await eventually(lambda: admin.describe_topics(topic))
    async with target.producer(retries=0, linger_ms=0) as producer:
        start = anyio.current_time()
        with pytest.raises(errors.MessageTooLargeError) as raised:
            await producer.send_and_wait(topic, value=b"x" * 5000, partition=0)
        assert raised.value.code == 10 and raised.value.name == "MESSAGE_TOO_LARGE"
        assert anyio.current_time() - start < 5
        # the producer is still usable: a record under the limit goes through
        small = await producer.send_and_wait(topic, value=b"y" * 100, partition=0)
        assert small.offset == 0


async def test_a_missing_partition_is_unknown(target: Target) -> None:
    topic = target.unique_topic("missing")
    async with target.admin() as admin:
        await admin.create_topics(NewTopic(topic, 1))
        await eventually(lambda: admin.describe_topics(topic))
    async with target.producer() as producer:
        with pytest.raises(errors.UnknownTopicOrPartitionError, match="partition 3"):
            await producer.send(topic, value=b"x", partition=3)


async def test_closed_clients_say_so(target: Target) -> None:
    topic = target.unique_topic("closed")
    async with target.producer() as producer:
        await producer.send_and_wait(topic, value=b"x")
    with pytest.raises(errors.ClientClosedError):
        await producer.send(topic, value=b"late")
    async with target.consumer(auto_offset_reset="earliest") as consumer:
        consumer.assign([(topic, 0)])
    with pytest.raises(errors.ClientClosedError):
        await consumer.poll(0)
    with pytest.raises(errors.ClientClosedError):
        consumer.assign([(topic, 0)])


def test_invalid_settings_fail_at_construction() -> None:
    with pytest.raises(errors.ConfigError, match="bootstrap_servers is required"):
        AsyncProducer()
    with pytest.raises(errors.ConfigError, match="bootstrap_servers is required"):
        AsyncConsumer()
    with pytest.raises(errors.ConfigError, match=r"unknown producer setting 'group\.id'"):
        AsyncProducer(bootstrap_servers="localhost:9092", group_id="g")
    with pytest.raises(errors.ConfigError, match=r"linger\.ms"):
        AsyncProducer(bootstrap_servers="localhost:9092", linger_ms="soon")
    with pytest.raises(errors.ConfigError, match=r"batch\.size"):
        AsyncProducer(bootstrap_servers="localhost:9092", batch_size=-1)
    with pytest.raises(errors.ConfigError, match="compression"):
        AsyncProducer(bootstrap_servers="localhost:9092", compression_type="brotli")
    with pytest.raises(errors.ConfigError, match=r"auto\.offset\.reset"):
        AsyncConsumer(bootstrap_servers="localhost:9092", auto_offset_reset="sometimes")
    with pytest.raises(errors.ConfigError, match=r"partition\.assignment\.strategy"):
        AsyncConsumer(
            bootstrap_servers="localhost:9092",
            group_id="g",
            partition_assignment_strategy="cooperative-sticky",
        )


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_unreachable_bootstrap_fails_within_the_timeouts(anyio_backend: str) -> None:
    servers = f"127.0.0.1:{_closed_port()}"
    async with AsyncProducer(bootstrap_servers=servers, max_block_ms=500) as producer:
        start = anyio.current_time()
        with pytest.raises(errors.ClientTimeoutError):
            await producer.send("t", value=b"x")
        assert anyio.current_time() - start < 2.0
    async with AsyncConsumer(
        bootstrap_servers=servers,
        request_timeout_ms=500,
        default_api_timeout_ms=800,
        auto_offset_reset="earliest",
    ) as consumer:
        consumer.assign([("t", 0)])
        start = anyio.current_time()
        assert await consumer.poll(0.3) == []  # poll waits its timeout, as Java's does
        with pytest.raises((errors.ClientTimeoutError, errors.RequestTimedOutError)):
            await consumer.end_offsets([("t", 0)])
        assert anyio.current_time() - start < 3.0


async def test_records_rejected_one_by_one_say_which(target: Target) -> None:
    """A keyless record on a compacted topic: the broker names it (record_errors), so that
    record's delivery fails with the broker's message and its batch siblings say why they
    failed too -- as Java's producer reports them."""
    topic = target.unique_topic("compacted")
    async with target.admin() as admin:
        await admin.create_topics(NewTopic(topic, 1, configs={"cleanup.policy": "compact"}))
        await eventually(lambda: admin.describe_topics(topic))
    async with target.producer(linger_ms=50, retries=0) as producer:
        keyed = await producer.send(topic, key=b"k", value=b"1", partition=0)
        keyless = await producer.send(topic, value=b"2", partition=0)
        with pytest.raises(errors.InvalidRecordError, match="without key") as bad:
            await keyless
        assert bad.value.record_errors[0][0] == 1
        with pytest.raises(errors.InvalidRecordError, match="part of a batch"):
            await keyed
        assert (await producer.send_and_wait(topic, key=b"k", value=b"3", partition=0)).offset == 0

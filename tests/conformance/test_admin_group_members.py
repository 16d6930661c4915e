"""Admin conformance for groups with a live member: a confluent-kafka (librdkafka) consumer
joins over TCP, so these run against rafka's listener and the reference broker only (rafka's
own Consumer cannot join groups yet)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from rafka import errors
from rafka.clients.admin import (
    AsyncAdmin,
    GroupDescription,
    NewTopic,
    OffsetAndMetadata,
    TopicPartition,
)
from tests.conformance.conftest import Target, eventually

confluent_kafka = pytest.importorskip("confluent_kafka")

pytestmark = pytest.mark.group_coordinator


@contextmanager
def member(bootstrap: str, group: str, topic: str, protocol: str = "classic") -> Iterator[None]:
    """A confluent-kafka consumer in ``group`` subscribed to ``topic``, polling on a thread
    until the block ends (then it leaves the group)."""
    settings: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "group.protocol": protocol,
        "client.id": "conformance-member",
        "enable.auto.commit": False,
    }
    if protocol == "classic":
        settings["session.timeout.ms"] = 10000
    consumer = confluent_kafka.Consumer(settings)
    consumer.subscribe([topic])
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            consumer.poll(0.05)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)
        consumer.close()


async def _stable(admin: AsyncAdmin, group: str) -> GroupDescription:
    async def check() -> GroupDescription:
        described = await admin.describe_groups(group)
        assert described.state == "Stable"
        assert len(described.members) == 1 and described.members[0].assignment
        return described

    return await eventually(check, timeout=30)


@pytest.mark.targets("tcp", "kafka")
async def test_a_classic_group_with_a_member(target: Target) -> None:
    group = target.unique_group()
    async with target.admin() as admin:
        topic = target.unique_topic()
        await admin.create_topics(NewTopic(topic, 2))
        await eventually(lambda: admin.describe_topics(topic))
        p0, p1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
        assert target.bootstrap_servers is not None
        with member(target.bootstrap_servers, group, topic):
            described = await _stable(admin, group)
            assert (described.type, described.protocol_type, described.protocol) == (
                "classic",
                "consumer",
                "range",
            )
            [m] = described.members
            assert (m.client_id, m.group_instance_id) == ("conformance-member", None)
            assert m.assignment == {p0, p1}
            listed = {g.group_id: g for g in await admin.list_groups(states=["stable"])}
            assert (listed[group].protocol_type, listed[group].state) == ("consumer", "Stable")

            with pytest.raises(errors.NonEmptyGroupError):
                await admin.delete_groups(group)
            altered = await admin.alter_group_offsets(group, {p0: 1})
            assert isinstance(altered.errors[p0], errors.UnknownMemberIdError)
            removed = await admin.delete_group_offsets(group, [p0])
            assert isinstance(removed.errors[p0], errors.GroupSubscribedToTopicError)

        async def empty() -> None:
            assert (await admin.describe_groups(group)).state == "Empty"

        await eventually(empty, timeout=30)
        (await admin.alter_group_offsets(group, {p0: 1})).check()
        assert await admin.list_group_offsets(group) == {p0: OffsetAndMetadata(1)}
        await admin.delete_groups(group)


@pytest.mark.targets("kafka")
async def test_a_consumer_protocol_group(target: Target) -> None:
    """KIP-848 groups are described with ConsumerGroupDescribe (rafka's brokers do not serve
    the consumer protocol yet, so this runs against the reference broker only)."""
    group = target.unique_group()
    async with target.admin() as admin:
        topic = target.unique_topic()
        await admin.create_topics(NewTopic(topic, 2))
        await eventually(lambda: admin.describe_topics(topic))
        assert target.bootstrap_servers is not None
        with member(target.bootstrap_servers, group, topic, protocol="consumer"):
            described = await _stable(admin, group)
            assert (described.type, described.protocol_type) == ("consumer", "consumer")
            assert described.protocol in ("uniform", "range")  # the server-side assignor
            assert described.group_epoch is not None and described.group_epoch > 0
            [m] = described.members
            assert m.assignment == {TopicPartition(topic, 0), TopicPartition(topic, 1)}
            assert m.target_assignment == m.assignment
            assert m.subscribed_topics == (topic,)
            assert m.member_epoch is not None and m.member_epoch > 0
            listed = {g.group_id: g for g in await admin.list_groups(types=["consumer"])}
            assert listed[group].type == "consumer"

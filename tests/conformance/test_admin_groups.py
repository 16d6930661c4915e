"""Admin conformance: groups and their committed offsets, through each group's coordinator.

The groups here are made by the admin client itself (committing offsets for a group with no
members creates an empty classic group, as Kafka's ``kafka-consumer-groups --reset-offsets``
does), so the scenario needs no consumer.
"""

from __future__ import annotations

import pytest

from rafka import errors
from rafka.clients.admin import (
    AsyncAdmin,
    GroupDescription,
    GroupListing,
    NewTopic,
    OffsetAndMetadata,
    TopicPartition,
)
from tests.conformance.conftest import Target, eventually

pytestmark = pytest.mark.group_coordinator


async def _topic(target: Target, admin: AsyncAdmin, partitions: int) -> str:
    name = target.unique_topic()
    await admin.create_topics(NewTopic(name, partitions))
    await eventually(lambda: admin.describe_topics(name))
    return name


async def test_group_offsets_lifecycle(target: Target) -> None:
    group, other = target.unique_group(), target.unique_group()
    async with target.admin() as admin:
        topic = await _topic(target, admin, 2)
        p0, p1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
        assert await admin.list_group_offsets(group) == {}
        with pytest.raises(errors.GroupIdNotFoundError):
            await admin.describe_groups(group)

        altered = await admin.alter_group_offsets(
            group, {(topic, 0): 5, (topic, 1): OffsetAndMetadata(7, "meta")}
        )
        assert list(altered) == [p0, p1] and altered.ok
        assert await admin.list_group_offsets(group) == {
            p0: OffsetAndMetadata(5, "", None),
            p1: OffsetAndMetadata(7, "meta", None),
        }
        assert await admin.list_group_offsets(group, [(topic, 1)]) == {
            p1: OffsetAndMetadata(7, "meta", None)
        }
        many = await admin.list_group_offsets({group: [p0], other: None})
        assert many[group] == {p0: OffsetAndMetadata(5, "", None)}
        assert many[other] == {}
        assert await admin.list_group_offsets(other, [p0]) == {p0: None}

        described = await admin.describe_groups(group)
        assert isinstance(described, GroupDescription)
        assert (described.group_id, described.state, described.type) == (group, "Empty", "classic")
        assert (described.protocol_type, described.members) == ("", ())
        assert described.coordinator in target.broker_ids

        deleted = await admin.delete_group_offsets(group, [p1])
        assert deleted[p1] is None
        assert await admin.list_group_offsets(group) == {p0: OffsetAndMetadata(5, "", None)}

        results = await admin.delete_groups([group, other])
        assert results[group] is None
        assert isinstance(results.errors[other], errors.GroupIdNotFoundError)
        with pytest.raises(errors.GroupIdNotFoundError):
            await admin.describe_groups(group)
        assert await admin.list_group_offsets(group) == {}


async def test_list_groups(target: Target) -> None:
    group = target.unique_group()
    async with target.admin() as admin:
        topic = await _topic(target, admin, 1)
        (await admin.alter_group_offsets(group, {(topic, 0): 1})).check()
        listed = {g.group_id: g for g in await admin.list_groups()}
        assert listed[group].protocol_type == ""
        assert listed[group].state == "Empty"
        assert (listed[group].type or "").lower() == "classic"
        assert group in {g.group_id for g in await admin.list_groups(states=["empty"])}
        assert group not in {g.group_id for g in await admin.list_groups(states=["Stable"])}
        assert group in {g.group_id for g in await admin.list_groups(types=["Classic"])}
        assert group not in {g.group_id for g in await admin.list_groups(types=["consumer"])}
        listing = await admin.list_topics(include_internal=True)
        assert listing["__consumer_offsets"].is_internal
        assert "__consumer_offsets" not in await admin.list_topics()
        await admin.delete_groups(group)


async def test_group_errors(target: Target) -> None:
    group = target.unique_group()
    async with target.admin() as admin:
        topic = await _topic(target, admin, 1)
        missing = target.unique_topic()
        results = await admin.describe_groups([group, ""])
        assert isinstance(results.errors[group], errors.GroupIdNotFoundError)
        with pytest.raises(errors.GroupIdNotFoundError):
            await admin.delete_groups(group)
        with pytest.raises(errors.GroupIdNotFoundError):
            await admin.delete_group_offsets(group, [(topic, 0)])
        altered = await admin.alter_group_offsets(group, {(topic, 0): 3, (missing, 0): 1})
        assert altered[TopicPartition(topic, 0)] is None
        assert isinstance(
            altered.errors[TopicPartition(missing, 0)], errors.UnknownTopicOrPartitionError
        )
        await admin.delete_groups(group)


async def test_list_groups_type_name(target: Target) -> None:
    group = target.unique_group()
    async with target.admin() as admin:
        topic = await _topic(target, admin, 1)
        (await admin.alter_group_offsets(group, {(topic, 0): 1})).check()
        try:
            listed = {g.group_id: g for g in await admin.list_groups()}
            assert listed[group] == GroupListing(group, "", "Empty", "classic")
        finally:
            await admin.delete_groups(group)

"""Admin conformance: creating, describing, listing, growing and deleting topics."""

from __future__ import annotations

import uuid

import pytest

from rafka import errors
from rafka.clients.admin import (
    AsyncAdmin,
    ConfigSource,
    CreatedTopic,
    NewPartitions,
    NewTopic,
    Results,
    TopicDescription,
)
from tests.conformance.conftest import Target, eventually


async def test_create_describe_list_delete(target: Target) -> None:
    name = target.unique_topic()
    broker = target.broker_ids[0]
    async with target.admin() as admin:
        created = await admin.create_topics(
            NewTopic(name, num_partitions=3, replication_factor=1, configs={"retention.ms": 60000})
        )
        assert isinstance(created, CreatedTopic)
        assert (created.name, created.num_partitions, created.replication_factor) == (name, 3, 1)
        assert created.topic_id is not None
        retention = created.configs["retention.ms"]
        assert (retention.value, retention.source) == ("60000", ConfigSource.DYNAMIC_TOPIC_CONFIG)

        described = await eventually(lambda: admin.describe_topics(name))
        assert isinstance(described, TopicDescription)
        assert (described.name, described.topic_id, described.is_internal) == (
            name,
            created.topic_id,
            False,
        )
        assert [p.partition for p in described.partitions] == [0, 1, 2]
        for p in described.partitions:
            assert (p.leader, p.replicas, p.isr, p.offline_replicas) == (
                broker,
                (broker,),
                (broker,),
                (),
            )
            assert p.leader_epoch >= 0

        listing = await admin.list_topics()
        assert listing[name].topic_id == created.topic_id
        assert not listing[name].is_internal
        assert all(not t.is_internal for t in listing.values())
        assert list(listing) == sorted(listing)

        await admin.delete_topics(name)
        await eventually(lambda: _assert_gone(admin, name))
        with pytest.raises(errors.UnknownTopicOrPartitionError):
            await admin.describe_topics(name)


async def test_broker_defaults_and_per_topic_errors(target: Target) -> None:
    good, dup = target.unique_topic(), target.unique_topic()
    async with target.admin() as admin:
        await admin.create_topics(dup)
        results = await admin.create_topics(
            [
                NewTopic(good),  # num.partitions=1, default.replication.factor=1
                NewTopic(dup),
                NewTopic(target.unique_topic(), replication_factor=3),
                NewTopic(target.unique_topic(), num_partitions=0),
                NewTopic("bad/name"),
                NewTopic(target.unique_topic(), configs={"cleanup.policy": "sometimes"}),
                NewTopic(target.unique_topic(), configs={"no.such.config": "1"}),
            ]
        )
        assert isinstance(results, Results)
        assert len(results) == 7
        assert results[good].num_partitions == 1
        assert results[good].replication_factor == 1
        kinds = [type(e) for e in results.errors.values()]
        assert kinds == [
            errors.TopicAlreadyExistsError,
            errors.InvalidReplicationFactorError,
            errors.InvalidPartitionsError,
            errors.InvalidTopicExceptionError,
            errors.InvalidConfigError,
            errors.InvalidConfigError,
        ]
        assert not results.ok
        with pytest.raises(errors.TopicAlreadyExistsError):
            results[dup]
        with pytest.raises(errors.TopicAlreadyExistsError):
            results.check()
        assert results.error(good) is None
        with pytest.raises(errors.TopicAlreadyExistsError) as raised:
            await admin.create_topics(NewTopic(dup))
        assert raised.value.code == 36


async def test_validate_only_and_manual_assignment(target: Target) -> None:
    name = target.unique_topic()
    broker = target.broker_ids[0]
    async with target.admin() as admin:
        checked = await admin.create_topics(NewTopic(name, 2), validate_only=True)
        assert checked.num_partitions == 2
        assert name not in await admin.list_topics()
        with pytest.raises(errors.InvalidReplicaAssignmentError):
            await admin.create_topics(NewTopic(name, assignments={0: [broker, broker]}))
        with pytest.raises(errors.InvalidRequestError):
            await admin.create_topics(NewTopic(name, 2, assignments={0: [broker]}))
        await admin.create_topics(NewTopic(name, assignments={0: [broker], 1: [broker]}))
        described = await eventually(lambda: admin.describe_topics(name))
        assert [(p.partition, p.replicas) for p in described.partitions] == [
            (0, (broker,)),
            (1, (broker,)),
        ]


async def test_describe_many_with_missing(target: Target) -> None:
    names = [target.unique_topic() for _ in range(3)]
    missing = target.unique_topic()
    async with target.admin() as admin:
        (await admin.create_topics([NewTopic(n, i + 1) for i, n in enumerate(names)])).check()

        async def check() -> None:
            results = await admin.describe_topics([*names, missing, names[0]])
            assert list(results) == [*names, missing]  # order kept, repeats dropped
            assert [len(results[n].partitions) for n in names] == [1, 2, 3]
            assert isinstance(results.errors[missing], errors.UnknownTopicOrPartitionError)

        await eventually(check)


async def test_delete_by_name_and_id(target: Target) -> None:
    a, b = target.unique_topic(), target.unique_topic()
    async with target.admin() as admin:
        created = await admin.create_topics([a, b])
        b_id = created[b].topic_id
        assert b_id is not None
        unknown_id = uuid.uuid4()
        missing = target.unique_topic()
        results = await admin.delete_topics([a, b_id, missing, unknown_id])
        assert results[a] is None
        assert results[b_id] is None
        assert isinstance(results.errors[missing], errors.UnknownTopicOrPartitionError)
        assert isinstance(results.errors[unknown_id], errors.UnknownTopicIdError)
        await eventually(lambda: _assert_gone(admin, a, b))


async def test_create_partitions(target: Target) -> None:
    name = target.unique_topic()
    broker = target.broker_ids[0]
    async with target.admin() as admin:
        await admin.create_topics(NewTopic(name, 1))
        checked = await admin.create_partitions({name: 4}, validate_only=True)
        assert checked[name] is None
        assert len((await admin.describe_topics(name)).partitions) == 1
        (await admin.create_partitions({name: NewPartitions(3, [[broker], [broker]])})).check()
        await eventually(lambda: _assert_partitions(admin, name, 3))
        results = await admin.create_partitions({name: 3, target.unique_topic(): 2, "bad/name": 2})
        assert isinstance(results.errors[name], errors.InvalidPartitionsError)
        assert len(results.errors) == 3
        with pytest.raises(errors.InvalidPartitionsError):
            (await admin.create_partitions({name: 2})).check()
        with pytest.raises(errors.InvalidReplicaAssignmentError):
            (await admin.create_partitions({name: NewPartitions(5, [[broker]])})).check()
        (await admin.create_partitions({name: NewPartitions(5)})).check()
        await eventually(lambda: _assert_partitions(admin, name, 5))


async def _assert_gone(admin: AsyncAdmin, *names: str) -> None:
    listing = await admin.list_topics()
    assert not set(names) & set(listing)


async def _assert_partitions(admin: AsyncAdmin, name: str, count: int) -> None:
    assert len((await admin.describe_topics(name)).partitions) == count

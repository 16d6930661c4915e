"""Admin conformance: listing offsets and deleting records, on each partition's leader."""

from __future__ import annotations

import pytest

from rafka import errors
from rafka.clients.admin import (
    AsyncAdmin,
    DeletedRecords,
    IsolationLevel,
    ListedOffset,
    NewTopic,
    OffsetSpec,
    TopicPartition,
)
from tests.conformance.conftest import Target, eventually

BASE_TS = 1_700_000_000_000


async def _topic_with_records(target: Target, admin: AsyncAdmin, count: int) -> str:
    """A two-partition topic with ``count`` records in partition 0, timestamped BASE_TS + i."""
    name = target.unique_topic()
    await admin.create_topics(NewTopic(name, 2))
    await eventually(lambda: admin.describe_topics(name))
    async with target.producer(linger_ms=0) as producer:
        for i in range(count):
            await producer.send(name, f"v{i}".encode(), partition=0, timestamp=BASE_TS + i)
        await producer.flush()
    return name


async def test_list_offsets(target: Target) -> None:
    async with target.admin() as admin:
        name = await _topic_with_records(target, admin, 10)
        p0, p1 = TopicPartition(name, 0), TopicPartition(name, 1)
        results = await admin.list_offsets(
            {
                p0: OffsetSpec.latest(),
                p1: OffsetSpec.latest(),
                (name, 7): OffsetSpec.earliest(),
                (target.unique_topic(), 0): OffsetSpec.earliest(),
            }
        )
        assert results[p0] == ListedOffset(10, -1, 0)
        assert results[p1].offset == 0
        assert [type(e) for e in results.errors.values()] == [
            errors.UnknownTopicOrPartitionError,
            errors.UnknownTopicOrPartitionError,
        ]

        async def offset(spec: OffsetSpec, tp: TopicPartition = p0) -> ListedOffset:
            return (await admin.list_offsets({tp: spec}))[tp]

        assert (await offset(OffsetSpec.earliest())).offset == 0
        assert await offset(OffsetSpec.for_timestamp(BASE_TS + 5)) == ListedOffset(
            5, BASE_TS + 5, 0
        )
        assert await offset(OffsetSpec.for_timestamp(BASE_TS + 100)) == ListedOffset(-1, -1, None)
        assert await offset(OffsetSpec.max_timestamp()) == ListedOffset(9, BASE_TS + 9, 0)
        assert (await offset(OffsetSpec.earliest_local())).offset == 0
        assert await offset(OffsetSpec.max_timestamp(), p1) == ListedOffset(-1, -1, None)
        committed = await admin.list_offsets(
            {p0: OffsetSpec.latest()}, isolation_level=IsolationLevel.READ_COMMITTED
        )
        assert committed[p0].offset == 10
        with pytest.raises(ValueError):
            await admin.list_offsets({p0: OffsetSpec.latest()}, isolation_level="sloppy")


async def test_delete_records(target: Target) -> None:
    async with target.admin() as admin:
        name = await _topic_with_records(target, admin, 10)
        p0 = TopicPartition(name, 0)
        deleted = await admin.delete_records({(name, 0): 4, (name, 1): 0})
        assert deleted[p0] == DeletedRecords(4)
        assert deleted[TopicPartition(name, 1)] == DeletedRecords(0)
        earliest = await admin.list_offsets({p0: OffsetSpec.earliest()})
        assert earliest[p0].offset == 4
        assert (await admin.delete_records({p0: 2}))[p0].low_watermark == 4  # never backwards
        results = await admin.delete_records({p0: 11, (name, 9): 0, (target.unique_topic(), 0): 0})
        assert [type(e) for e in results.errors.values()] == [
            errors.OffsetOutOfRangeError,
            errors.UnknownTopicOrPartitionError,
            errors.UnknownTopicOrPartitionError,
        ]
        assert (await admin.delete_records({p0: -1}))[p0].low_watermark == 10
        after = await admin.list_offsets({p0: OffsetSpec.earliest()})
        assert after[p0].offset == 10

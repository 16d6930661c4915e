"""Partition-leader operations: list offsets and delete records.

Both go to each partition's leader, found with a Metadata request; the leader moving
(NOT_LEADER_OR_FOLLOWER, FENCED/UNKNOWN_LEADER_EPOCH), having none (LEADER_NOT_AVAILABLE) or not
knowing the partition yet (UNKNOWN_TOPIC_OR_PARTITION) looks the leader up again after a
backoff; a topic or partition the metadata does not have fails at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from rafka import errors
from rafka.clients.admin.base import AdminBase
from rafka.clients.admin.lookups import partition_leaders
from rafka.clients.admin.results import DeletedRecords, ListedOffset, Results
from rafka.clients.admin.routing import Answer, Deadline, classify
from rafka.clients.admin.types import IsolationLevel, OffsetSpec
from rafka.clients.admin.types import isolation_level as _level
from rafka.clients.types import TopicPartition
from rafka.protocol import messages as m

__all__ = ["RecordsMixin"]

#: A partition as ``TopicPartition`` or a plain ``(topic, partition)`` tuple.
TP = TypeVar("TP", bound=tuple[str, int])

LIST_OFFSETS = 2
DELETE_RECORDS = 21
TIMEOUT_MS_IN_LIST_OFFSETS = 10
_MOVED = {
    errors.NotLeaderOrFollowerError.code,
    errors.LeaderNotAvailableError.code,
    errors.UnknownTopicOrPartitionError.code,
    errors.FencedLeaderEpochError.code,
    errors.UnknownLeaderEpochError.code,
    errors.NotControllerError.code,
}
_RETRY = {errors.OffsetNotAvailableError.code}


def _partitions(items: Mapping[Any, Any]) -> dict[TopicPartition, Any]:
    out: dict[TopicPartition, Any] = {}
    for key, value in items.items():
        try:
            topic, partition = key
        except (TypeError, ValueError):
            raise TypeError(f"expected (topic, partition) keys, got {key!r}") from None
        out[TopicPartition(str(topic), int(partition))] = value
    return out


def _by_topic(keys: list[TopicPartition]) -> dict[str, list[int]]:
    topics: dict[str, list[int]] = {}
    for tp in keys:
        topics.setdefault(tp.topic, []).append(tp.partition)
    return topics


class RecordsMixin(AdminBase):
    """Offset and record operations of :class:`~rafka.clients.admin.AsyncAdmin`."""

    async def list_offsets(
        self,
        partitions: Mapping[TP, OffsetSpec],
        *,
        isolation_level: IsolationLevel | str = IsolationLevel.READ_UNCOMMITTED,
        timeout: float | None = None,
    ) -> Results[TopicPartition, ListedOffset]:
        """Look up offsets: ``{("orders", 0): OffsetSpec.latest()}``. Each partition's answer
        is a :class:`ListedOffset`; for a timestamp with no record at or after it, offset and
        timestamp are -1. Specs a leader's ListOffsets version cannot carry (max_timestamp
        before v7 ...) fail with :class:`~rafka.errors.UnsupportedVersionError`."""
        specs: dict[TopicPartition, OffsetSpec] = _partitions(partitions)
        for spec in specs.values():
            if not isinstance(spec, OffsetSpec):
                raise TypeError(f"list_offsets takes OffsetSpec values, not {spec!r}")
        level = _level(isolation_level)
        router = self._router

        async def fulfil(
            node: int, batch: list[TopicPartition], deadline: Deadline
        ) -> Answer[TopicPartition, ListedOffset]:
            version = await router.version(node, LIST_OFFSETS)
            answer: Answer[TopicPartition, ListedOffset] = Answer()
            for tp in batch:
                if specs[tp].min_version > version:
                    answer.failed[tp] = errors.UnsupportedVersionError(
                        f"node {node} serves ListOffsets up to v{version}; offset spec "
                        f"{specs[tp].timestamp} needs v{specs[tp].min_version}"
                    )
            asked = [tp for tp in batch if tp not in answer.failed]
            if not asked:
                return answer
            if level and version < 2:
                raise errors.UnsupportedVersionError("read_committed needs ListOffsets v2+")
            request = m.ListOffsetsRequest(
                replica_id=-1,
                isolation_level=int(level),
                topics=[
                    m.ListOffsetsRequest.ListOffsetsTopic(
                        name=topic,
                        partitions=[
                            m.ListOffsetsRequest.ListOffsetsPartition(
                                partition_index=p,
                                current_leader_epoch=-1,
                                timestamp=specs[TopicPartition(topic, p)].timestamp,
                            )
                            for p in parts
                        ],
                    )
                    for topic, parts in _by_topic(asked).items()
                ],
                timeout_ms=max(1, int(min(deadline.remaining(), router.request_timeout) * 1000)),
            )
            response = await router.send(
                node, LIST_OFFSETS, lambda v: request, deadline, wanted_max=version
            )
            assert isinstance(response, m.ListOffsetsResponse)
            for topic in response.topics:
                for p in topic.partitions:
                    tp = TopicPartition(topic.name, p.partition_index)
                    if tp not in specs or tp not in asked:
                        continue
                    if p.error_code:
                        classify(
                            answer,
                            tp,
                            p.error_code,
                            f"{tp.topic}-{tp.partition}",
                            retry=_RETRY,
                            remap=_MOVED,
                        )
                    else:
                        answer.done[tp] = ListedOffset(
                            p.offset, p.timestamp, None if p.leader_epoch < 0 else p.leader_epoch
                        )
            return answer

        return await self._each(  # type: ignore[no-any-return]
            "list_offsets", list(specs), False, partition_leaders(router), fulfil, timeout
        )

    async def delete_records(
        self,
        offsets: Mapping[TP, int],
        *,
        timeout: float | None = None,
    ) -> Results[TopicPartition, DeletedRecords]:
        """Delete every record before an offset: ``{("orders", 0): 100}`` makes offset 100 the
        partition's log start (-1: the high watermark, deleting everything). Each answer is
        the partition's new ``low_watermark``; an offset above the high watermark fails with
        :class:`~rafka.errors.OffsetOutOfRangeError`."""
        wanted: dict[TopicPartition, int] = {tp: int(o) for tp, o in _partitions(offsets).items()}
        router = self._router

        async def fulfil(
            node: int, batch: list[TopicPartition], deadline: Deadline
        ) -> Answer[TopicPartition, DeletedRecords]:
            request = m.DeleteRecordsRequest(
                topics=[
                    m.DeleteRecordsRequest.DeleteRecordsTopic(
                        name=topic,
                        partitions=[
                            m.DeleteRecordsRequest.DeleteRecordsPartition(
                                partition_index=p, offset=wanted[TopicPartition(topic, p)]
                            )
                            for p in parts
                        ],
                    )
                    for topic, parts in _by_topic(batch).items()
                ],
                timeout_ms=max(1, int(min(deadline.remaining(), router.request_timeout) * 1000)),
            )
            response = await router.send(node, DELETE_RECORDS, lambda v: request, deadline)
            assert isinstance(response, m.DeleteRecordsResponse)
            answer: Answer[TopicPartition, DeletedRecords] = Answer()
            for topic in response.topics:
                for p in topic.partitions:
                    tp = TopicPartition(topic.name, p.partition_index)
                    if tp not in wanted:
                        continue
                    if p.error_code:
                        classify(
                            answer, tp, p.error_code, f"{tp.topic}-{tp.partition}", remap=_MOVED
                        )
                    else:
                        answer.done[tp] = DeletedRecords(p.low_watermark)
            return answer

        return await self._each(  # type: ignore[no-any-return]
            "delete_records", list(wanted), False, partition_leaders(router), fulfil, timeout
        )

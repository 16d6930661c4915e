"""A group's committed offsets: list (OffsetFetch), alter (OffsetCommit) and delete
(OffsetDelete), on the group's coordinator.

Offsets are read with OffsetFetch, several groups per request from v8, and written as an
admin: OffsetCommit with generation -1 and no member, which the coordinator accepts only while
the group is empty. OffsetFetch and OffsetCommit are spoken up to v9 (v10 names topics by id).
A group-level error (coordinator moved or loading) asks again; other group-level errors raise;
per-partition errors are answered per partition.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, overload

from rafka import errors
from rafka.clients.admin.base import AdminBase, unique
from rafka.clients.admin.groups import COORDINATOR_RETRY, group_error
from rafka.clients.admin.lookups import group_coordinators
from rafka.clients.admin.results import OffsetAndMetadata, Results
from rafka.clients.admin.routing import Answer, Deadline
from rafka.clients.types import TopicPartition
from rafka.protocol import messages as m

__all__ = ["GroupOffsetsMixin"]

OFFSET_COMMIT = 8
OFFSET_FETCH = 9
OFFSET_DELETE = 47
BY_NAME_MAX = 9  # OffsetFetch / OffsetCommit v10 name topics by id
BATCHED_FETCH = 8  # OffsetFetch v8+ reads several groups

#: A partition as ``TopicPartition`` or a plain ``(topic, partition)`` tuple.
TP = TypeVar("TP", bound=tuple[str, int])
GroupOffsets = dict[TopicPartition, OffsetAndMetadata | None]
PartitionErrors = dict[TopicPartition, BaseException | None]


def _tps(partitions: Iterable[tuple[str, int]]) -> list[TopicPartition]:
    return unique(TopicPartition(str(t), int(p)) for t, p in partitions)


def _by_topic(tps: Iterable[TopicPartition]) -> dict[str, list[int]]:
    topics: dict[str, list[int]] = {}
    for tp in tps:
        topics.setdefault(tp.topic, []).append(tp.partition)
    return topics


class GroupOffsetsMixin(AdminBase):
    """Group offset operations of :class:`~rafka.clients.admin.AsyncAdmin`."""

    @overload
    async def list_group_offsets(
        self,
        groups: str,
        partitions: Iterable[tuple[str, int]] | None = None,
        *,
        require_stable: bool = False,
        timeout: float | None = None,
    ) -> GroupOffsets: ...

    @overload
    async def list_group_offsets(
        self,
        groups: Mapping[str, Iterable[tuple[str, int]] | None],
        partitions: None = None,
        *,
        require_stable: bool = False,
        timeout: float | None = None,
    ) -> Results[str, GroupOffsets]: ...

    async def list_group_offsets(
        self,
        groups: str | Mapping[str, Iterable[tuple[str, int]] | None],
        partitions: Iterable[tuple[str, int]] | None = None,
        *,
        require_stable: bool = False,
        timeout: float | None = None,
    ) -> GroupOffsets | Results[str, GroupOffsets]:
        """A group's committed offsets: ``{TopicPartition: OffsetAndMetadata}`` for every
        partition it committed (``partitions`` None), or for the partitions asked (None for
        those without a commit). Several groups at once: ``{group: partitions or None}``
        gives :class:`Results` by group. An unknown group has no offsets (an empty dict).
        ``require_stable`` waits out pending transactional commits (OffsetFetch v7+)."""
        single = isinstance(groups, str)
        wanted: dict[str, list[TopicPartition] | None] = {}
        if single:
            wanted[groups] = None if partitions is None else _tps(partitions)  # type: ignore[index]
        else:
            if partitions is not None:
                raise TypeError("give partitions per group: {group: partitions}")
            for group, parts in groups.items():  # type: ignore[union-attr]
                wanted[group] = None if parts is None else _tps(parts)
        router = self._router

        async def fulfil(
            node: int, batch: list[str], deadline: Deadline
        ) -> Answer[str, GroupOffsets]:
            version = await router.version(
                node, OFFSET_FETCH, wanted_max=BY_NAME_MAX, min_version=7 if require_stable else 1
            )
            answer: Answer[str, GroupOffsets] = Answer()
            if version >= BATCHED_FETCH:
                response = await router.send(
                    node,
                    OFFSET_FETCH,
                    lambda v: _fetch_batched(wanted, batch, require_stable),
                    deadline,
                    wanted_max=version,
                )
                assert isinstance(response, m.OffsetFetchResponse)
                for g in response.groups:
                    if g.group_id not in batch:
                        continue
                    if g.error_code:
                        group_error(answer, g.group_id, g.error_code, None)
                        continue
                    _offsets(answer, g.group_id, g.topics)
                return answer
            for group in batch:  # one group per request before v8
                response = await router.send(
                    node,
                    OFFSET_FETCH,
                    functools.partial(_fetch_one, wanted, group, require_stable),
                    deadline,
                    wanted_max=version,
                )
                assert isinstance(response, m.OffsetFetchResponse)
                if response.error_code:
                    group_error(answer, group, response.error_code, None)
                else:
                    _offsets(answer, group, response.topics)
            return answer

        return await self._each(  # type: ignore[no-any-return]
            "list_group_offsets", list(wanted), single, group_coordinators(router), fulfil, timeout
        )

    async def alter_group_offsets(
        self,
        group: str,
        offsets: Mapping[TP, int | OffsetAndMetadata],
        *,
        timeout: float | None = None,
    ) -> Results[TopicPartition, None]:
        """Set a group's committed offsets, as an admin (the group must be empty, else the
        partitions fail with :class:`~rafka.errors.UnknownMemberIdError`, as in Kafka).
        Answers per partition; errors of the group itself raise."""
        commits: dict[TopicPartition, OffsetAndMetadata] = {
            TopicPartition(str(t), int(p)): o
            if isinstance(o, OffsetAndMetadata)
            else OffsetAndMetadata(int(o))
            for (t, p), o in offsets.items()
        }
        router = self._router

        def build(version: int) -> m.OffsetCommitRequest:
            return m.OffsetCommitRequest(
                group_id=group,
                generation_id_or_member_epoch=-1,
                member_id="",
                group_instance_id=None,
                topics=[
                    m.OffsetCommitRequest.OffsetCommitRequestTopic(
                        name=topic,
                        partitions=[
                            m.OffsetCommitRequest.OffsetCommitRequestPartition(
                                partition_index=p,
                                committed_offset=commits[TopicPartition(topic, p)].offset,
                                committed_leader_epoch=_epoch(commits[TopicPartition(topic, p)]),
                                committed_metadata=commits[TopicPartition(topic, p)].metadata,
                            )
                            for p in parts
                        ],
                    )
                    for topic, parts in _by_topic(commits).items()
                ],
            )

        async def fulfil(
            node: int, batch: list[str], deadline: Deadline
        ) -> Answer[str, PartitionErrors]:
            response = await router.send(
                node, OFFSET_COMMIT, build, deadline, wanted_max=BY_NAME_MAX
            )
            assert isinstance(response, m.OffsetCommitResponse)
            found: PartitionErrors = {}
            for t in response.topics:
                for p in t.partitions:
                    tp = TopicPartition(t.name, p.partition_index)
                    found[tp] = errors.for_code(p.error_code)(str(tp)) if p.error_code else None
            return _per_partition(group, found)

        return await self._partitions("alter_group_offsets", group, list(commits), fulfil, timeout)

    async def delete_group_offsets(
        self,
        group: str,
        partitions: Iterable[tuple[str, int]],
        *,
        timeout: float | None = None,
    ) -> Results[TopicPartition, None]:
        """Delete a group's committed offsets for some partitions (the group must be empty,
        or not subscribed to those topics). Answers per partition; errors of the group itself
        (:class:`~rafka.errors.GroupIdNotFoundError`, :class:`~rafka.errors.NonEmptyGroupError`)
        raise."""
        tps = _tps(partitions)
        router = self._router

        async def fulfil(
            node: int, batch: list[str], deadline: Deadline
        ) -> Answer[str, PartitionErrors]:
            request = m.OffsetDeleteRequest(
                group_id=group,
                topics=[
                    m.OffsetDeleteRequest.OffsetDeleteRequestTopic(
                        name=topic,
                        partitions=[
                            m.OffsetDeleteRequest.OffsetDeleteRequestPartition(partition_index=p)
                            for p in parts
                        ],
                    )
                    for topic, parts in _by_topic(tps).items()
                ],
            )
            response = await router.send(node, OFFSET_DELETE, lambda v: request, deadline)
            assert isinstance(response, m.OffsetDeleteResponse)
            if response.error_code:
                answer: Answer[str, PartitionErrors] = Answer()
                group_error(answer, group, response.error_code, None)
                return answer
            found: PartitionErrors = {}
            for t in response.topics:
                for p in t.partitions:
                    tp = TopicPartition(t.name, p.partition_index)
                    found[tp] = errors.for_code(p.error_code)(str(tp)) if p.error_code else None
            return Answer(done={group: found})

        return await self._partitions("delete_group_offsets", group, tps, fulfil, timeout)

    async def _partitions(
        self,
        what: str,
        group: str,
        tps: list[TopicPartition],
        fulfil: Any,
        timeout: float | None,
    ) -> Results[TopicPartition, None]:
        found: PartitionErrors = await self._each(
            what, [group], True, group_coordinators(self._router), fulfil, timeout
        )
        failures = {tp: e for tp, e in found.items() if e is not None}
        for tp in tps:
            if tp not in found:
                failures[tp] = errors.UnknownServerError(f"the coordinator did not answer {tp}")
        return Results(tps, {tp: None for tp in tps if tp not in failures}, failures)


# ------------------------------------------------------------------------------- helpers


def _epoch(commit: OffsetAndMetadata) -> int:
    return -1 if commit.leader_epoch is None else commit.leader_epoch


def _per_partition(group: str, found: PartitionErrors) -> Answer[str, PartitionErrors]:
    """OffsetCommit has errors per partition only: a coordinator error on them is the
    group's (look the coordinator up again), anything else stays with its partition."""
    answer: Answer[str, PartitionErrors] = Answer()
    for error in found.values():
        code = getattr(error, "code", 0)
        if code in COORDINATOR_RETRY:
            group_error(answer, group, code, None)
            return answer
    answer.done[group] = found
    return answer


def _fetch_batched(
    wanted: Mapping[str, list[TopicPartition] | None], batch: list[str], require_stable: bool
) -> m.OffsetFetchRequest:
    return m.OffsetFetchRequest(
        groups=[
            m.OffsetFetchRequest.OffsetFetchRequestGroup(
                group_id=group,
                member_id=None,
                member_epoch=-1,
                topics=None
                if wanted[group] is None
                else [
                    m.OffsetFetchRequest.OffsetFetchRequestTopics(name=t, partition_indexes=ps)
                    for t, ps in _by_topic(wanted[group] or ()).items()
                ],
            )
            for group in batch
        ],
        require_stable=require_stable,
    )


def _fetch_one(
    wanted: Mapping[str, list[TopicPartition] | None],
    group: str,
    require_stable: bool,
    version: int,
) -> m.OffsetFetchRequest:
    parts = wanted[group]
    topics: list[m.OffsetFetchRequest.OffsetFetchRequestTopic] | None = None
    if parts is not None or version < 2:
        topics = [
            m.OffsetFetchRequest.OffsetFetchRequestTopic(name=t, partition_indexes=ps)
            for t, ps in _by_topic(parts or ()).items()
        ]
    return m.OffsetFetchRequest(group_id=group, topics=topics, require_stable=require_stable)


def _offsets(answer: Answer[str, GroupOffsets], group: str, topics: Iterable[Any]) -> None:
    offsets: GroupOffsets = {}
    for t in topics:
        for p in t.partitions:
            tp = TopicPartition(t.name, p.partition_index)
            if p.error_code == errors.UnstableOffsetCommitError.code:
                answer.retry[group] = errors.UnstableOffsetCommitError(str(tp))
                return
            if p.error_code:
                answer.failed[group] = errors.for_code(p.error_code)(f"group {group!r}: {tp}")
                return
            offsets[tp] = (
                None
                if p.committed_offset < 0
                else OffsetAndMetadata(
                    p.committed_offset,
                    p.metadata or "",
                    None if p.committed_leader_epoch < 0 else p.committed_leader_epoch,
                )
            )
    answer.done[group] = dict(sorted(offsets.items()))

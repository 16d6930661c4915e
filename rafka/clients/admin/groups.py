"""Group administration: list, describe and delete groups.

Listing asks every broker (each knows the groups it coordinates) and merges. Describing and
deleting go to each group's coordinator (FindCoordinator, batched from v4); NOT_COORDINATOR and
COORDINATOR_NOT_AVAILABLE look it up again, COORDINATOR_LOAD_IN_PROGRESS asks again later.

Describing tries ConsumerGroupDescribe (KIP-848 consumer groups) where the coordinator serves
it and falls back to DescribeGroups for the groups it does not know (classic groups), as
Kafka's admin client does. A group's committed offsets are in :mod:`.offsets`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, overload

from rafka import errors
from rafka.clients.admin.base import AdminBase, unique
from rafka.clients.admin.lookups import fixed_nodes, group_coordinators
from rafka.clients.admin.results import (
    GroupDescription,
    GroupListing,
    MemberDescription,
    Results,
)
from rafka.clients.admin.routing import Answer, Deadline, classify
from rafka.clients.types import TopicPartition
from rafka.protocol import messages as m

__all__ = ["COORDINATOR_RETRY", "GroupsMixin", "group_error"]

DESCRIBE_GROUPS = 15
LIST_GROUPS = 16
DELETE_GROUPS = 42
CONSUMER_GROUP_DESCRIBE = 69

_REMAP = {errors.NotCoordinatorError.code, errors.CoordinatorNotAvailableError.code}
_RETRY = {errors.CoordinatorLoadInProgressError.code}
#: Error codes that mean "ask the (right) coordinator again".
COORDINATOR_RETRY = _REMAP | _RETRY


def group_error(answer: Answer[str, Any], group: str, code: int, message: str | None) -> None:
    """Record a group's error: coordinator moves and loads are retried, the rest fail it."""
    classify(answer, group, code, message or f"group {group!r}", retry=_RETRY, remap=_REMAP)


class GroupsMixin(AdminBase):
    """Group operations of :class:`~rafka.clients.admin.AsyncAdmin`."""

    # ------------------------------------------------------------------------------- list

    async def list_groups(
        self,
        *,
        states: Iterable[str] | None = None,
        types: Iterable[str] | None = None,
        timeout: float | None = None,
    ) -> list[GroupListing]:
        """Every group of the cluster, by group id. ``states`` (``"Stable"``, ``"Empty"``,
        ...) and ``types`` (``"classic"``, ``"consumer"``) filter, case-insensitively; they
        need brokers serving ListGroups v4 / v5. Fails with the first broker's error if any
        broker cannot answer."""
        state_filter = list(states or ())
        type_filter = list(types or ())
        router = self._router
        deadline = self._deadline(timeout)
        brokers = await self._all_brokers(timeout)

        async def fulfil(
            node: int, batch: list[int], deadline: Deadline
        ) -> Answer[int, list[GroupListing]]:
            need = 5 if type_filter else 4 if state_filter else 0
            response = await router.send(
                node,
                LIST_GROUPS,
                lambda v: m.ListGroupsRequest(states_filter=state_filter, types_filter=type_filter),
                deadline,
                min_version=need,
            )
            assert isinstance(response, m.ListGroupsResponse)
            answer: Answer[int, list[GroupListing]] = Answer()
            if response.error_code:
                for key in batch:
                    classify(
                        answer,
                        key,
                        response.error_code,
                        f"broker {node}",
                        retry=COORDINATOR_RETRY,
                    )
                return answer
            version = await router.version(node, LIST_GROUPS)
            listed = [
                GroupListing(
                    g.group_id,
                    g.protocol_type,
                    g.group_state if version >= 4 else None,
                    g.group_type if version >= 5 else None,
                )
                for g in response.groups
            ]
            answer.done = dict.fromkeys(batch, listed)
            return answer

        done, failed = await self._drive(
            "list_groups", brokers, fixed_nodes(router, lambda b: b), fulfil, deadline.remaining()
        )
        if failed:
            raise next(iter(failed.values()))
        merged = {g.group_id: g for listed in done.values() for g in listed}
        return [merged[g] for g in sorted(merged)]

    # --------------------------------------------------------------------------- describe

    @overload
    async def describe_groups(  # type: ignore[overload-overlap]
        self, groups: str, *, timeout: float | None = None
    ) -> GroupDescription: ...

    @overload
    async def describe_groups(
        self, groups: Iterable[str], *, timeout: float | None = None
    ) -> Results[str, GroupDescription]: ...

    async def describe_groups(
        self, groups: str | Iterable[str], *, timeout: float | None = None
    ) -> GroupDescription | Results[str, GroupDescription]:
        """Describe groups: state, type, protocol, coordinator and members with their
        assignments. A group that does not exist fails with
        :class:`~rafka.errors.GroupIdNotFoundError`."""
        single = isinstance(groups, str)
        ids: list[str] = unique([groups] if single else list(groups))  # type: ignore[list-item]
        router = self._router

        async def fulfil(
            node: int, batch: list[str], deadline: Deadline
        ) -> Answer[str, GroupDescription]:
            answer: Answer[str, GroupDescription] = Answer()
            classic = batch
            if await router.serves(node, CONSUMER_GROUP_DESCRIBE):
                response = await router.send(
                    node,
                    CONSUMER_GROUP_DESCRIBE,
                    lambda v: m.ConsumerGroupDescribeRequest(group_ids=batch),
                    deadline,
                )
                assert isinstance(response, m.ConsumerGroupDescribeResponse)
                classic = []
                for g in response.groups:
                    if g.group_id not in batch:
                        continue
                    if g.error_code == errors.GroupIdNotFoundError.code:
                        classic.append(g.group_id)  # not a consumer group: maybe a classic one
                    elif g.error_code:
                        group_error(answer, g.group_id, g.error_code, g.error_message)
                    else:
                        answer.done[g.group_id] = _consumer_group(g, node)
            if not classic:
                return answer
            response2 = await router.send(
                node, DESCRIBE_GROUPS, lambda v: m.DescribeGroupsRequest(groups=classic), deadline
            )
            assert isinstance(response2, m.DescribeGroupsResponse)
            for d in response2.groups:
                if d.group_id not in classic:
                    continue
                if d.error_code:
                    group_error(answer, d.group_id, d.error_code, d.error_message)
                elif d.group_state == "Dead":
                    answer.failed[d.group_id] = errors.GroupIdNotFoundError(
                        f"group {d.group_id!r} does not exist"
                    )
                else:
                    answer.done[d.group_id] = _classic_group(d, node)
            return answer

        return await self._each(  # type: ignore[no-any-return]
            "describe_groups", ids, single, group_coordinators(router), fulfil, timeout
        )

    # ----------------------------------------------------------------------------- delete

    @overload
    async def delete_groups(  # type: ignore[overload-overlap]
        self, groups: str, *, timeout: float | None = None
    ) -> None: ...

    @overload
    async def delete_groups(
        self, groups: Iterable[str], *, timeout: float | None = None
    ) -> Results[str, None]: ...

    async def delete_groups(
        self, groups: str | Iterable[str], *, timeout: float | None = None
    ) -> Results[str, None] | None:
        """Delete empty groups with their committed offsets. A group with members fails with
        :class:`~rafka.errors.NonEmptyGroupError`, an unknown one with
        :class:`~rafka.errors.GroupIdNotFoundError`."""
        single = isinstance(groups, str)
        ids: list[str] = unique([groups] if single else list(groups))  # type: ignore[list-item]
        router = self._router

        async def fulfil(node: int, batch: list[str], deadline: Deadline) -> Answer[str, None]:
            response = await router.send(
                node, DELETE_GROUPS, lambda v: m.DeleteGroupsRequest(groups_names=batch), deadline
            )
            assert isinstance(response, m.DeleteGroupsResponse)
            answer: Answer[str, None] = Answer()
            for r in response.results:
                if r.group_id not in batch:
                    continue
                if r.error_code:
                    group_error(answer, r.group_id, r.error_code, None)
                else:
                    answer.done[r.group_id] = None
            return answer

        return await self._each(  # type: ignore[no-any-return]
            "delete_groups", ids, single, group_coordinators(router), fulfil, timeout
        )


# ------------------------------------------------------------------------------- helpers


def _assignment(data: bytes | None) -> frozenset[TopicPartition]:
    """A classic consumer member's assignment (ConsumerProtocolAssignment, version-prefixed)."""
    if not data or len(data) < 2:
        return frozenset()
    version = min(max(int.from_bytes(data[:2], "big", signed=True), 0), 3)
    try:
        decoded = m.ConsumerProtocolAssignment.decode(data[2:], version)
    except errors.DecodeError:
        return frozenset()
    return frozenset(
        TopicPartition(tp.topic, p) for tp in decoded.assigned_partitions for p in tp.partitions
    )


def _classic_group(d: m.DescribeGroupsResponse.DescribedGroup, node: int) -> GroupDescription:
    consumer = d.protocol_type == "consumer"
    return GroupDescription(
        d.group_id,
        d.group_state,
        "classic",
        d.protocol_type,
        d.protocol_data,
        node,
        tuple(
            MemberDescription(
                m.member_id,
                m.group_instance_id,
                m.client_id,
                m.client_host,
                _assignment(m.member_assignment) if consumer else frozenset(),
            )
            for m in d.members
        ),
    )


def _consumer_group(
    g: m.ConsumerGroupDescribeResponse.DescribedGroup, node: int
) -> GroupDescription:
    def partitions(a: m.ConsumerGroupDescribeResponse.Assignment) -> frozenset[TopicPartition]:
        return frozenset(
            TopicPartition(t.topic_name, p) for t in a.topic_partitions for p in t.partitions
        )

    return GroupDescription(
        g.group_id,
        g.group_state,
        "consumer",
        "consumer",
        g.assignor_name,
        node,
        tuple(
            MemberDescription(
                m.member_id,
                m.instance_id,
                m.client_id,
                m.client_host,
                partitions(m.assignment),
                partitions(m.target_assignment),
                m.member_epoch,
                tuple(m.subscribed_topic_names),
            )
            for m in g.members
        ),
        g.group_epoch,
        g.assignment_epoch,
    )

"""DeleteGroups (key 42), v0-2: delete Empty groups and their committed offsets.

- Each distinct group id is answered: GROUP_ID_NOT_FOUND (unknown, or Dead), NON_EMPTY_GROUP
  (members remain), NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS (not held here), or deleted:
  tombstones for its offsets and its metadata are written to ``__consumer_offsets`` before the
  answer (a write failure is reported for every group of that partition).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.groups.coordinator import ShardSlot
from rafka.cluster.groups.result import CoordinatorResult
from rafka.cluster.groups.shard import GroupShard
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import DeleteGroupsRequest, DeleteGroupsResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 42
VERSIONS = (0, 2)

R = DeleteGroupsResponse


async def handle(broker: Broker, ctx: RequestContext, request: DeleteGroupsRequest) -> R:
    coordinator = broker.group_coordinator
    results: list[R.DeletableGroupResult] = []
    by_partition: dict[int, list[str]] = {}
    for group_id in dict.fromkeys(request.groups_names):
        by_partition.setdefault(coordinator.partition_for(group_id), []).append(group_id)
    for index, group_ids in by_partition.items():
        try:
            slot: ShardSlot = coordinator.slot_of(index)
            deleted = await coordinator.write_to(slot, partial(_delete, group_ids))
            assert deleted is not None
            results += deleted
        except errors.KafkaError as exc:
            results += [R.DeletableGroupResult(g, exc.code) for g in group_ids]
    return R(results=results)


def _delete(
    group_ids: list[str], shard: GroupShard
) -> CoordinatorResult[list[R.DeletableGroupResult]]:
    return shard.delete_groups(group_ids)


def error_response(request: DeleteGroupsRequest, version: int, error: errors.KafkaError) -> R:
    return R(
        results=[R.DeletableGroupResult(g, error.code) for g in dict.fromkeys(request.groups_names)]
    )

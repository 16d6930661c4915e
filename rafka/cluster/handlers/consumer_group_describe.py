"""ConsumerGroupDescribe (key 69), v0-1: state, epochs, assignor and members of KIP-848
consumer groups.

- Each member: ids, rack, epoch, client, subscriptions, current and target assignment (topic
  ids with names; topics deleted meanwhile are left out), and from v1 whether it uses the
  classic (0) or the consumer (1) protocol.
- An empty group id is INVALID_GROUP_ID (answered first, as Kafka does); an unknown group, or
  one that is not a consumer group, is GROUP_ID_NOT_FOUND with Kafka's message (the Admin
  client then falls back to DescribeGroups for classic groups); NOT_COORDINATOR /
  COORDINATOR_LOAD_IN_PROGRESS per group this broker does not hold.
- UNSUPPORTED_VERSION for every group when the consumer protocol is disabled.
- Authorized operations, when asked: every group operation (rafka has no authorizer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.handlers.describe_groups import GROUP_OPERATIONS
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 69
VERSIONS = (0, 1)

R = ConsumerGroupDescribeResponse


async def handle(broker: Broker, ctx: RequestContext, request: ConsumerGroupDescribeRequest) -> R:
    coordinator = broker.group_coordinator
    if not coordinator.config.consumer_protocol_enabled:
        return error_response(request, ctx.api_version, errors.UnsupportedVersionError())
    groups: list[R.DescribedGroup] = []
    by_partition: dict[int, list[str]] = {}
    for group_id in request.group_ids:
        if group_id:
            by_partition.setdefault(coordinator.partition_for(group_id), []).append(group_id)
        else:
            groups.append(R.DescribedGroup(group_id="", error_code=errors.InvalidGroupIdError.code))
    for index, group_ids in by_partition.items():
        try:
            slot = coordinator.slot_of(index)
            assert slot.shard is not None
            groups += slot.shard.consumer_describe(group_ids)
        except errors.KafkaError as exc:
            groups += [R.DescribedGroup(group_id=g, error_code=exc.code) for g in group_ids]
    if request.include_authorized_operations:
        for described in groups:
            if not described.error_code:
                described.authorized_operations = GROUP_OPERATIONS
    return R(groups=groups)


def error_response(
    request: ConsumerGroupDescribeRequest, version: int, error: errors.KafkaError
) -> R:
    return R(
        groups=[R.DescribedGroup(group_id=g, error_code=error.code) for g in request.group_ids]
    )

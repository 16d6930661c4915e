"""DescribeGroups (key 15), v0-6: state, protocol and members of classic groups.

- Each group is answered by its shard: state, protocol type, and members (id, instance id,
  client id and host, assignment); the protocol and each member's metadata only when Stable.
- An unknown group (or one that is not classic) is described as Dead; from v6 with
  GROUP_ID_NOT_FOUND and a message (KIP-1043), before with no error.
- A group this broker does not coordinate: NOT_COORDINATOR (COORDINATOR_LOAD_IN_PROGRESS while
  its partition loads).
- Authorized operations (v3+, when asked): every group operation, as rafka has no authorizer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import DescribeGroupsRequest, DescribeGroupsResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 15
VERSIONS = (0, 6)

R = DescribeGroupsResponse
#: READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS (Kafka's group operations).
GROUP_OPERATIONS = sum(1 << op for op in (3, 6, 8, 10, 11))


async def handle(broker: Broker, ctx: RequestContext, request: DescribeGroupsRequest) -> R:
    coordinator = broker.group_coordinator
    groups = []
    for group_id in request.groups:
        try:
            slot = coordinator.slot_for(group_id)
            assert slot.shard is not None
            described = slot.shard.describe(group_id, ctx.api_version)
        except errors.KafkaError as exc:
            described = R.DescribedGroup(error_code=exc.code, group_id=group_id)
        if (
            ctx.api_version >= 3
            and request.include_authorized_operations
            and not described.error_code
        ):
            described.authorized_operations = GROUP_OPERATIONS
        groups.append(described)
    return R(groups=groups)


def error_response(request: DescribeGroupsRequest, version: int, error: errors.KafkaError) -> R:
    return R(groups=[R.DescribedGroup(error_code=error.code, group_id=g) for g in request.groups])

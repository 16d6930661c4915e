"""Heartbeat (key 12), v0-4: a classic group member says it is alive (in a classic group, or
as a classic member of a KIP-848 consumer group: REBALANCE_IN_PROGRESS tells it to rejoin
when the group epoch moved or its partitions must change).

Errors as Kafka gives them: INVALID_GROUP_ID (empty id), UNKNOWN_MEMBER_ID (unknown group or
member, or the group is Empty), FENCED_INSTANCE_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS
(the member must rejoin), NOT_COORDINATOR. While the group's partition is still loading the
answer is NONE, as Kafka answers blindly then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.groups.result import CoordinatorResult
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import HeartbeatRequest, HeartbeatResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 12
VERSIONS = (0, 4)

R = HeartbeatResponse


async def handle(broker: Broker, ctx: RequestContext, request: HeartbeatRequest) -> R:
    if not request.group_id:
        return R(error_code=errors.InvalidGroupIdError.code)
    try:
        code = await broker.group_coordinator.write(
            request.group_id,
            lambda shard: CoordinatorResult(response=shard.heartbeat(request)),
        )
    except errors.CoordinatorLoadInProgressError:
        code = 0
    except errors.KafkaError as exc:
        code = exc.code
    return R(error_code=code or 0)

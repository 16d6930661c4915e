"""LeaveGroup (key 13), v0-5: members leave a group (v3+: several at once).

- v0-2 name one member (``member_id``); the answer is its error at the top level. v3+ name
  members by id and/or ``group.instance.id``; an unknown member id with a known instance id
  removes that static member (the admin client's way); each gets its own error.
- An empty group id is INVALID_GROUP_ID; an unknown group gives UNKNOWN_MEMBER_ID for every
  member; a Dead group COORDINATOR_NOT_AVAILABLE.
- Leaving triggers a rebalance of the remaining members (see
  :mod:`rafka.cluster.groups.classic_protocol`). In a KIP-848 consumer group the members are
  fenced and the group epoch bumped, whatever protocol they use (Kafka's admin client removes
  consumer group members this way).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import LeaveGroupRequest, LeaveGroupResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 13
VERSIONS = (0, 5)

R = LeaveGroupResponse


async def handle(broker: Broker, ctx: RequestContext, request: LeaveGroupRequest) -> R:
    version = ctx.api_version
    if version < 3:
        members = [LeaveGroupRequest.MemberIdentity(member_id=request.member_id)]
    else:
        members = list(request.members)
    if not request.group_id:
        return _versioned(R(error_code=errors.InvalidGroupIdError.code), version)
    try:
        response = await broker.group_coordinator.write(
            request.group_id, lambda shard: shard.leave_group(request.group_id, members)
        )
    except errors.UnknownMemberIdError:
        response = R(
            members=[
                R.MemberResponse(m.member_id, m.group_instance_id, errors.UnknownMemberIdError.code)
                for m in members
            ]
        )
    except errors.KafkaError as exc:
        response = R(error_code=exc.code)
    assert response is not None
    return _versioned(response, version)


def _versioned(response: R, version: int) -> R:
    if version >= 3:
        return response
    if response.error_code or not response.members:
        return R(error_code=response.error_code)
    return R(error_code=response.members[0].error_code)


def error_response(request: LeaveGroupRequest, version: int, error: errors.KafkaError) -> R:
    return R(error_code=error.code)

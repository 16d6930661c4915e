"""SyncGroup (key 14), v0-5: the leader hands out the assignment; every member gets its share.

- An empty group id is INVALID_GROUP_ID; from v5 the protocol type and name are mandatory
  (INCONSISTENT_GROUP_PROTOCOL when missing) and must match the group's.
- Decided by the group's shard (:mod:`rafka.cluster.groups.classic_protocol`): a follower's
  request waits for the leader's; the leader's assignment is written to ``__consumer_offsets``
  and every waiting member is answered once it is committed. A classic member of a KIP-848
  consumer group gets its assigned partitions from the coordinator instead
  (:mod:`rafka.cluster.groups.consumer_classic`; ILLEGAL_GENERATION unless its generation is
  its member epoch, REBALANCE_IN_PROGRESS while the group epoch is ahead of it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.groups.coordinator import await_reply
from rafka.cluster.groups.result import Reply
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import SyncGroupRequest, SyncGroupResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 14
VERSIONS = (0, 5)

R = SyncGroupResponse


async def handle(broker: Broker, ctx: RequestContext, request: SyncGroupRequest) -> R:
    if not request.group_id:
        return R(error_code=errors.InvalidGroupIdError.code)
    if ctx.api_version >= 5 and (request.protocol_type is None or request.protocol_name is None):
        return R(error_code=errors.InconsistentGroupProtocolError.code)
    reply: Reply[R] = Reply()
    try:
        await broker.group_coordinator.write(
            request.group_id, lambda shard: shard.sync(request, reply)
        )
    except errors.KafkaError as exc:
        reply.complete(R(error_code=exc.code))
    return await await_reply(reply)

"""JoinGroup (key 11), v0-9: join (or rejoin) a classic group; the response may wait for the
rebalance to complete.

- An empty group id is INVALID_GROUP_ID; a session timeout outside
  ``group.min.session.timeout.ms``..``group.max.session.timeout.ms`` is INVALID_SESSION_TIMEOUT.
- v0 has no rebalance timeout: the session timeout serves as both, as in Kafka.
- From v4 a member without an id is given one and told to rejoin with it
  (MEMBER_ID_REQUIRED); static members (v5+, ``group.instance.id``) are not.
- The request is decided by the group's shard
  (:mod:`rafka.cluster.groups.classic_protocol`) and parked until its generation completes;
  NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS when this broker does not hold the group.
- The protocol name is "" before v7 and null from v7 when there is none; SkipAssignment (v9)
  is only ever set for v9 requests.
- Joining a non-empty KIP-848 consumer group makes the member a classic member of it
  (:mod:`rafka.cluster.groups.consumer_classic`); an Empty consumer group becomes a classic
  group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.groups.classic_protocol import JoinContext
from rafka.cluster.groups.coordinator import await_reply
from rafka.cluster.groups.result import Reply
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import JoinGroupRequest, JoinGroupResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 11
VERSIONS = (0, 9)

R = JoinGroupResponse


async def handle(broker: Broker, ctx: RequestContext, request: JoinGroupRequest) -> R:
    version = ctx.api_version
    coordinator = broker.group_coordinator
    config = coordinator.config
    if not request.group_id:
        return _versioned(
            R(error_code=errors.InvalidGroupIdError.code, member_id=request.member_id), version
        )
    if (
        not config.min_session_timeout_ms
        <= request.session_timeout_ms
        <= config.max_session_timeout_ms
    ):
        return _versioned(
            R(error_code=errors.InvalidSessionTimeoutError.code, member_id=request.member_id),
            version,
        )
    if version == 0:
        request.rebalance_timeout_ms = request.session_timeout_ms
    reply: Reply[R] = Reply()
    join = JoinContext(ctx.client_id or "", "/" + ctx.client_host, version)
    try:
        await coordinator.write(request.group_id, lambda shard: shard.join(join, request, reply))
    except errors.KafkaError as exc:
        reply.complete(R(error_code=exc.code))
    return _versioned(await await_reply(reply), version)


def _versioned(response: R, version: int) -> R:
    if version < 7 and response.protocol_name is None:
        response.protocol_name = ""
    elif version >= 7 and response.protocol_name == "":
        response.protocol_name = None
    return response


def error_response(request: JoinGroupRequest, version: int, error: errors.KafkaError) -> R:
    return _versioned(R(error_code=error.code, generation_id=-1, member_id=""), version)

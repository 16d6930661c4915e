"""ConsumerGroupHeartbeat (key 68), v0-1: the KIP-848 consumer group protocol. A member joins
(epoch 0), heartbeats (its epoch, and what changed since its last heartbeat), reconciles and
leaves (-1; -2 for a static member coming back) with this one request.

- UNSUPPORTED_VERSION when ``group.coordinator.rebalance.protocols`` lacks ``consumer``.
- INVALID_REQUEST, checked first and as Kafka words it: empty member id (v1+, where clients
  generate it, and for epochs > 0 and -1), empty group, instance or rack id; a join (epoch 0)
  without rebalance timeout, with owned partitions, or with neither topic names nor regex; a
  static leave without instance id; an epoch below -2. UNSUPPORTED_ASSIGNOR for a server
  assignor not in ``group.consumer.assignors``.
- The rest is decided by the group's shard (:mod:`rafka.cluster.groups.consumer_protocol`):
  GROUP_ID_NOT_FOUND, UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, FENCED_INSTANCE_ID,
  UNRELEASED_INSTANCE_ID, GROUP_MAX_SIZE_REACHED, INVALID_REGULAR_EXPRESSION; the response is
  sent once the records it wrote are committed. NOT_COORDINATOR,
  COORDINATOR_LOAD_IN_PROGRESS and write failures (COORDINATOR_NOT_AVAILABLE, ...) as Kafka
  maps them, without a message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.groups.consumer_engine import HeartbeatContext
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 68
VERSIONS = (0, 1)

R = ConsumerGroupHeartbeatResponse
Q = ConsumerGroupHeartbeatRequest

#: Errors whose message Kafka drops when it maps them (CoordinatorOperationExceptionHelper).
_NO_MESSAGE = {
    errors.CoordinatorNotAvailableError.code,
    errors.NotCoordinatorError.code,
    errors.UnknownServerError.code,
}
_JAVA_WHITESPACE = "".join(chr(c) for c in range(33))


def _blank(value: str | None) -> bool:
    """Java's ``value != null && value.trim().isEmpty()``."""
    return value is not None and not value.strip(_JAVA_WHITESPACE)


def validate(request: Q, version: int, assignors: tuple[str, ...]) -> None:
    """Raise what Kafka's GroupCoordinatorService raises for a malformed heartbeat."""
    invalid = errors.InvalidRequestError
    epoch = request.member_epoch
    if (version >= 1 or epoch > 0 or epoch == -1) and _blank(request.member_id):
        raise invalid("MemberId can't be empty.")
    if _blank(request.group_id):
        raise invalid("GroupId can't be empty.")
    if _blank(request.instance_id):
        raise invalid("InstanceId can't be empty.")
    if _blank(request.rack_id):
        raise invalid("RackId can't be empty.")
    if epoch == 0:
        if request.rebalance_timeout_ms == -1:
            raise invalid("RebalanceTimeoutMs must be provided in first request.")
        if request.topic_partitions is None or request.topic_partitions:
            raise invalid("TopicPartitions must be empty when (re-)joining.")
        if request.subscribed_topic_names is None and request.subscribed_topic_regex is None:
            raise invalid(
                "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when "
                "(re-)joining."
            )
    elif epoch == -2:
        if request.instance_id is None:
            raise invalid("InstanceId can't be null.")
    elif epoch < -2:
        raise invalid("MemberEpoch is invalid.")
    if request.server_assignor is not None and request.server_assignor not in assignors:
        raise errors.UnsupportedAssignorError(
            f"ServerAssignor {request.server_assignor} is not supported. Supported assignors: "
            f"{', '.join(assignors)}."
        )


async def handle(broker: Broker, ctx: RequestContext, request: Q) -> R:
    coordinator = broker.group_coordinator
    config = coordinator.config
    if not config.consumer_protocol_enabled:
        return R(error_code=errors.UnsupportedVersionError.code)
    try:
        validate(request, ctx.api_version, config.consumer.assignors)
        heartbeat = HeartbeatContext(ctx.client_id or "", "/" + ctx.client_host, ctx.api_version)
        response = await coordinator.write(
            request.group_id, lambda shard: shard.consumer.heartbeat(heartbeat, request)
        )
    except errors.KafkaError as exc:
        return R(
            error_code=exc.code,
            error_message=None if exc.code in _NO_MESSAGE else exc.message,
        )
    assert response is not None
    return response

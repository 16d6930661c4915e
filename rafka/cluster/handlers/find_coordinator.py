"""FindCoordinator (key 10), v0-6: which broker coordinates a group (or a transactional id).

- v0-3 ask for one key (v0: groups only), v4+ for a batch of keys, answered one by one.
- GROUP keys: the coordinator is the leader of ``__consumer_offsets`` partition
  ``abs(java_hash(key)) % partitions``. The topic is created by the first request that needs it
  (see :mod:`rafka.cluster.groups.topic`); Kafka answers that first request with
  COORDINATOR_NOT_AVAILABLE and lets the client retry, rafka creates the topic synchronously
  and answers at once. A partition without a live leader is COORDINATOR_NOT_AVAILABLE.
- TRANSACTION keys: COORDINATOR_NOT_AVAILABLE (rafka has no transaction coordinator yet).
- SHARE keys (v6+): INVALID_REQUEST (no share coordinator), as Kafka without share groups;
  before v6 a SHARE key is INVALID_REQUEST too. Unknown key types fail the whole request with
  INVALID_REQUEST.
- v0-3 successes carry ``error_message`` "NONE", errors Kafka's sentence for the code, as
  Kafka's ``Errors.message()`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.groups.topic import ensure_offsets_topic, partition_for
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import FindCoordinatorRequest, FindCoordinatorResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 10
VERSIONS = (0, 6)

R = FindCoordinatorResponse
GROUP, TRANSACTION, SHARE = 0, 1, 2
NO_NODE = (-1, "", -1)


def _coordinator(broker: Broker, key_type: int, key: str) -> tuple[int, int, str, int]:
    """(error code, node id, host, port) for one key."""
    if key_type != GROUP:
        return (errors.CoordinatorNotAvailableError.code, *NO_NODE)
    try:
        topic = ensure_offsets_topic(broker.controller, broker.config)
    except errors.KafkaError as exc:
        return (exc.code, *NO_NODE)
    image = broker.controller.image
    part = topic.partitions.get(partition_for(key, len(topic.partitions)))
    node = None if part is None else image.brokers.get(part.leader)
    if node is None or node.fenced:
        return (errors.CoordinatorNotAvailableError.code, *NO_NODE)
    return 0, node.node_id, node.host, node.port


def _check_key_type(key_type: int) -> None:
    if key_type not in (GROUP, TRANSACTION, SHARE):
        raise errors.InvalidRequestError(f"unknown coordinator key type {key_type}")


def _message(code: int) -> str:
    return "NONE" if code == 0 else errors.for_code(code).description


async def handle(broker: Broker, ctx: RequestContext, request: FindCoordinatorRequest) -> R:
    version = ctx.api_version
    key_type = request.key_type if version >= 1 else GROUP
    _check_key_type(key_type)
    if version < 4:
        if key_type == SHARE:
            raise errors.InvalidRequestError("share coordinators need FindCoordinator v6")
        code, node_id, host, port = _coordinator(broker, key_type, request.key)
        return R(
            error_code=code, error_message=_message(code), node_id=node_id, host=host, port=port
        )
    coordinators = []
    for key in request.coordinator_keys:
        if key_type == SHARE:
            share = errors.InvalidRequestError.code
            coordinators.append(R.Coordinator(key=key, node_id=-1, port=-1, error_code=share))
            continue
        code, node_id, host, port = _coordinator(broker, key_type, key)
        coordinators.append(
            R.Coordinator(key=key, node_id=node_id, host=host, port=port, error_code=code)
        )
    return R(coordinators=coordinators)


def _error(key: str, code: int) -> R.Coordinator:
    return R.Coordinator(
        key=key, node_id=-1, host="", port=-1, error_code=code, error_message=_message(code)
    )


def error_response(request: FindCoordinatorRequest, version: int, error: errors.KafkaError) -> R:
    if version < 4:
        return R(error_code=error.code, error_message=error.message, node_id=-1, host="", port=-1)
    return R(coordinators=[_error(key, error.code) for key in request.coordinator_keys])

"""AlterConfigs (key 33), v0-2: Kafka's legacy, replace-everything config update.

Each resource's configs become exactly the ones given (keys left out are deleted), through the
controller's ConfigRecords, so they persist and reach the replica manager.

- First the checks Kafka's broker makes (INVALID_REQUEST): a resource named twice ("Each
  resource must appear at most once."), a key named twice, a null value, BROKER_LOGGER or an
  unknown resource type ("Unknown resource type N").
- TOPIC: "" is INVALID_REQUEST, a bad name INVALID_TOPIC_EXCEPTION; the resulting configs are
  validated as Kafka's LogConfig does (INVALID_CONFIG: unknown names, bad values, conflicts,
  tiered storage); then an unknown topic is UNKNOWN_TOPIC_OR_PARTITION.
- BROKER: "" (cluster default) or this broker's id, else INVALID_REQUEST; only Kafka's
  dynamically updatable broker configs may be set (INVALID_REQUEST "Cannot update these configs
  dynamically: ..."), SSL stores only per listener, per-broker ones not at the cluster level,
  values of Kafka's types (INVALID_REQUEST, as Kafka answers for broker configs). Unknown names
  are kept as custom properties, as Kafka keeps them.
- ``validate_only`` checks everything and changes nothing.

Not done: GROUP and CLIENT_METRICS resources (INVALID_REQUEST saying so); alter-config policies;
authorization. Dynamic broker configs are stored and described, but rafka's components read
their static configuration (see ``rafka.cluster.configs.BrokerConfigLayers.broker_config``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.configs import (
    BROKER,
    BROKER_LOGGER,
    CLIENT_METRICS,
    GROUP,
    RESOURCE_TYPES,
    TOPIC,
    AlterOp,
    check_dynamic_broker_configs,
)
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import AlterConfigsRequest, AlterConfigsResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 33
VERSIONS = (0, 2)

R = AlterConfigsResponse


async def handle(broker: Broker, ctx: RequestContext, request: AlterConfigsRequest) -> R:
    resources = [
        (r.resource_type, r.resource_name, [(c.name, 0, c.value) for c in r.configs])
        for r in request.resources
    ]
    checked = check_alter_resources(resources, incremental=False)
    responses = []
    for resource, error in zip(request.resources, checked, strict=True):
        if error is None:
            error = alter(broker, resource, request.validate_only)
        responses.append(_response(resource.resource_type, resource.resource_name, error))
    return R(responses=responses)


def alter(
    broker: Broker, resource: AlterConfigsRequest.AlterConfigsResource, validate_only: bool
) -> errors.KafkaError | None:
    rtype, name = resource.resource_type, resource.resource_name
    configs = {c.name: c.value or "" for c in resource.configs}
    try:
        if rtype == BROKER:
            check_broker_resource_name(name, broker.node_id)
            check_dynamic_broker_configs(configs, per_broker=bool(name))
        elif rtype != TOPIC:
            raise errors.InvalidRequestError(
                f"rafka does not support {RESOURCE_TYPES[rtype]} configs yet"
            )
        broker.controller.alter_configs((rtype, name), configs, validate_only)
    except errors.KafkaError as exc:
        return exc
    return None


def _response(
    rtype: int, name: str, error: errors.KafkaError | None
) -> R.AlterConfigsResourceResponse:
    return R.AlterConfigsResourceResponse(
        error_code=0 if error is None else error.code,
        error_message=None if error is None else error.message,
        resource_type=rtype,
        resource_name=name,
    )


def check_alter_resources(
    resources: Sequence[tuple[int, str, Sequence[AlterOp]]], *, incremental: bool
) -> list[errors.KafkaError | None]:
    """The checks Kafka's broker makes on every Alter/IncrementalAlterConfigs resource before
    anything else (``ConfigAdminManager.preprocess``): per resource, an error or None."""
    seen: dict[tuple[int, str], int] = {}
    out: list[errors.KafkaError | None] = [None] * len(resources)
    for i, (rtype, rname, _) in enumerate(resources):
        if (rtype, rname) in seen:
            for j in (seen[(rtype, rname)], i):
                out[j] = errors.InvalidRequestError("Each resource must appear at most once.")
        seen.setdefault((rtype, rname), i)
    for i, (rtype, _, ops) in enumerate(resources):
        if out[i] is not None:
            continue
        names = [name for name, _, _ in ops]
        if len(set(names)) != len(names):
            out[i] = errors.InvalidRequestError("Error due to duplicate config keys")
            continue
        nulls = [n for n, op, v in ops if v is None and (not incremental or op != 1)]
        if nulls:
            out[i] = errors.InvalidRequestError(
                f"Null value not supported for : {', '.join(nulls)}"
            )
        elif rtype not in (TOPIC, BROKER, CLIENT_METRICS, GROUP) and not (
            incremental and rtype == BROKER_LOGGER
        ):
            out[i] = errors.InvalidRequestError(f"Unknown resource type {rtype}")
    return out


def check_broker_resource_name(name: str, node_id: int) -> None:
    """A BROKER resource to alter is the cluster default ("") or this broker's id."""
    if not name:
        return
    try:
        requested = int(name)
    except ValueError:
        raise errors.InvalidRequestError(f"Node id must be an integer, but it is: {name}") from None
    if requested != node_id:
        raise errors.InvalidRequestError(
            f"Unexpected broker id, expected {node_id}, but received {name}"
        )


def error_response(request: AlterConfigsRequest, version: int, error: errors.KafkaError) -> R:
    return R(
        responses=[_response(r.resource_type, r.resource_name, error) for r in request.resources]
    )

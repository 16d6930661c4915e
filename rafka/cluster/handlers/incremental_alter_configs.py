"""IncrementalAlterConfigs (key 44), v0-1: change some configs of a resource, keep the rest.

Operations per key: SET (0), DELETE (1; deleting a key that is not set succeeds), APPEND (2)
and SUBTRACT (3) for LIST configs (starting from the config's default when it is not set;
APPEND skips values already present). Changes go through the controller's ConfigRecords.

- First the checks Kafka's broker makes (INVALID_REQUEST): a resource named twice, a key named
  twice ("Error due to duplicate config keys"), a null value for anything but DELETE, an unknown
  resource type, an unknown operation.
- TOPIC: validated as AlterConfigs validates it (INVALID_CONFIG with Kafka's messages, e.g.
  "Can't APPEND to key retention.ms because its type is not LIST."), then existence.
- BROKER: "" or this broker's id; the resource's dynamic configs after the operations must pass
  Kafka's dynamic-update rules (INVALID_REQUEST, see :mod:`.alter_configs`).
- BROKER_LOGGER: this broker's id; SET a logger (``root`` or a ``rafka.*`` logger) to a log4j
  level (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) or DELETE its level (not root's); unknown
  loggers and levels are INVALID_CONFIG, APPEND/SUBTRACT INVALID_REQUEST. Like Kafka's log4j
  changes these are not persisted; they change Python logging levels of rafka's loggers only.
- ``validate_only`` checks everything and changes nothing.

Not done: GROUP and CLIENT_METRICS resources (INVALID_REQUEST saying so); alter-config policies;
authorization. Kafka answers an unknown operation on a topic with UNKNOWN_SERVER_ERROR (a bug
there); rafka answers INVALID_REQUEST, as Kafka does for brokers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.configs import (
    BROKER,
    BROKER_LOGGER,
    RESOURCE_TYPES,
    TOPIC,
    AlterConfigOp,
    AlterOp,
    apply_incremental_ops,
    broker_config_key,
    check_dynamic_broker_configs,
)
from rafka.cluster.handlers.alter_configs import check_alter_resources, check_broker_resource_name
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import (
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
)

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 44
VERSIONS = (0, 1)

R = IncrementalAlterConfigsResponse


async def handle(broker: Broker, ctx: RequestContext, request: IncrementalAlterConfigsRequest) -> R:
    resources = [
        (
            r.resource_type,
            r.resource_name,
            [(c.name, c.config_operation, c.value) for c in r.configs],
        )
        for r in request.resources
    ]
    checked = check_alter_resources(resources, incremental=True)
    responses = []
    for (rtype, name, ops), error in zip(resources, checked, strict=True):
        if error is None:
            error = alter(broker, rtype, name, ops, request.validate_only)
        responses.append(_response(rtype, name, error))
    return R(responses=responses)


def alter(
    broker: Broker, rtype: int, name: str, ops: list[AlterOp], validate_only: bool
) -> errors.KafkaError | None:
    try:
        if rtype == BROKER_LOGGER:
            _check_node_id(name, broker.node_id)
            check_logger_ops(ops)
            if not validate_only:
                apply_logger_ops(ops)
            return None
        if rtype == BROKER:
            check_broker_resource_name(name, broker.node_id)
            current = broker.controller.image.configs.get((BROKER, name), {})
            after: dict[str, str | None] = dict(current)
            after.update(apply_incremental_ops(current, ops, broker_config_key, broker_side=True))
            check_dynamic_broker_configs(
                {k: v for k, v in after.items() if v is not None}, per_broker=bool(name)
            )
        elif rtype != TOPIC:
            raise errors.InvalidRequestError(
                f"rafka does not support {RESOURCE_TYPES[rtype]} configs yet"
            )
        broker.controller.incremental_alter_configs((rtype, name), ops, validate_only)
    except errors.KafkaError as exc:
        return exc
    return None


def _check_node_id(name: str, node_id: int) -> None:
    """Kafka's ``RuntimeLoggerManager.validateResourceNameIsNodeId``."""
    try:
        requested = int(name)
    except ValueError:
        raise errors.InvalidRequestError(f"Node id must be an integer, but it is: {name}") from None
    if requested != node_id:
        raise errors.InvalidRequestError(
            f"Unexpected node id. Expected {node_id}, but received {name}"
        )


def _response(
    rtype: int, name: str, error: errors.KafkaError | None
) -> R.AlterConfigsResourceResponse:
    return R.AlterConfigsResourceResponse(
        error_code=0 if error is None else error.code,
        error_message=None if error is None else error.message,
        resource_type=rtype,
        resource_name=name,
    )


# ---------------------------------------------------------------------------- broker loggers
#: Log4j's level names and Python's levels (FATAL is CRITICAL; TRACE is below DEBUG).
LOG_LEVELS = {
    "TRACE": 5,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
}
#: Kafka's name for the root logger; here it is the ``rafka`` logger, not Python's root.
ROOT_LOGGER = "root"
_BROKER_LOGGER = "rafka"


def _python_logger(name: str) -> logging.Logger | None:
    if name == ROOT_LOGGER:
        return logging.getLogger(_BROKER_LOGGER)
    if (name == _BROKER_LOGGER or name.startswith(_BROKER_LOGGER + ".")) and (
        name in logging.Logger.manager.loggerDict
    ):
        return logging.getLogger(name)
    return None


def _level_name(level: int) -> str:
    return next(
        (n for n, lv in sorted(LOG_LEVELS.items(), key=lambda i: -i[1]) if level >= lv), "TRACE"
    )


def broker_loggers() -> dict[str, str]:
    """The broker's loggers (``root`` and every ``rafka.*`` logger) and their levels."""
    out = {ROOT_LOGGER: _level_name(logging.getLogger(_BROKER_LOGGER).getEffectiveLevel())}
    for name, logger in sorted(logging.Logger.manager.loggerDict.items()):
        if name.startswith(_BROKER_LOGGER + ".") and isinstance(logger, logging.Logger):
            out[name] = _level_name(logger.getEffectiveLevel())
    return out


def check_logger_ops(ops: Sequence[AlterOp]) -> None:
    """Kafka's ``RuntimeLoggerManager.validateLogLevelConfigs``."""
    for name, op, value in ops:
        if op in (AlterConfigOp.APPEND, AlterConfigOp.SUBTRACT):
            raise errors.InvalidRequestError(
                f"{AlterConfigOp(op).name} operation is not allowed for the BROKER_LOGGER resource"
            )
        if op not in (AlterConfigOp.SET, AlterConfigOp.DELETE):
            raise errors.InvalidRequestError(
                f"Unknown operation type {op} is not allowed for the BROKER_LOGGER resource"
            )
        if _python_logger(name) is None:
            raise errors.InvalidConfigError(f"Logger {name} does not exist!")
        if op == AlterConfigOp.SET and value not in LOG_LEVELS:
            raise errors.InvalidConfigError(
                f"Cannot set the log level of {name} to {value} as it is not a supported log "
                f"level. Valid log levels are {', '.join(sorted(LOG_LEVELS))}"
            )
        if op == AlterConfigOp.DELETE and name == ROOT_LOGGER:
            raise errors.InvalidRequestError(
                f"Removing the log level of the {ROOT_LOGGER} logger is not allowed"
            )


def apply_logger_ops(ops: Sequence[AlterOp]) -> None:
    """Set (or unset, back to the parent's level) the level of checked loggers."""
    for name, op, value in ops:
        logger = _python_logger(name)
        if logger is not None:
            logger.setLevel(LOG_LEVELS[value] if op == AlterConfigOp.SET and value else 0)


def error_response(
    request: IncrementalAlterConfigsRequest, version: int, error: errors.KafkaError
) -> R:
    return R(
        responses=[_response(r.resource_type, r.resource_name, error) for r in request.resources]
    )

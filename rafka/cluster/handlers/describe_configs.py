"""DescribeConfigs (key 32), v1-4: configs of topics, brokers and broker loggers, with sources.

- TOPIC: every topic config with its value, source (TOPIC_CONFIG, DYNAMIC_BROKER_CONFIG,
  DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG) and, when asked, its
  synonyms (Kafka's quirk included: synonyms listed before the primary broker property are
  dropped, so ``retention.ms`` under ``log.retention.hours`` has none). An invalid name is
  INVALID_TOPIC_EXCEPTION, an unknown topic UNKNOWN_TOPIC_OR_PARTITION.
- BROKER: resource name "" lists the cluster-wide dynamic defaults that are set; this broker's
  id lists every broker property rafka knows plus any set dynamically, ``read_only`` unless
  Kafka can change it at run time, PASSWORD (and unknown, custom) values hidden as Kafka hides
  them. Another id, or a name that is not a number, is INVALID_REQUEST.
- BROKER_LOGGER: this broker's id lists Kafka's ``root`` logger (here the ``rafka`` Python
  logger) and every ``rafka.*`` logger with its level (log4j names); "" or another id is
  INVALID_REQUEST.
- ``configuration_keys`` null or empty means all; ``config_type`` from v3; documentation is
  null (rafka carries no config documentation). A resource type Kafka does not know fails the
  whole request with INVALID_REQUEST, as Kafka does.

Not done: GROUP and CLIENT_METRICS resources (INVALID_REQUEST saying so); authorization.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.configs import (
    BROKER,
    BROKER_LOGGER,
    RESOURCE_TYPES,
    TOPIC,
    BrokerConfigLayers,
    ConfigEntry,
    ConfigSource,
    describe_topic,
)
from rafka.cluster.handlers.incremental_alter_configs import broker_loggers
from rafka.cluster.metadata.controller import check_topic_name
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import DescribeConfigsRequest, DescribeConfigsResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 32
VERSIONS = (1, 4)

R = DescribeConfigsResponse
Resource = DescribeConfigsRequest.DescribeConfigsResource


async def handle(broker: Broker, ctx: RequestContext, request: DescribeConfigsRequest) -> R:
    for resource in request.resources:
        if resource.resource_type not in RESOURCE_TYPES:
            raise errors.InvalidRequestError(
                f"Unexpected resource type {resource.resource_type} for resource "
                f"{resource.resource_name}"
            )
    layers = BrokerConfigLayers.of(broker.config, broker.controller.image, broker.node_id)
    return R(
        results=[
            describe(broker, layers, resource, request.include_synonyms)
            for resource in request.resources
        ]
    )


def describe(
    broker: Broker, layers: BrokerConfigLayers, resource: Resource, synonyms: bool
) -> R.DescribeConfigsResult:
    rtype, name = resource.resource_type, resource.resource_name
    keys = set(resource.configuration_keys) if resource.configuration_keys else None
    result = R.DescribeConfigsResult(resource_type=rtype, resource_name=name)
    try:
        if rtype == TOPIC:
            check_topic_name(name)
            image = broker.controller.image
            if name not in image.topics:
                result.error_code = errors.UnknownTopicOrPartitionError.code
                return result
            entries = describe_topic(layers, image.topic_configs(name), keys)
        elif rtype == BROKER:
            if not name:
                entries = layers.describe_cluster_defaults(keys)
            elif _broker_id(name) == broker.node_id:
                entries = layers.describe_broker(keys)
            else:
                raise errors.InvalidRequestError(
                    f"Unexpected broker id, expected {broker.node_id} or empty string, but "
                    f"received {name}"
                )
        elif rtype == BROKER_LOGGER:
            if not name:
                raise errors.InvalidRequestError("Broker id must not be empty")
            if _broker_id(name) != broker.node_id:
                raise errors.InvalidRequestError(
                    f"Unexpected broker id, expected {broker.node_id} but received {name}"
                )
            result.configs = [_logger(n, level) for n, level in broker_loggers().items()]
            if keys is not None:
                result.configs = [c for c in result.configs if c.name in keys]
            return result
        else:
            raise errors.InvalidRequestError(
                f"rafka does not support {RESOURCE_TYPES[rtype]} configs yet"
            )
    except errors.KafkaError as exc:
        result.error_code, result.error_message = exc.code, exc.message
        return result
    result.configs = [_entry(e, synonyms) for e in entries]
    return result


def _broker_id(name: str) -> int:
    try:
        return int(name)
    except ValueError:
        raise errors.InvalidRequestError(
            f"Broker id must be an integer, but it is: {name}"
        ) from None


def _entry(entry: ConfigEntry, synonyms: bool) -> R.DescribeConfigsResourceResult:
    return R.DescribeConfigsResourceResult(
        name=entry.name,
        value=entry.value,
        read_only=entry.read_only,
        config_source=entry.source,
        is_sensitive=entry.sensitive,
        synonyms=[R.DescribeConfigsSynonym(s.name, s.value, s.source) for s in entry.synonyms]
        if synonyms
        else [],
        config_type=entry.type,
        documentation=None,
    )


def _logger(name: str, level: str) -> R.DescribeConfigsResourceResult:
    return R.DescribeConfigsResourceResult(
        name=name,
        value=level,
        read_only=False,
        config_source=ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG,
        is_sensitive=False,
        synonyms=[],
    )


def error_response(request: DescribeConfigsRequest, version: int, error: errors.KafkaError) -> R:
    return R(
        results=[
            R.DescribeConfigsResult(
                error_code=error.code,
                error_message=error.message,
                resource_type=r.resource_type,
                resource_name=r.resource_name,
            )
            for r in request.resources
        ]
    )

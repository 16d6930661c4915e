"""CreateTopics (key 19), v2-7: create topics through the controller.

Per topic: counts of -1 take ``num.partitions``/``default.replication.factor``; a manual
assignment excludes both counts (INVALID_REQUEST); names are validated (INVALID_TOPIC_EXCEPTION,
also for '.'/'_' collisions); existing topics give TOPIC_ALREADY_EXISTS; too few brokers give
INVALID_REPLICATION_FACTOR; bad configs give INVALID_CONFIG; a topic named twice in one request
gives INVALID_REQUEST for each entry. ``validate_only`` checks everything and creates nothing.
v5+ responses describe the new topic's configs, partition count and replication factor; v7+
carry its topic id.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.configs import describe_topic_configs
from rafka.cluster.metadata.controller import TopicSpec
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import CreateTopicsRequest, CreateTopicsResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 19
VERSIONS = (2, 7)

R = CreateTopicsResponse


async def handle(broker: Broker, ctx: RequestContext, request: CreateTopicsRequest) -> R:
    counts = Counter(t.name for t in request.topics)
    specs = []
    results: dict[str, R.CreatableTopicResult] = {}
    duplicates: list[str] = []
    for topic in request.topics:
        if counts[topic.name] > 1:
            if topic.name not in duplicates:
                duplicates.append(topic.name)
            continue
        specs.append(
            TopicSpec(
                topic.name,
                topic.num_partitions,
                topic.replication_factor,
                {a.partition_index: list(a.broker_ids) for a in topic.assignments} or None,
                {c.name: c.value for c in topic.configs},
            )
        )
    for result in broker.controller.create_topics(specs, request.validate_only):
        if result.error is not None:
            results[result.name] = _error(result.name, result.error)
            continue
        results[result.name] = R.CreatableTopicResult(
            name=result.name,
            topic_id=result.topic_id,
            error_message=None,
            num_partitions=result.num_partitions,
            replication_factor=result.replication_factor,
            configs=[
                R.CreatableTopicConfigs(e.name, e.value, e.read_only, e.source, e.sensitive)
                for e in describe_topic_configs(broker.config, result.configs)
            ],
        )
    ordered = [results[t.name] for t in request.topics if t.name in results]
    # As Kafka's controller: a topic named twice gets one INVALID_REQUEST entry, last.
    ordered += [
        _error(name, errors.InvalidRequestError("Duplicate topic name.")) for name in duplicates
    ]
    return R(topics=ordered)


def _error(name: str, error: errors.KafkaError) -> R.CreatableTopicResult:
    return R.CreatableTopicResult(
        name=name, error_code=error.code, error_message=error.message, configs=None
    )


def error_response(request: CreateTopicsRequest, version: int, error: errors.KafkaError) -> R:
    return R(topics=[_error(t.name, error) for t in request.topics])

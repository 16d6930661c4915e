"""CreatePartitions (key 37), v0-3: add partitions to existing topics through the controller.

Per topic: ``count`` is the new total; the same count is INVALID_PARTITIONS ("Topic already
has N partition(s)."), a smaller one too ("... would not be an increase."); an unknown topic is
UNKNOWN_TOPIC_OR_PARTITION. ``assignments`` (null: the controller places the new replicas, as
for CreateTopics) must give one replica list per new partition, each as long as the topic's
replication factor, of registered brokers, without repeats and with at least one unfenced
broker (INVALID_REPLICA_ASSIGNMENT otherwise, with Kafka's messages); too few live brokers for
automatic placement is INVALID_REPLICATION_FACTOR. A topic named more than once is answered
once with INVALID_REQUEST ("Duplicate topic name."). ``validate_only`` checks everything and
creates nothing.

Not done: controller mutation quotas (v3 throttling), authorization (everything is allowed),
rack-aware placement.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import CreatePartitionsRequest, CreatePartitionsResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker
    from rafka.cluster.metadata.controller import Controller

API_KEY = 37
VERSIONS = (0, 3)

R = CreatePartitionsResponse


async def handle(broker: Broker, ctx: RequestContext, request: CreatePartitionsRequest) -> R:
    return R(results=create_partitions(broker.controller, request))


def create_partitions(
    controller: Controller, request: CreatePartitionsRequest
) -> list[R.CreatePartitionsTopicResult]:
    """One result per distinct topic name, in the order the request first names them."""
    counts = Counter(t.name for t in request.topics)
    results: dict[str, R.CreatePartitionsTopicResult] = {}
    for topic in request.topics:
        if topic.name in results:
            continue
        if counts[topic.name] > 1:
            results[topic.name] = _result(
                topic.name, errors.InvalidRequestError("Duplicate topic name.")
            )
            continue
        assignments = (
            None if topic.assignments is None else [list(a.broker_ids) for a in topic.assignments]
        )
        try:
            controller.create_partitions(
                topic.name, topic.count, assignments, request.validate_only
            )
        except errors.KafkaError as exc:
            results[topic.name] = _result(topic.name, exc)
        else:
            results[topic.name] = _result(topic.name, None)
    return list(results.values())


def _result(name: str, error: errors.KafkaError | None) -> R.CreatePartitionsTopicResult:
    return R.CreatePartitionsTopicResult(
        name=name,
        error_code=0 if error is None else error.code,
        # Kafka sends no message for errors raised without one (an unknown topic)
        error_message=None if error is None or not error.args else error.args[0],
    )


def error_response(request: CreatePartitionsRequest, version: int, error: errors.KafkaError) -> R:
    return R(results=[_result(t.name, error) for t in request.topics])

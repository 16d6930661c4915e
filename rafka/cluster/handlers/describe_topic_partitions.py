"""DescribeTopicPartitions (key 75), v0: topics and their partitions, a page at a time.

Topics are described in name order: every topic when ``topics`` is empty, else the distinct
names asked for. At most ``response_partition_limit`` partitions (capped at Kafka's
``max.request.partition.size.limit`` default, 2000, and at least 1) are returned; when a topic
does not fit, ``next_cursor`` names the topic and partition to continue from, and a request's
``cursor`` starts there (topics named before the cursor's topic are skipped). A cursor whose
topic is not in the requested list, or with a negative partition, makes the request
INVALID_REQUEST. A requested topic that does not exist is UNKNOWN_TOPIC_OR_PARTITION (an invalid
name INVALID_TOPIC_EXCEPTION); when listing every topic there are none.

Per partition, as in Kafka's KRaft metadata cache: every replica and ISR member, the leader if
its broker is alive (else -1, with no error code), offline replicas (brokers not alive), and
empty eligible-leader-replica lists (rafka has no ELR). Authorized operations are all allowed
(rafka has no authorizer yet).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.handlers.metadata import TOPIC_OPERATIONS
from rafka.cluster.metadata.controller import check_topic_name
from rafka.cluster.metadata.image import MetadataImage, TopicImage
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import (
    DescribeTopicPartitionsRequest,
    DescribeTopicPartitionsResponse,
)

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 75
VERSIONS = (0, 0)

R = DescribeTopicPartitionsResponse
ZERO_UUID = uuid.UUID(int=0)
#: Kafka's ``max.request.partition.size.limit`` default.
MAX_PARTITIONS = 2000
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state", "__share_group_state"})


async def handle(broker: Broker, ctx: RequestContext, request: DescribeTopicPartitionsRequest) -> R:
    return describe(broker.controller.image, request)


def describe(image: MetadataImage, request: DescribeTopicPartitionsRequest) -> R:
    """The page of topics ``request`` asks for (a plain function of the metadata image)."""
    list_all = not request.topics
    cursor = request.cursor
    start_topic = cursor.topic_name if cursor is not None else ""
    asked = image.topics if list_all else {t.name for t in request.topics}
    names = sorted(name for name in asked if name >= start_topic)
    if cursor is not None and not list_all and cursor.topic_name not in names:
        raise errors.InvalidRequestError(
            "DescribeTopicPartitionsRequest topic list should contain the cursor topic: "
            f"{cursor.topic_name}"
        )
    if cursor is not None and cursor.partition_index < 0:
        raise errors.InvalidRequestError(
            f"DescribeTopicPartitionsRequest cursor partition must be valid: {cursor}"
        )
    remaining = max(min(MAX_PARTITIONS, request.response_partition_limit), 1)
    response = R()
    for name in names:
        if remaining == 0:
            response.next_cursor = R.Cursor(topic_name=name, partition_index=0)
            break
        topic = image.topics.get(name)
        if topic is None:
            if not list_all:
                response.topics.append(_missing(name))
            continue
        first = cursor.partition_index if cursor is not None and name == start_topic else 0
        end = min(len(topic.partitions), first + remaining)
        response.topics.append(_topic(image, topic, range(first, end)))
        if end < len(topic.partitions):
            response.next_cursor = R.Cursor(topic_name=name, partition_index=end)
            break
        remaining -= max(end - first, 0)
    return response


def _topic(
    image: MetadataImage, topic: TopicImage, indexes: range
) -> R.DescribeTopicPartitionsResponseTopic:
    live = {b.node_id for b in image.live_brokers()}
    partitions = []
    for index in indexes:
        part = topic.partitions.get(index)
        if part is None:
            continue
        partitions.append(
            R.DescribeTopicPartitionsResponsePartition(
                partition_index=index,
                leader_id=part.leader if part.leader in live else -1,
                leader_epoch=part.leader_epoch,
                replica_nodes=list(part.replicas),
                isr_nodes=list(part.isr),
                eligible_leader_replicas=[],
                last_known_elr=[],
                offline_replicas=[r for r in part.replicas if r not in live],
            )
        )
    return R.DescribeTopicPartitionsResponseTopic(
        name=topic.name,
        topic_id=topic.topic_id,
        is_internal=topic.is_internal,
        partitions=partitions,
        topic_authorized_operations=TOPIC_OPERATIONS,
    )


def _missing(name: str) -> R.DescribeTopicPartitionsResponseTopic:
    try:
        check_topic_name(name)
        code = errors.UnknownTopicOrPartitionError.code
    except errors.InvalidTopicExceptionError as exc:
        code = exc.code
    return R.DescribeTopicPartitionsResponseTopic(
        error_code=code,
        name=name,
        topic_id=ZERO_UUID,
        is_internal=name in INTERNAL_TOPICS,
        topic_authorized_operations=TOPIC_OPERATIONS,
    )


def error_response(
    request: DescribeTopicPartitionsRequest, version: int, error: errors.KafkaError
) -> R:
    return R(
        topics=[
            R.DescribeTopicPartitionsResponseTopic(
                error_code=error.code, name=t.name, is_internal=False
            )
            for t in request.topics
        ]
    )

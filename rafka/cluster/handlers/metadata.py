"""Metadata (key 3), v0-13: brokers, controller and the topics asked for.

- ``topics`` null (v1+) or empty at v0 means every topic; an empty list at v1+ means none.
- Topics may be named or (v10+) given by id; an unknown id is UNKNOWN_TOPIC_ID.
- A missing named topic is created when ``allow_auto_topic_creation`` (always true before v4)
  and the broker's ``auto.create.topics.enable`` allow it, with the broker's defaults; the
  response then describes the new topic (Kafka answers LEADER_NOT_AVAILABLE once and lets the
  client retry; rafka creates synchronously, so there is nothing to wait for).
- A partition without a live leader reports LEADER_NOT_AVAILABLE; replicas on fenced brokers
  are listed as offline (v5+).
- Authorized operations (v8+) are all allowed: rafka has no authorizer yet.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.metadata.controller import TopicSpec, validate_topic_name
from rafka.cluster.metadata.image import MetadataImage, TopicImage
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import MetadataRequest, MetadataResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 3
VERSIONS = (0, 13)

R = MetadataResponse
ZERO_UUID = uuid.UUID(int=0)
NOT_REQUESTED = -(2**31)
#: READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS
TOPIC_OPERATIONS = sum(1 << op for op in (3, 4, 5, 6, 7, 8, 10, 11))
#: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE,
#: CREATE_TOKENS, DESCRIBE_TOKENS
CLUSTER_OPERATIONS = sum(1 << op for op in (5, 7, 8, 9, 10, 11, 12, 13, 14))


async def handle(broker: Broker, ctx: RequestContext, request: MetadataRequest) -> R:
    version = ctx.api_version
    image = broker.controller.image
    all_topics = request.topics is None or (version == 0 and not request.topics)
    auto_create = (version < 4 or request.allow_auto_topic_creation) and bool(
        broker.config.get("auto.create.topics.enable")
    )
    include_ops = version >= 8 and request.include_topic_authorized_operations
    topics: list[R.MetadataResponseTopic] = []
    if all_topics:
        for topic in sorted(image.topics.values(), key=lambda t: t.name):
            topics.append(_describe(topic, image, include_ops))
    else:
        for wanted in request.topics or ():
            topics.append(_lookup(broker, wanted, auto_create, include_ops))
    brokers = sorted(image.live_brokers(), key=lambda b: b.node_id)
    response = R(
        brokers=[R.MetadataResponseBroker(b.node_id, b.host, b.port, b.rack) for b in brokers],
        cluster_id=image.cluster_id,
        controller_id=brokers[0].node_id if brokers else -1,
        topics=topics,
    )
    if 8 <= version <= 10 and request.include_cluster_authorized_operations:
        response.cluster_authorized_operations = CLUSTER_OPERATIONS
    return response


def _lookup(
    broker: Broker, wanted: MetadataRequest.MetadataRequestTopic, auto_create: bool, ops: bool
) -> R.MetadataResponseTopic:
    image = broker.controller.image
    if wanted.name is None:
        topic = image.topics_by_id.get(wanted.topic_id)
        if topic is None:
            return R.MetadataResponseTopic(
                error_code=errors.UnknownTopicIdError.code, name=None, topic_id=wanted.topic_id
            )
        return _describe(topic, image, ops)
    name = wanted.name
    topic = image.topics.get(name)
    if topic is None:
        try:
            validate_topic_name(name)
        except errors.KafkaError as exc:
            return R.MetadataResponseTopic(error_code=exc.code, name=name)
        if not auto_create:
            return R.MetadataResponseTopic(
                error_code=errors.UnknownTopicOrPartitionError.code, name=name
            )
        result = broker.controller.create_topics([TopicSpec(name)], validate_only=False)[0]
        if result.error is not None and not isinstance(
            result.error, errors.TopicAlreadyExistsError
        ):
            return R.MetadataResponseTopic(error_code=result.error.code, name=name)
        topic = image.topics[name]
    return _describe(topic, image, ops)


def _describe(topic: TopicImage, image: MetadataImage, ops: bool) -> R.MetadataResponseTopic:
    live = {b.node_id for b in image.live_brokers()}
    partitions = []
    for index in sorted(topic.partitions):
        part = topic.partitions[index]
        leader_ok = part.leader in live
        partitions.append(
            R.MetadataResponsePartition(
                error_code=0 if leader_ok else errors.LeaderNotAvailableError.code,
                partition_index=index,
                leader_id=part.leader if leader_ok else -1,
                leader_epoch=part.leader_epoch,
                replica_nodes=list(part.replicas),
                isr_nodes=[r for r in part.isr if r in live] or list(part.isr),
                offline_replicas=[r for r in part.replicas if r not in live],
            )
        )
    return R.MetadataResponseTopic(
        error_code=0,
        name=topic.name,
        topic_id=topic.topic_id,
        is_internal=topic.is_internal,
        partitions=partitions,
        topic_authorized_operations=TOPIC_OPERATIONS if ops else NOT_REQUESTED,
    )

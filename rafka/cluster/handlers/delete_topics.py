"""DeleteTopics (key 20), v1-6: delete topics by name, or (v6+) by topic id.

Unknown names give UNKNOWN_TOPIC_OR_PARTITION, unknown ids UNKNOWN_TOPIC_ID; an entry with
both a name and an id is INVALID_REQUEST. ``delete.topic.enable=false`` refuses every deletion
with TOPIC_DELETION_DISABLED.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import DeleteTopicsRequest, DeleteTopicsResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 20
VERSIONS = (1, 6)

R = DeleteTopicsResponse
ZERO_UUID = uuid.UUID(int=0)


def _wanted(request: DeleteTopicsRequest, version: int) -> list[tuple[str | None, uuid.UUID]]:
    if version >= 6:
        return [(t.name, t.topic_id) for t in request.topics]
    return [(name, ZERO_UUID) for name in request.topic_names]


async def handle(broker: Broker, ctx: RequestContext, request: DeleteTopicsRequest) -> R:
    image = broker.controller.image
    results = []
    for name, topic_id in _wanted(request, ctx.api_version):
        error: errors.KafkaError | None = None
        if not broker.config.get("delete.topic.enable"):
            error = errors.TopicDeletionDisabledError("Topic deletion is disabled.")
        elif name is not None and topic_id != ZERO_UUID:
            error = errors.InvalidRequestError("Topic name and topic id cannot both be set.")
        elif name is None:
            topic = image.topics_by_id.get(topic_id)
            if topic is None:
                error = errors.UnknownTopicIdError("This server does not host this topic ID.")
            else:
                name = topic.name
        if error is None and name is not None:
            topic = image.topics.get(name)
            topic_id = topic.topic_id if topic else topic_id
            error = broker.controller.delete_topics([name])[name]
        results.append(
            R.DeletableTopicResult(
                name=name,
                topic_id=topic_id,
                error_code=error.code if error else 0,
                error_message=error.message if error else None,
            )
        )
    return R(responses=results)


def error_response(request: DeleteTopicsRequest, version: int, error: errors.KafkaError) -> R:
    return R(
        responses=[
            R.DeletableTopicResult(
                name=name, topic_id=topic_id, error_code=error.code, error_message=error.message
            )
            for name, topic_id in _wanted(request, version)
        ]
    )

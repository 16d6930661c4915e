"""DeleteRecords (key 21), v0-2: move partitions' log start offsets forward.

Per partition, on its leader: ``offset`` -1 means the high watermark; the log start moves to
the offset (never backwards: an offset below it leaves it where it is) and whole segments below
it are deleted. The result's ``low_watermark`` is the leader's new log start offset.

Errors, as Kafka's broker gives them: a partition the metadata does not know is
UNKNOWN_TOPIC_OR_PARTITION; an internal topic INVALID_TOPIC_EXCEPTION; a partition this broker
does not lead NOT_LEADER_OR_FOLLOWER; a topic whose ``cleanup.policy`` lacks ``delete``
POLICY_VIOLATION; an offset above the high watermark, or negative other than -1,
OFFSET_OUT_OF_RANGE. Failed partitions report ``low_watermark`` -1.

Not done: Kafka waits (up to ``timeout_ms``) until every live follower's log start offset has
also reached the offset and reports the lowest of them; rafka answers at once with the leader's
(followers do not track the leader's log start yet). Authorization.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import DeleteRecordsRequest, DeleteRecordsResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 21
VERSIONS = (0, 2)

R = DeleteRecordsResponse
HIGH_WATERMARK = -1
INVALID_LOW_WATERMARK = -1


async def handle(broker: Broker, ctx: RequestContext, request: DeleteRecordsRequest) -> R:
    topics = []
    for topic in request.topics:
        out = R.DeleteRecordsTopicResult(name=topic.name)
        for p in topic.partitions:
            try:
                low = delete_records(broker, topic.name, p.partition_index, p.offset)
            except errors.KafkaError as exc:
                out.partitions.append(_failed(p.partition_index, exc))
            else:
                out.partitions.append(
                    R.DeleteRecordsPartitionResult(
                        partition_index=p.partition_index, low_watermark=low
                    )
                )
        topics.append(out)
    return R(topics=topics)


def delete_records(broker: Broker, topic: str, index: int, offset: int) -> int:
    """Delete the records of ``topic``-``index`` before ``offset``; the new log start."""
    image_topic = broker.controller.image.topics.get(topic)
    if image_topic is None or index not in image_topic.partitions:
        raise errors.UnknownTopicOrPartitionError("This server does not host this topic-partition.")
    if image_topic.is_internal:
        raise errors.InvalidTopicExceptionError(f"Cannot delete records of internal topic {topic}")
    partition = broker.replica_manager.leader_partition(topic, index)
    log = partition.log
    if not log.config.delete:
        raise errors.PolicyViolationError(
            f"Records of partition {topic}-{index} can not be deleted due to the configured policy"
        )
    target = log.high_watermark if offset == HIGH_WATERMARK else offset
    if target < 0:
        raise errors.OffsetOutOfRangeError(
            f"The offset {target} for partition {topic}-{index} is not valid"
        )
    return log.delete_records_before(target)


def _failed(index: int, error: errors.KafkaError) -> R.DeleteRecordsPartitionResult:
    return R.DeleteRecordsPartitionResult(
        partition_index=index, low_watermark=INVALID_LOW_WATERMARK, error_code=error.code
    )


def error_response(request: DeleteRecordsRequest, version: int, error: errors.KafkaError) -> R:
    return R(
        topics=[
            R.DeleteRecordsTopicResult(
                name=t.name, partitions=[_failed(p.partition_index, error) for p in t.partitions]
            )
            for t in request.topics
        ]
    )

"""OffsetForLeaderEpoch (key 23), v2-4: where a leader epoch ends in a partition's log.

Per partition, from the leader's epoch cache: for the latest epoch, the log end offset; for an
older one, the start of the next epoch above it, with the largest epoch at or below the one
asked for; below every cached epoch, that epoch and the first cached start; above every epoch
(or an empty cache), leader epoch -1 and end offset -1.

``current_leader_epoch`` (-1: not checked) is compared with the partition's first: older is
FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH. Then only the leader answers: a replica that
is not the leader, or a partition this broker does not host, is NOT_LEADER_OR_FOLLOWER; a
partition the metadata does not know UNKNOWN_TOPIC_OR_PARTITION. As in Kafka 4 (KRaft), the
leader answers whatever the ``replica_id`` (v3+): followers and consumers (-1) alike.

Not done: authorization (CLUSTER_ACTION, or DESCRIBE per topic).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 23
VERSIONS = (2, 4)

R = OffsetForLeaderEpochResponse
UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1


async def handle(broker: Broker, ctx: RequestContext, request: OffsetForLeaderEpochRequest) -> R:
    topics = []
    for topic in request.topics:
        out = R.OffsetForLeaderTopicResult(topic=topic.topic)
        for p in topic.partitions:
            try:
                out.partitions.append(end_offset(broker, topic.topic, p))
            except errors.KafkaError as exc:
                out.partitions.append(_failed(p.partition, exc))
        topics.append(out)
    return R(topics=topics)


def end_offset(
    broker: Broker, topic: str, p: OffsetForLeaderEpochRequest.OffsetForLeaderPartition
) -> R.EpochEndOffset:
    partition = broker.replica_manager.partition(topic, p.partition)
    partition.check_leader_epoch(p.current_leader_epoch)
    partition.require_leader()
    epoch, offset = partition.log.end_offset_for_epoch(p.leader_epoch)
    if offset == UNDEFINED_EPOCH_OFFSET:
        epoch = UNDEFINED_EPOCH
    return R.EpochEndOffset(partition=p.partition, leader_epoch=epoch, end_offset=offset)


def _failed(index: int, error: errors.KafkaError) -> R.EpochEndOffset:
    return R.EpochEndOffset(
        error_code=error.code,
        partition=index,
        leader_epoch=UNDEFINED_EPOCH,
        end_offset=UNDEFINED_EPOCH_OFFSET,
    )


def error_response(
    request: OffsetForLeaderEpochRequest, version: int, error: errors.KafkaError
) -> R:
    return R(
        topics=[
            R.OffsetForLeaderTopicResult(
                topic=t.topic, partitions=[_failed(p.partition, error) for p in t.partitions]
            )
            for t in request.topics
        ]
    )

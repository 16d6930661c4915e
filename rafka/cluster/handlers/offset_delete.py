"""OffsetDelete (key 47), v0: delete a group's committed offsets for some partitions.

- An empty group id is INVALID_GROUP_ID. Partitions of unknown topics (or past a topic's
  partition count) get UNKNOWN_TOPIC_OR_PARTITION.
- The group must exist (GROUP_ID_NOT_FOUND) and be Empty unless it uses the consumer protocol
  (NON_EMPTY_GROUP); partitions of topics the group is subscribed to get
  GROUP_SUBSCRIBED_TO_TOPIC. Those errors are top level / per partition as in Kafka; the
  tombstones are written before the answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import OffsetDeleteRequest, OffsetDeleteResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 47
VERSIONS = (0, 0)

R = OffsetDeleteResponse
Q = OffsetDeleteRequest


async def handle(broker: Broker, ctx: RequestContext, request: Q) -> R:
    if not request.group_id:
        return R(error_code=errors.InvalidGroupIdError.code)
    image = broker.controller.image
    response = R()
    by_name: dict[str, R.OffsetDeleteResponseTopic] = {}

    def add(name: str, partition: int, code: int) -> None:
        out = by_name.get(name)
        if out is None:
            out = by_name[name] = R.OffsetDeleteResponseTopic(name=name)
            response.topics.append(out)
        out.partitions.append(R.OffsetDeleteResponsePartition(partition, code))

    valid = Q(group_id=request.group_id)
    for topic in request.topics:
        found = image.topics.get(topic.name)
        kept = Q.OffsetDeleteRequestTopic(name=topic.name)
        for p in topic.partitions:
            if found is None or p.partition_index not in found.partitions:
                add(topic.name, p.partition_index, errors.UnknownTopicOrPartitionError.code)
            else:
                kept.partitions.append(p)
        if kept.partitions:
            valid.topics.append(kept)
    try:
        deleted = await broker.group_coordinator.write(
            request.group_id, lambda shard: shard.offsets.delete(valid)
        )
    except errors.KafkaError as exc:
        return R(error_code=exc.code)
    assert deleted is not None
    for done in deleted.topics:
        for result in done.partitions:
            add(done.name, result.partition_index, result.error_code)
    return response

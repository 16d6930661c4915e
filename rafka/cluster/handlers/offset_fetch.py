"""OffsetFetch (key 9), v1-10: a group's committed offsets.

- v1-7 ask for one group, v8+ for several (each answered on its own). Topics null (v2+) ask for
  every committed offset of the group.
- A partition without a committed offset answers offset -1, leader epoch -1, metadata "". An
  unknown group is not an error: it has no offsets (every partition -1, or no topics).
- Group-level errors (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS) are the top-level error
  code for v2-7, per group for v8+, and are lost before v2 (Kafka puts them on partitions, but
  an errored group lists none).
- ``require_stable`` (v7+) waits until the group's partition has no write in flight, so the
  answer includes every commit already acknowledged or being written; if that wait times out
  the group gets NOT_COORDINATOR, as in Kafka.
- v10 names topics by id (UNKNOWN_TOPIC_ID for ids rafka does not know); it is served but only
  advertised with ``unstable.api.versions.enable``, as in Kafka 4.1.

- v9+ member id and epoch: a consumer group checks them (UNKNOWN_MEMBER_ID,
  STALE_MEMBER_EPOCH; ILLEGAL_GENERATION for its classic-protocol members); other groups
  ignore them, as in Kafka.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.groups.offsets import OffsetAndMetadata
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import OffsetFetchRequest, OffsetFetchResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 9
VERSIONS = (1, 10)

R = OffsetFetchResponse
Q = OffsetFetchRequest
ZERO_UUID = uuid.UUID(int=0)


def _partition(index: int, stored: OffsetAndMetadata | None) -> R.OffsetFetchResponsePartitions:
    if stored is None:
        return R.OffsetFetchResponsePartitions(index, -1, -1, "", 0)
    return R.OffsetFetchResponsePartitions(
        index, stored.offset, stored.leader_epoch, stored.metadata, 0
    )


async def _fetch_group(
    broker: Broker, group: Q.OffsetFetchRequestGroup, require_stable: bool, version: int
) -> R.OffsetFetchResponseGroup:
    out = R.OffsetFetchResponseGroup(group_id=group.group_id)
    coordinator = broker.group_coordinator
    try:
        slot = coordinator.slot_for(group.group_id)
        if require_stable:
            try:
                await coordinator.wait_for_pending(slot)
            except errors.CoordinatorNotAvailableError:
                raise errors.NotCoordinatorError() from None
            slot = coordinator.slot_for(group.group_id)
    except errors.KafkaError as exc:
        out.error_code = exc.code
        return out
    assert slot.shard is not None
    try:
        offsets = slot.shard.offsets.group_offsets(
            group.group_id, group.member_id, group.member_epoch
        )
    except errors.KafkaError as exc:
        out.error_code = exc.code
        return out
    image = broker.controller.image
    if group.topics is None:
        for topic, partitions in (offsets or {}).items():
            topic_id = ZERO_UUID
            if version >= 10:
                found = image.topics.get(topic)
                if found is None:
                    continue
                topic_id = found.topic_id
            out.topics.append(
                R.OffsetFetchResponseTopics(
                    name=topic,
                    topic_id=topic_id,
                    partitions=[_partition(i, s) for i, s in partitions.items()],
                )
            )
        return out
    for asked in group.topics:
        name = asked.name
        if version >= 10:
            found = image.topics_by_id.get(asked.topic_id)
            if found is None:
                out.topics.append(
                    R.OffsetFetchResponseTopics(
                        topic_id=asked.topic_id,
                        partitions=[
                            R.OffsetFetchResponsePartitions(
                                i, -1, -1, "", errors.UnknownTopicIdError.code
                            )
                            for i in asked.partition_indexes
                        ],
                    )
                )
                continue
            name = found.name
        stored = (offsets or {}).get(name, {})
        out.topics.append(
            R.OffsetFetchResponseTopics(
                name=name,
                topic_id=asked.topic_id,
                partitions=[_partition(i, stored.get(i)) for i in asked.partition_indexes],
            )
        )
    return out


async def handle(broker: Broker, ctx: RequestContext, request: Q) -> R:
    version = ctx.api_version
    require_stable = version >= 7 and request.require_stable
    if version >= 8:
        groups = [await _fetch_group(broker, g, require_stable, version) for g in request.groups]
        return R(groups=groups)
    single = Q.OffsetFetchRequestGroup(
        group_id=request.group_id,
        topics=None
        if request.topics is None
        else [
            Q.OffsetFetchRequestTopics(name=t.name, partition_indexes=t.partition_indexes)
            for t in request.topics
        ],
    )
    group = await _fetch_group(broker, single, require_stable, version)
    response = R(error_code=group.error_code if version >= 2 else 0)
    for topic in group.topics:
        response.topics.append(
            R.OffsetFetchResponseTopic(
                name=topic.name,
                partitions=[
                    R.OffsetFetchResponsePartition(
                        p.partition_index,
                        p.committed_offset,
                        p.committed_leader_epoch if version >= 5 else -1,
                        p.metadata,
                        p.error_code,
                    )
                    for p in topic.partitions
                ],
            )
        )
    return response


def error_response(request: Q, version: int, error: errors.KafkaError) -> R:
    if version >= 8:
        return R(
            groups=[
                R.OffsetFetchResponseGroup(group_id=g.group_id, error_code=error.code)
                for g in request.groups
            ]
        )
    return R(error_code=error.code if version >= 2 else 0)

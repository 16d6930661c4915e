"""OffsetCommit (key 8), v2-10: store a group's consumed positions in ``__consumer_offsets``.

- Partitions of topics that do not exist (or partitions past a topic's count) get
  UNKNOWN_TOPIC_OR_PARTITION and are not committed; v10 names topics by id (UNKNOWN_TOPIC_ID).
  When no partition is left the group is not even looked at, as in Kafka.
- The rest is decided by the group's shard (:mod:`rafka.cluster.groups.offsets`): group-level
  errors (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, REBALANCE_IN_PROGRESS,
  GROUP_ID_NOT_FOUND from v9, COORDINATOR_NOT_AVAILABLE for a Dead group, NOT_COORDINATOR,
  COORDINATOR_LOAD_IN_PROGRESS) go to every one of its partitions;
  OFFSET_METADATA_TOO_LARGE to a partition whose metadata is longer than
  ``offset.metadata.max.bytes``. The commit is answered once its records are committed.
- v2-v4 retention times become per-offset expire timestamps; the leader epoch (v6+) and the
  metadata are stored.
- v10 (topic ids) is served but, as in Kafka 4.1, only advertised with
  ``unstable.api.versions.enable``.
- Consumer groups (KIP-848) check the member epoch instead of a generation:
  UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH, and UNSUPPORTED_VERSION below v9 for members using
  the consumer protocol; a commit with epoch -1 is accepted while the group has no member.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import OffsetCommitRequest, OffsetCommitResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 8
VERSIONS = (2, 10)

R = OffsetCommitResponse
Q = OffsetCommitRequest


class _Builder:
    """Kafka's response builder: topics in first-seen order, partitions appended to them."""

    def __init__(self) -> None:
        self.response = R()
        self._topics: dict[str, R.OffsetCommitResponseTopic] = {}

    def topic(self, name: str, topic: Q.OffsetCommitRequestTopic) -> R.OffsetCommitResponseTopic:
        out = self._topics.get(name)
        if out is None:
            out = R.OffsetCommitResponseTopic(name=topic.name, topic_id=topic.topic_id)
            self._topics[name] = out
            self.response.topics.append(out)
        return out

    def add(self, name: str, topic: Q.OffsetCommitRequestTopic, partition: int, code: int) -> None:
        self.topic(name, topic).partitions.append(R.OffsetCommitResponsePartition(partition, code))


async def handle(broker: Broker, ctx: RequestContext, request: Q) -> R:
    version = ctx.api_version
    image = broker.controller.image
    builder = _Builder()
    valid: list[tuple[str, Q.OffsetCommitRequestTopic, Q.OffsetCommitRequestTopic]] = []
    for topic in request.topics:
        if version >= 10:
            found = image.topics_by_id.get(topic.topic_id)
            name = found.name if found is not None else ""
            missing = errors.UnknownTopicIdError.code
        else:
            found = image.topics.get(topic.name)
            name = topic.name
            missing = errors.UnknownTopicOrPartitionError.code
        key = name or str(topic.topic_id)
        if found is None:
            for p in topic.partitions:
                builder.add(key, topic, p.partition_index, missing)
            continue
        kept = Q.OffsetCommitRequestTopic(name=name, topic_id=topic.topic_id)
        for p in topic.partitions:
            if p.partition_index in found.partitions:
                kept.partitions.append(p)
            else:
                builder.add(key, topic, p.partition_index, errors.UnknownTopicOrPartitionError.code)
        if kept.partitions:
            valid.append((key, topic, kept))
    if not valid:
        return builder.response
    filtered = Q(
        group_id=request.group_id,
        generation_id_or_member_epoch=request.generation_id_or_member_epoch,
        member_id=request.member_id,
        group_instance_id=request.group_instance_id,
        retention_time_ms=request.retention_time_ms,
        topics=[kept for _, _, kept in valid],
    )
    coordinator = broker.group_coordinator
    now = broker.clock.time_ms()
    try:
        committed = await coordinator.write(
            request.group_id, lambda shard: shard.offsets.commit(filtered, version, now)
        )
        assert committed is not None
        codes = {
            (t.name, p.partition_index): p.error_code
            for t in committed.topics
            for p in t.partitions
        }
    except errors.KafkaError as exc:
        codes = {
            (kept.name, p.partition_index): exc.code
            for _, _, kept in valid
            for p in kept.partitions
        }
    for key, topic, kept in valid:
        for p in kept.partitions:
            builder.add(key, topic, p.partition_index, codes[(kept.name, p.partition_index)])
    return builder.response


def error_response(request: Q, version: int, error: errors.KafkaError) -> R:
    return R(
        topics=[
            R.OffsetCommitResponseTopic(
                name=t.name,
                topic_id=t.topic_id,
                partitions=[
                    R.OffsetCommitResponsePartition(p.partition_index, error.code)
                    for p in t.partitions
                ],
            )
            for t in request.topics
        ]
    )

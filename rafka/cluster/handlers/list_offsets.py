"""ListOffsets (key 2), v1-10: offsets by timestamp, and the special positions.

Timestamps: -1 latest (the high watermark, or the last stable offset for read_committed),
-2 earliest (log start), -3 the record with the largest timestamp (v7+), -4 earliest local
(v8+, the same as earliest: rafka has no tiered storage), -5 latest tiered (v9+, none: -1);
any other value finds the first offset whose timestamp is at least it, below the latest
position. Special timestamps a version does not know give UNSUPPORTED_VERSION.
Only the leader answers (NOT_LEADER_OR_FOLLOWER), and the request's leader epoch must match.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import ListOffsetsRequest, ListOffsetsResponse
from rafka.storage.log import (
    EARLIEST_LOCAL_TIMESTAMP,
    EARLIEST_TIMESTAMP,
    LATEST_TIERED_TIMESTAMP,
    LATEST_TIMESTAMP,
    MAX_TIMESTAMP,
)

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 2
VERSIONS = (1, 10)

R = ListOffsetsResponse
READ_COMMITTED = 1
#: The first version that understands each special timestamp.
_SINCE = {MAX_TIMESTAMP: 7, EARLIEST_LOCAL_TIMESTAMP: 8, LATEST_TIERED_TIMESTAMP: 9}


async def handle(broker: Broker, ctx: RequestContext, request: ListOffsetsRequest) -> R:
    read_committed = ctx.api_version >= 2 and request.isolation_level == READ_COMMITTED
    counts = Counter((t.name, p.partition_index) for t in request.topics for p in t.partitions)
    duplicates = {key for key, n in counts.items() if n > 1}
    answered: set[tuple[str, int]] = set()
    topics: dict[str, R.ListOffsetsTopicResponse] = {}
    for topic in request.topics:
        out = topics.setdefault(topic.name, R.ListOffsetsTopicResponse(name=topic.name))
        for p in topic.partitions:
            key = (topic.name, p.partition_index)
            if key in answered:
                continue  # a partition asked twice is answered once, as Kafka does
            answered.add(key)
            if key in duplicates:
                out.partitions.append(
                    R.ListOffsetsPartitionResponse(
                        partition_index=p.partition_index,
                        error_code=errors.InvalidRequestError.code,
                    )
                )
                continue
            try:
                out.partitions.append(
                    _lookup(broker, ctx.api_version, topic.name, p, read_committed)
                )
            except errors.KafkaError as exc:
                out.partitions.append(
                    R.ListOffsetsPartitionResponse(
                        partition_index=p.partition_index, error_code=exc.code
                    )
                )
    return R(topics=list(topics.values()))


def _lookup(
    broker: Broker,
    version: int,
    topic: str,
    p: ListOffsetsRequest.ListOffsetsPartition,
    read_committed: bool,
) -> R.ListOffsetsPartitionResponse:
    ts = p.timestamp
    if ts < 0 and (ts < LATEST_TIERED_TIMESTAMP or version < _SINCE.get(ts, 0)):
        raise errors.UnsupportedVersionError(f"timestamp {ts} is not known at v{version}")
    partition = broker.replica_manager.leader_partition(topic, p.partition_index)
    if version >= 4:
        partition.check_leader_epoch(p.current_leader_epoch)
    log = partition.log
    fetchable = log.last_stable_offset if read_committed else log.high_watermark
    out = R.ListOffsetsPartitionResponse(partition_index=p.partition_index)
    epochs = version >= 4  # older versions cannot carry a leader epoch
    if ts == LATEST_TIMESTAMP:
        out.offset = fetchable
        out.leader_epoch = partition.leader_epoch if epochs else -1
        return out
    found = log.offset_for_timestamp(ts)
    if found is None or (
        ts not in (EARLIEST_TIMESTAMP, EARLIEST_LOCAL_TIMESTAMP) and found.offset >= fetchable
    ):
        return out
    out.timestamp = found.timestamp
    out.offset = found.offset
    if epochs and found.leader_epoch is not None:
        out.leader_epoch = found.leader_epoch
    return out


def error_response(request: ListOffsetsRequest, version: int, error: errors.KafkaError) -> R:
    return R(
        topics=[
            R.ListOffsetsTopicResponse(
                name=t.name,
                partitions=[
                    R.ListOffsetsPartitionResponse(
                        partition_index=p.partition_index, error_code=error.code
                    )
                    for p in t.partitions
                ],
            )
            for t in request.topics
        ]
    )

"""Fetch (key 1), v4-18: whole stored record batches from partitions this broker leads.

- Reads stop at the high watermark (read_uncommitted) or the last stable offset
  (read_committed, which also lists the aborted transactions in range).
- ``max_bytes`` bounds the response and ``partition_max_bytes`` each partition; the first
  batch of the first partition with data is returned even when larger (KIP-74), later
  partitions return only whole batches that fit.
- Long poll: with fewer than ``min_bytes`` available and no errors, the broker waits up to
  ``max_wait_ms`` for new data on the fetched partitions.
- Incremental fetch sessions (KIP-227), see rafka.cluster.fetch_session.
- Errors per partition: UNKNOWN_TOPIC_OR_PARTITION / UNKNOWN_TOPIC_ID (v13+ ids),
  NOT_LEADER_OR_FOLLOWER with the current leader (v12+) and its endpoint (v16+),
  FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH, OFFSET_OUT_OF_RANGE.

Not yet: fetching from followers (preferred read replica is always -1); other brokers never
fetch over the wire (rafka replicates in process).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import attrs

from rafka import errors
from rafka.cluster.fetch_session import FINAL_EPOCH, INITIAL_EPOCH, CachedPartition, PartitionKey
from rafka.cluster.partition import Partition
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import FetchRequest, FetchResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 1
VERSIONS = (4, 18)

R = FetchResponse
READ_COMMITTED = 1
ZERO_UUID = uuid.UUID(int=0)


@attrs.define
class _Wanted:
    """One partition to read in this fetch."""

    key: PartitionKey
    topic: str  # resolved name ("" if unknown)
    topic_id: uuid.UUID
    index: int
    cached: CachedPartition
    partition: Partition | None = None
    error: errors.KafkaError | None = None
    leader_hint: tuple[int, int] = (-1, -1)


def _key(version: int, name: str, topic_id: uuid.UUID, index: int) -> PartitionKey:
    return (str(topic_id) if version >= 13 else name, index)


async def handle(broker: Broker, ctx: RequestContext, request: FetchRequest) -> R:
    version = ctx.api_version
    sessions = broker.fetch_sessions
    image = broker.controller.image
    session_id, epoch = (request.session_id, request.session_epoch) if version >= 7 else (0, -1)
    requested: dict[PartitionKey, tuple[str, uuid.UUID, CachedPartition]] = {}
    for topic in request.topics:
        if version >= 13:
            found = image.topics_by_id.get(topic.topic_id)
            name, topic_id = (found.name if found else ""), topic.topic_id
        else:
            found = image.topics.get(topic.topic)
            name, topic_id = topic.topic, (found.topic_id if found else ZERO_UUID)
        for p in topic.partitions:
            requested[_key(version, topic.topic, topic.topic_id, p.partition)] = (
                name,
                topic_id,
                CachedPartition(
                    p.fetch_offset,
                    p.partition_max_bytes,
                    p.current_leader_epoch,
                    p.log_start_offset,
                ),
            )

    incremental = False
    response_session = 0
    if epoch in (FINAL_EPOCH, INITIAL_EPOCH):
        if session_id:
            sessions.remove(session_id)
        partitions = requested
        if epoch == INITIAL_EPOCH:
            session = sessions.create()
            if session is not None:
                response_session = session.id
                session.partitions = {k: v[2] for k, v in requested.items()}
                session.names = {k: (v[0], v[1]) for k, v in requested.items()}
    else:
        session = sessions.get(session_id)
        if session is None:
            return R(error_code=errors.FetchSessionIdNotFoundError.code, session_id=0)
        if epoch != session.epoch:
            return R(error_code=errors.InvalidFetchSessionEpochError.code, session_id=0)
        names = session.names
        for key, (name, topic_id, cached) in requested.items():
            old = session.partitions.get(key)
            if old is not None:
                cached.high_watermark = old.high_watermark
                cached.last_stable_offset = old.last_stable_offset
                cached.response_log_start = old.response_log_start
            session.partitions[key] = cached
            names[key] = (name, topic_id)
        for forgotten in request.forgotten_topics_data if version >= 7 else ():
            for index in forgotten.partitions:
                key = _key(version, forgotten.topic, forgotten.topic_id, index)
                session.partitions.pop(key, None)
                names.pop(key, None)
        session.epoch = epoch + 1
        incremental = True
        response_session = session.id
        partitions = {k: (*names[k], v) for k, v in session.partitions.items()}

    wanted = [
        _Wanted(key, name, topic_id, key[1], cached)
        for key, (name, topic_id, cached) in partitions.items()
    ]
    for w in wanted:
        _resolve(broker, w, version)

    read_committed = version >= 4 and request.isolation_level == READ_COMMITTED
    results = _read_all(wanted, request.max_bytes, read_committed)
    available = sum(len(r.records or b"") for r in results.values())
    errors_seen = any(r.error_code for r in results.values())
    if available < request.min_bytes and request.max_wait_ms > 0 and not errors_seen:
        live = [w.partition for w in wanted if w.partition is not None]
        start_limits = {id(w): _limit(w, read_committed) for w in wanted}

        def moved() -> bool:
            return any(
                _limit(w, read_committed) != start_limits[id(w)] or w.partition.offline
                for w in wanted
                if w.partition is not None
            )

        await broker.replica_manager.wait_for(live, moved, request.max_wait_ms / 1000)
        results = _read_all(wanted, request.max_bytes, read_committed)

    response = R(session_id=response_session)
    by_topic: dict[tuple[str, uuid.UUID], R.FetchableTopicResponse] = {}
    leaders: set[int] = set()
    for w in wanted:
        result = results[w.key]
        if incremental and not _worth_sending(w, result):
            continue
        if not incremental:
            w.cached.changed_since_last_response(
                result.high_watermark, result.last_stable_offset, result.log_start_offset
            )
        if result.current_leader.leader_id >= 0:
            leaders.add(result.current_leader.leader_id)
        topic_name = w.key[0] if version < 13 else ""
        topic_resp = by_topic.get((topic_name, w.topic_id))
        if topic_resp is None:
            topic_resp = R.FetchableTopicResponse(topic=topic_name, topic_id=w.topic_id)
            by_topic[(topic_name, w.topic_id)] = topic_resp
            response.responses.append(topic_resp)
        topic_resp.partitions.append(result)
    if version >= 16:
        for node_id in sorted(leaders):
            b = image.brokers.get(node_id)
            if b is not None:
                response.node_endpoints.append(R.NodeEndpoint(b.node_id, b.host, b.port, b.rack))
    return response


def _resolve(broker: Broker, w: _Wanted, version: int) -> None:
    if not w.topic:
        w.error = (
            errors.UnknownTopicIdError("This server does not host this topic ID.")
            if version >= 13
            else errors.UnknownTopicOrPartitionError(
                "This server does not host this topic-partition."
            )
        )
        return
    try:
        w.partition = broker.replica_manager.leader_partition(w.topic, w.index)
        w.partition.check_leader_epoch(w.cached.current_leader_epoch)
    except errors.KafkaError as exc:
        w.error = exc
        if not isinstance(exc, (errors.FencedLeaderEpochError, errors.UnknownLeaderEpochError)):
            w.partition = None
        if isinstance(exc, errors.NotLeaderOrFollowerError):
            hint = broker.controller.image.partition(w.topic, w.index)
            if hint is not None and hint.leader >= 0:
                w.leader_hint = (hint.leader, hint.leader_epoch)


def _limit(w: _Wanted, read_committed: bool) -> int:
    assert w.partition is not None
    log = w.partition.log
    return log.last_stable_offset if read_committed else log.high_watermark


def _read_all(
    wanted: list[_Wanted], max_bytes: int, read_committed: bool
) -> dict[PartitionKey, R.PartitionData]:
    results: dict[PartitionKey, R.PartitionData] = {}
    remaining = max_bytes
    first = True
    for w in wanted:
        result = R.PartitionData(partition_index=w.index, aborted_transactions=None)
        results[w.key] = result
        partition = w.partition
        if w.error is not None or partition is None:
            error = w.error or errors.NotLeaderOrFollowerError()
            result.error_code = error.code
            result.high_watermark = -1
            result.records = b""
            result.current_leader = R.LeaderIdAndEpoch(*w.leader_hint)
            continue
        log = partition.log
        result.high_watermark = log.high_watermark
        result.last_stable_offset = log.last_stable_offset
        result.log_start_offset = log.log_start_offset
        try:
            data = log.read(
                w.cached.fetch_offset,
                max(min(w.cached.max_bytes, remaining), 0),
                max_offset=_limit(w, read_committed),
                min_one_message=first,
                include_aborted_txns=read_committed,
            )
        except errors.OffsetOutOfRangeError as exc:
            result.error_code = exc.code
            result.records = b""
            # As Kafka: a failed read reports no watermarks.
            result.high_watermark = result.last_stable_offset = result.log_start_offset = -1
            continue
        result.records = data.records if data.size else b""
        if data.size:
            first = False
            remaining -= data.size
        if read_committed:
            result.aborted_transactions = [
                R.AbortedTransaction(t.producer_id, t.first_offset)
                for t in data.aborted_transactions or ()
            ]
    return results


def _worth_sending(w: _Wanted, result: R.PartitionData) -> bool:
    """In an incremental fetch, a partition appears only when something changed."""
    changed = w.cached.changed_since_last_response(
        result.high_watermark, result.last_stable_offset, result.log_start_offset
    )
    return bool(result.error_code or (result.records and len(result.records)) or changed)


def error_response(request: FetchRequest, version: int, error: errors.KafkaError) -> R:
    return R(error_code=error.code)

"""Produce (key 0), v3-13: append record batches to partitions this broker leads.

- ``acks`` must be 0, 1 or -1 (else INVALID_REQUIRED_ACKS for every partition). With acks=0
  no response is sent; if any partition failed the connection is closed, as Kafka does.
- Per partition: the batch is validated and appended by the log (CORRUPT_MESSAGE,
  INVALID_RECORD, MESSAGE_TOO_LARGE, INVALID_TIMESTAMP, OUT_OF_ORDER_SEQUENCE_NUMBER,
  INVALID_PRODUCER_EPOCH, ...); records rejected one by one (a null key on a compacted
  topic, a timestamp out of range) are listed in ``record_errors`` with Kafka's messages; a
  duplicate idempotent batch is acknowledged with the offsets
  it got the first time. Unknown partitions give UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID
  for v13+ ids); a non-leader gives NOT_LEADER_OR_FOLLOWER with the current leader (v10+).
- acks=-1 needs ``min.insync.replicas`` in-sync replicas (NOT_ENOUGH_REPLICAS) and waits up to
  ``timeout_ms`` for the high watermark to pass the batch (else REQUEST_TIMED_OUT).

Not yet: transactional batches are appended without the transaction coordinator's checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.broker import CloseConnection
from rafka.cluster.partition import Partition
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import ProduceRequest, ProduceResponse
from rafka.protocol.records import BATCH_HEADER_SIZE, BatchHeader
from rafka.storage.append import AppendInfo

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 0
VERSIONS = (3, 13)

R = ProduceResponse
P = R.PartitionProduceResponse


def _error(index: int, error: errors.KafkaError) -> R.PartitionProduceResponse:
    # Kafka sends an error message only for record-level errors (it has none for the others).
    if error.record_errors:
        return P(
            index=index,
            error_code=error.code,
            base_offset=-1,
            record_errors=[
                R.BatchIndexAndErrorMessage(i, message) for i, message in error.record_errors
            ],
            error_message=error.message,
        )
    return P(index=index, error_code=error.code, base_offset=-1, error_message=None)


def _has_transactional_batch(request: ProduceRequest) -> bool:
    for topic in request.topic_data:
        for data in topic.partition_data:
            records = data.records
            if records is not None and len(records) >= BATCH_HEADER_SIZE:
                try:
                    if BatchHeader.parse(records).is_transactional:
                        return True
                except errors.DecodeError:
                    continue  # the log's validation reports it per partition
    return False


async def handle(broker: Broker, ctx: RequestContext, request: ProduceRequest) -> R | None:
    version = ctx.api_version
    replicas = broker.replica_manager
    image = broker.controller.image
    acks = request.acks
    if request.transactional_id is None and _has_transactional_batch(request):
        # As Kafka: transactional records need a transactional id (checked before anything).
        raise errors.TransactionalIdAuthorizationFailedError()
    results: list[tuple[R.TopicProduceResponse, list[tuple[P, Partition, AppendInfo]]]] = []
    leaders_hinted: set[int] = set()
    failed = False
    for topic_data in request.topic_data:
        name = topic_data.name
        if version >= 13:
            topic = image.topics_by_id.get(topic_data.topic_id)
            name = topic.name if topic else ""
        out = R.TopicProduceResponse(name=topic_data.name, topic_id=topic_data.topic_id)
        appended: list[tuple[P, Partition, AppendInfo]] = []
        for data in topic_data.partition_data:
            try:
                if acks not in (0, 1, -1):
                    raise errors.InvalidRequiredAcksError("acks must be 0, 1 or -1")
                if not name:
                    raise errors.UnknownTopicIdError("This server does not host this topic ID.")
                partition = replicas.leader_partition(name, data.index)
                if data.records is None:
                    raise errors.InvalidRecordError("the partition's records are null")
                info = partition.append_as_leader(data.records, acks)
            except errors.NotLeaderOrFollowerError as exc:
                failed = True
                result = _error(data.index, exc)
                hint = image.partition(name, data.index)
                if hint is not None and hint.leader >= 0:
                    result.current_leader = R.LeaderIdAndEpoch(hint.leader, hint.leader_epoch)
                    leaders_hinted.add(hint.leader)
                out.partition_responses.append(result)
                continue
            except errors.KafkaError as exc:
                failed = True
                out.partition_responses.append(_error(data.index, exc))
                continue
            result = P(
                index=data.index,
                base_offset=info.first_offset,
                log_append_time_ms=info.log_append_time,
                log_start_offset=info.log_start_offset,
                error_message=None,
            )
            out.partition_responses.append(result)
            appended.append((result, partition, info))
        results.append((out, appended))
    if acks == 0:
        if failed:
            raise CloseConnection("a produce request with acks=0 failed")
        return None
    if acks == -1:
        await _await_replication(broker, request.timeout_ms, results)
    response = R(responses=[out for out, _ in results])
    if version >= 10 and leaders_hinted:
        for node_id in sorted(leaders_hinted):
            b = image.brokers.get(node_id)
            if b is not None:
                response.node_endpoints.append(R.NodeEndpoint(b.node_id, b.host, b.port, b.rack))
    return response


async def _await_replication(
    broker: Broker,
    timeout_ms: int,
    results: list[tuple[R.TopicProduceResponse, list[tuple[P, Partition, AppendInfo]]]],
) -> None:
    waiting = [(r, p, i) for _, appended in results for r, p, i in appended if not i.duplicate]
    if not waiting:
        return

    def replicated() -> bool:
        return all(p.high_watermark > i.last_offset or p.offline for _, p, i in waiting)

    if not replicated():
        await broker.replica_manager.wait_for(
            {p for _, p, _ in waiting}, replicated, max(timeout_ms, 0) / 1000
        )
    for result, partition, info in waiting:
        if partition.offline or not partition.is_leader:
            result.error_code = errors.NotLeaderOrFollowerError.code
        elif partition.high_watermark <= info.last_offset:
            result.error_code = errors.RequestTimedOutError.code
            result.error_message = "the batch was not replicated to the ISR within timeout_ms"


def error_response(request: ProduceRequest, version: int, error: errors.KafkaError) -> R:
    return R(
        responses=[
            R.TopicProduceResponse(
                name=t.name,
                topic_id=t.topic_id,
                partition_responses=[_error(p.index, error) for p in t.partition_data],
            )
            for t in request.topic_data
        ]
    )

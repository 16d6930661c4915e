"""The producer's sender: drains ready batches to their leaders and settles their records.

One task runs :meth:`Sender.run`: it wakes when a batch is opened or fills, when a linger or
retry backoff elapses, or when a response arrives; it then sends one ProduceRequest per ready
leader (at most ``max.in.flight.requests.per.connection`` in flight per broker, one batch per
partition in flight, so retries keep records in order).

Responses: success completes each record's future with its offset; a retriable error (per
Kafka's error table, plus broken connections and timeouts) puts the batch back in front of its
partition after an exponential backoff, refreshing metadata for leadership errors, until
``retries`` or ``delivery.timeout.ms`` run out; other errors fail the batch's records.

Idempotence: the producer gets an id and epoch with InitProducerId and numbers each
partition's records from 0; a batch keeps its sequence across retries. If the broker lost
track of the producer (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID,
INVALID_PRODUCER_EPOCH), the batch fails and the producer takes a new id, restarting sequences.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import defaultdict

import anyio
import anyio.abc

from rafka import errors
from rafka.clients.metadata import MetadataManager
from rafka.clients.producer.accumulator import ProducerBatch, RecordAccumulator, TopicPartition
from rafka.clients.transport import Transport, TransportError, choose_version
from rafka.protocol.messages import (
    InitProducerIdRequest,
    InitProducerIdResponse,
    ProduceRequest,
    ProduceResponse,
)

__all__ = ["Sender"]

_now = time.monotonic

log = logging.getLogger("rafka.producer")

PRODUCE = 0
ZERO_UUID = uuid.UUID(int=0)
_LEADERSHIP = {
    errors.NotLeaderOrFollowerError.code,
    errors.UnknownTopicOrPartitionError.code,
    errors.UnknownTopicIdError.code,
    errors.LeaderNotAvailableError.code,
    errors.FencedLeaderEpochError.code,
    errors.NotEnoughReplicasError.code,
}
_PRODUCER_STATE = {
    errors.OutOfOrderSequenceNumberError.code,
    errors.UnknownProducerIdError.code,
    errors.InvalidProducerEpochError.code,
}


class Sender:
    def __init__(
        self,
        transport: Transport,
        metadata: MetadataManager,
        accumulator: RecordAccumulator,
        *,
        acks: int,
        idempotent: bool,
        retries: int,
        request_timeout_s: float,
        retry_backoff_s: float,
        retry_backoff_max_s: float,
        max_in_flight: int,
        max_request_size: int,
    ) -> None:
        self.transport = transport
        self.metadata = metadata
        self.acc = accumulator
        self.acks = acks
        self.idempotent = idempotent
        self.retries = retries
        self.request_timeout_s = request_timeout_s
        self.backoff = (retry_backoff_s, retry_backoff_max_s)
        self.max_in_flight = max_in_flight
        self.max_request_size = max_request_size
        self.producer_id = -1
        self.producer_epoch = -1
        self.sequences: dict[TopicPartition, int] = defaultdict(int)
        self.in_flight: dict[int, int] = defaultdict(int)
        self.wake = anyio.Event()
        self.progress = anyio.Event()  #: set whenever batches complete (flush waits on it)
        self._refreshing = False
        self._rng = random.Random()
        self.fatal: BaseException | None = None

    # ------------------------------------------------------------------------------ signals

    def poke(self) -> None:
        self.wake.set()

    def _progressed(self) -> None:
        self.progress.set()
        self.progress = anyio.Event()
        self.wake.set()

    @property
    def idle(self) -> bool:
        with self.acc.lock:
            return not len(self.acc) and not any(self.in_flight.values())

    def _leader_of(self, tp: TopicPartition) -> int | None:
        return self.metadata.cache.leader(*tp)

    # ------------------------------------------------------------------------------- loop

    async def run(self, tg: anyio.abc.TaskGroup) -> None:
        while True:
            self.wake = anyio.Event()
            now = _now()
            with self.acc.lock:
                expired = self.acc.expire(now)
            for batch in expired:
                self._fail(
                    batch,
                    errors.ClientTimeoutError(
                        f"{batch.record_count} record(s) for {batch.tp[0]}-{batch.tp[1]} expired: "
                        f"delivery.timeout.ms passed since the batch was created"
                    ),
                )
            if self.idempotent and self.producer_id < 0 and len(self.acc):
                await self._init_producer_id()
                continue
            with self.acc.lock:
                nodes, next_due, unknown = self.acc.ready(now, self._leader_of)
            if unknown:
                self.metadata.want(unknown)
                self._refresh_soon(tg)
                next_due = min(next_due, self.backoff[0])
            elif self.metadata.needs_refresh and len(self.acc):
                # NOT_LEADER_OR_FOLLOWER or a lost leader marked it stale: who leads now?
                self._refresh_soon(tg)
            for node in nodes:
                if self.in_flight[node] >= self.max_in_flight:
                    continue
                with self.acc.lock:
                    batches = self.acc.drain(node, self._leader_of, self.max_request_size, now)
                if batches:
                    self.in_flight[node] += 1
                    tg.start_soon(self._send, node, batches)
            if self.acc.closing and self.idle:
                return
            timeout = min(next_due, 1.0)
            if timeout > 0:
                with anyio.move_on_after(timeout):
                    await self.wake.wait()
            else:
                await anyio.sleep(0)

    def _refresh_soon(self, tg: anyio.abc.TaskGroup) -> None:
        if self._refreshing:
            return
        self._refreshing = True

        async def refresh() -> None:
            try:
                await self.metadata.refresh()
            except (TransportError, errors.KafkaError) as exc:
                log.debug("metadata refresh failed: %s", exc)
                await anyio.sleep(self.backoff[0])
            finally:
                self._refreshing = False
                self.wake.set()

        tg.start_soon(refresh)

    async def _init_producer_id(self) -> None:
        attempt = 0
        while True:
            nodes = sorted(self.metadata.cache.brokers) or self.transport.bootstrap_nodes()
            node = nodes[attempt % len(nodes)]
            try:
                response = await self.transport.request(
                    node,
                    # An idempotent producer: the transactional id must be null, not "".
                    InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000),
                    timeout=self.request_timeout_s,
                )
                assert isinstance(response, InitProducerIdResponse)
                if response.error_code == 0:
                    self.producer_id = response.producer_id
                    self.producer_epoch = response.producer_epoch
                    self.sequences.clear()
                    with self.acc.lock:
                        self.acc.reset_producer_state()
                    return
                error = errors.for_code(response.error_code)
                if not error.retriable:
                    self.fatal = error("InitProducerId failed")
                    raise self.fatal
            except (TransportError, errors.RequestTimedOutError) as exc:
                log.debug("InitProducerId to node %d failed: %s", node, exc)
                self.metadata.mark_stale()
            attempt += 1
            await anyio.sleep(self._backoff_s(attempt))

    def _backoff_s(self, attempts: int) -> float:
        lo, hi = self.backoff
        delay: float = min(hi, lo * 2 ** max(attempts - 1, 0))
        return delay * self._rng.uniform(0.8, 1.2)

    # ------------------------------------------------------------------------------ requests

    async def _send(self, node: int, batches: list[ProducerBatch]) -> None:
        try:
            await self._send_batches(node, batches)
        finally:
            self.in_flight[node] -= 1
            self._progressed()

    async def _send_batches(self, node: int, batches: list[ProducerBatch]) -> None:
        try:
            versions = await self.transport.api_versions(node)
            version = choose_version(PRODUCE, versions.get(PRODUCE), None)
        except (TransportError, errors.RequestTimedOutError) as exc:
            self.metadata.mark_stale()  # the leader may be gone: ask who leads now
            self._retry_all(batches, exc)
            return
        by_ids = version >= 13
        topics: dict[str, ProduceRequest.TopicProduceData] = {}
        for batch in batches:
            topic, partition = batch.tp
            if batch.encoded is None and self.idempotent:
                sequence = self.sequences[batch.tp]
                self.sequences[batch.tp] = sequence + batch.record_count
            else:
                sequence = batch.base_sequence
            records = batch.encode(self.producer_id, self.producer_epoch, sequence)
            data = topics.get(topic)
            if data is None:
                info = self.metadata.cache.topics.get(topic)
                topic_id = info.topic_id if info is not None and by_ids else ZERO_UUID
                data = topics[topic] = ProduceRequest.TopicProduceData(
                    name="" if by_ids else topic, topic_id=topic_id
                )
            data.partition_data.append(ProduceRequest.PartitionProduceData(partition, records))
        request = ProduceRequest(
            acks=self.acks,
            timeout_ms=int(self.request_timeout_s * 1000),
            topic_data=list(topics.values()),
        )
        try:
            response = await self.transport.request(
                node,
                request,
                version=version,
                expect_response=self.acks != 0,
                timeout=self.request_timeout_s + 1,
            )
        except (TransportError, errors.RequestTimedOutError) as exc:
            self.metadata.mark_stale()
            self._retry_all(batches, exc)
            return
        if response is None:  # acks=0: nothing comes back
            for batch in batches:
                self._succeed(batch, -1, -1)
            return
        assert isinstance(response, ProduceResponse)
        self._settle(batches, response, by_ids)

    def _settle(
        self, batches: list[ProducerBatch], response: ProduceResponse, by_ids: bool
    ) -> None:
        results: dict[TopicPartition, ProduceResponse.PartitionProduceResponse] = {}
        names = {}
        if by_ids:
            names = {info.topic_id: name for name, info in self.metadata.cache.topics.items()}
        for topic in response.responses:
            name = names.get(topic.topic_id, topic.name) if by_ids else topic.name
            for part in topic.partition_responses:
                results[(name, part.index)] = part
        for batch in batches:
            result = results.get(batch.tp)
            if result is None:
                self._retry_or_fail(
                    batch,
                    errors.UnknownServerError(
                        "the produce response did not mention this partition"
                    ),
                )
                continue
            code = result.error_code
            if code == 0:
                self._succeed(batch, result.base_offset, result.log_append_time_ms)
            elif code == errors.DuplicateSequenceNumberError.code:
                self._succeed(batch, -1, -1)
            else:
                error = errors.for_code(code)(result.error_message or None)
                if result.record_errors:
                    error.with_record_errors(
                        [(e.batch_index, e.batch_index_error_message) for e in result.record_errors]
                    )
                if code in _LEADERSHIP:
                    self.metadata.mark_stale()
                if code in _PRODUCER_STATE and self.idempotent:
                    self._reset_producer_id()
                    self._fail(batch, error)
                else:
                    self._retry_or_fail(batch, error)

    # -------------------------------------------------------------------------- outcomes

    def _succeed(self, batch: ProducerBatch, base_offset: int, append_time: int) -> None:
        with self.acc.lock:
            self.acc.complete(batch)
        batch.outcome.succeed(base_offset, append_time)

    def _fail(self, batch: ProducerBatch, error: BaseException) -> None:
        with self.acc.lock:
            self.acc.complete(batch)
        batch.outcome.fail(error)

    def _retry_or_fail(self, batch: ProducerBatch, error: BaseException) -> None:
        now = _now()
        retriable = getattr(error, "retriable", False)
        expired = now - batch.created >= self.acc.delivery_timeout_s
        if retriable and batch.attempts < self.retries and not expired:
            with self.acc.lock:
                self.acc.reenqueue(batch, now + self._backoff_s(batch.attempts + 1))
        else:
            self._fail(batch, error)

    def _retry_all(self, batches: list[ProducerBatch], error: BaseException) -> None:
        for batch in batches:
            self._retry_or_fail(batch, error)

    def _reset_producer_id(self) -> None:
        """Take a new producer id before the next send (sequences start again at 0)."""
        self.producer_id = -1
        self.producer_epoch = -1

"""The consumer's fetcher: keeps fetches in flight while the application processes records.

One task (:meth:`Fetcher.run`) loops: it resolves positions that need a reset (ListOffsets to
each leader: earliest or latest), then sends one Fetch per leader for the assigned, unpaused
partitions that have no records buffered and no fetch in flight. Responses are buffered per
partition as *completed fetches*; :meth:`Fetcher.take` hands records out of them (decoding
lazily) and advances positions, and the fetcher sends the next fetch for a partition as soon as
its buffer runs dry — so the next fetch is in flight while the application works.

Errors per partition: OFFSET_OUT_OF_RANGE resets to ``auto.offset.reset`` (or raises
:class:`~rafka.errors.OffsetOutOfRangeError` from ``poll`` when it is "none"); leadership
errors refresh metadata and retry; anything else is raised from ``poll``. A seek while a fetch
is in flight makes that fetch's result stale (discarded).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterator

import anyio
import anyio.abc
import attrs

from rafka import errors
from rafka.clients.consumer.records import ConsumerRecord, records_from_fetch
from rafka.clients.consumer.subscription import SubscriptionState
from rafka.clients.metadata import MetadataManager
from rafka.clients.transport import Transport, TransportError, choose_version
from rafka.clients.types import TopicPartition
from rafka.protocol.messages import (
    FetchRequest,
    FetchResponse,
    ListOffsetsRequest,
    ListOffsetsResponse,
)
from rafka.protocol.records import BatchHeader, iter_batch_positions

__all__ = ["Fetcher"]

log = logging.getLogger("rafka.consumer")

FETCH = 1
LIST_OFFSETS = 2
ZERO_UUID = uuid.UUID(int=0)
EARLIEST, LATEST = -2, -1
_RETRY_WITH_METADATA = {
    errors.NotLeaderOrFollowerError.code,
    errors.UnknownTopicOrPartitionError.code,
    errors.UnknownTopicIdError.code,
    errors.FencedLeaderEpochError.code,
    errors.UnknownLeaderEpochError.code,
    errors.LeaderNotAvailableError.code,
    errors.KafkaStorageError.code,
    errors.OffsetNotAvailableError.code,
}


@attrs.define
class _Completed:
    """Records fetched for one partition, handed out by ``take``."""

    tp: TopicPartition
    generation: int
    records: Iterator[ConsumerRecord]
    #: The offset after the last fetched batch: the position once every record is taken, even
    #: when the last batches hold nothing to return (transaction markers, compacted gaps).
    next_offset: int


class Fetcher:
    def __init__(
        self,
        transport: Transport,
        metadata: MetadataManager,
        subscriptions: SubscriptionState,
        *,
        min_bytes: int,
        max_bytes: int,
        max_wait_ms: int,
        partition_max_bytes: int,
        read_committed: bool,
        request_timeout_s: float,
        retry_backoff_s: float,
    ) -> None:
        self.transport = transport
        self.metadata = metadata
        self.subs = subscriptions
        self.min_bytes = min_bytes
        self.max_bytes = max_bytes
        self.max_wait_ms = max_wait_ms
        self.partition_max_bytes = partition_max_bytes
        self.read_committed = read_committed
        self.request_timeout_s = request_timeout_s
        self.retry_backoff_s = retry_backoff_s
        self.completed: dict[TopicPartition, _Completed] = {}
        self.in_flight: dict[int, set[TopicPartition]] = defaultdict(set)
        self.wake = anyio.Event()
        self.arrived = anyio.Event()  #: set when fetched records arrive
        self.failure: BaseException | None = None  #: raised from the next poll
        self._resetting = False

    def poke(self) -> None:
        self.wake.set()

    def _notify_arrival(self) -> None:
        self.arrived.set()
        self.arrived = anyio.Event()

    # -------------------------------------------------------------------------------- loop

    async def run(self, tg: anyio.abc.TaskGroup) -> None:
        while True:
            self.wake = anyio.Event()
            cached = self.metadata.cache.topics
            missing = {tp.topic for tp in self.subs.assignment if tp.topic not in cached}
            if missing:
                self.metadata.want(missing)
            if self.metadata.needs_refresh:
                try:
                    await self.metadata.refresh()
                except (TransportError, errors.RequestTimedOutError) as exc:
                    log.debug("metadata refresh failed: %s", exc)
                    await anyio.sleep(self.retry_backoff_s)
                    continue
            if self.subs.needing_reset() and not self._resetting:
                self._resetting = True
                tg.start_soon(self._reset_positions)
            for node, partitions in self._plan().items():
                self.in_flight[node].update(partitions)
                tg.start_soon(self._fetch, node, partitions)
            with anyio.move_on_after(1.0):
                await self.wake.wait()

    def _plan(self) -> dict[int, list[TopicPartition]]:
        busy = set().union(*self.in_flight.values()) if self.in_flight else set()
        plan: dict[int, list[TopicPartition]] = defaultdict(list)
        for tp in self.subs.fetchable():
            if tp in busy or tp in self.completed:
                continue
            leader = self.metadata.cache.leader(*tp)
            if leader is None:
                self.metadata.mark_stale()
                continue
            if self.in_flight.get(leader):
                continue  # one fetch per broker at a time, as Kafka's consumer does
            plan[leader].append(tp)
        return plan

    # ------------------------------------------------------------------------------ resets

    async def _reset_positions(self) -> None:
        try:
            while pending := self.subs.needing_reset():
                by_leader: dict[int, list[tuple[TopicPartition, str]]] = defaultdict(list)
                for tp, strategy in pending:
                    if strategy == "none":
                        self.failure = errors.NoOffsetForPartitionError(
                            f"no position for {tp.topic}-{tp.partition} and "
                            "auto.offset.reset is none"
                        )
                        self.subs.state(tp).reset = None
                        continue
                    leader = self.metadata.cache.leader(*tp)
                    if leader is None:
                        self.metadata.mark_stale()
                        continue
                    by_leader[leader].append((tp, strategy))
                if not by_leader:
                    self._notify_arrival()
                    if not self.subs.needing_reset():
                        return
                    await self.metadata.refresh()
                    continue
                for leader, items in by_leader.items():
                    await self._list_offsets(leader, items)
        except (TransportError, errors.RequestTimedOutError) as exc:
            log.debug("offset reset failed: %s", exc)
            self.metadata.mark_stale()
            await anyio.sleep(self.retry_backoff_s)
        finally:
            self._resetting = False
            self._notify_arrival()  # positions are known now: wake position() and poll()
            self.poke()

    async def _list_offsets(self, leader: int, items: list[tuple[TopicPartition, str]]) -> None:
        by_topic: dict[str, list[ListOffsetsRequest.ListOffsetsPartition]] = defaultdict(list)
        for tp, strategy in items:
            ts = EARLIEST if strategy == "earliest" else LATEST
            by_topic[tp.topic].append(ListOffsetsRequest.ListOffsetsPartition(tp.partition, -1, ts))
        request = ListOffsetsRequest(
            replica_id=-1,
            isolation_level=1 if self.read_committed else 0,
            topics=[ListOffsetsRequest.ListOffsetsTopic(t, ps) for t, ps in by_topic.items()],
        )
        response = await self.transport.request(leader, request, timeout=self.request_timeout_s)
        assert isinstance(response, ListOffsetsResponse)
        for topic in response.topics:
            for part in topic.partitions:
                tp = TopicPartition(topic.name, part.partition_index)
                state = self.subs.assignment.get(tp)
                if state is None or state.reset is None:
                    continue
                if part.error_code:
                    if part.error_code in _RETRY_WITH_METADATA:
                        self.metadata.mark_stale()
                        continue
                    self.failure = errors.for_code(part.error_code)(
                        f"ListOffsets for {tp.topic}-{tp.partition}"
                    )
                    state.reset = None
                    continue
                self.subs.seek(tp, part.offset)

    # ------------------------------------------------------------------------------ fetches

    async def _fetch(self, node: int, partitions: list[TopicPartition]) -> None:
        try:
            await self._fetch_once(node, partitions)
        except (TransportError, errors.RequestTimedOutError) as exc:
            log.debug("fetch from node %d failed: %s", node, exc)
            self.metadata.mark_stale()
            await anyio.sleep(self.retry_backoff_s)
        finally:
            self.in_flight[node].difference_update(partitions)
            self.poke()

    async def _fetch_once(self, node: int, partitions: list[TopicPartition]) -> None:
        versions = await self.transport.api_versions(node)
        version = choose_version(FETCH, versions.get(FETCH), None)
        by_ids = version >= 13
        generations = {}
        topics: dict[str, FetchRequest.FetchTopic] = {}
        for tp in partitions:
            state = self.subs.assignment.get(tp)
            if state is None or state.position is None:
                continue
            generations[tp] = (state.generation, state.position)
            topic = topics.get(tp.topic)
            if topic is None:
                info = self.metadata.cache.topics.get(tp.topic)
                topic_id = info.topic_id if info is not None and by_ids else ZERO_UUID
                topic = topics[tp.topic] = FetchRequest.FetchTopic(
                    topic="" if by_ids else tp.topic, topic_id=topic_id
                )
            topic.partitions.append(
                FetchRequest.FetchPartition(
                    partition=tp.partition,
                    fetch_offset=state.position,
                    partition_max_bytes=self.partition_max_bytes,
                )
            )
        if not topics:
            return
        request = FetchRequest(
            replica_id=-1,
            max_wait_ms=self.max_wait_ms,
            min_bytes=self.min_bytes,
            max_bytes=self.max_bytes,
            isolation_level=1 if self.read_committed else 0,
            session_id=0,
            session_epoch=-1,
            topics=list(topics.values()),
        )
        response = await self.transport.request(
            node,
            request,
            version=version,
            timeout=self.request_timeout_s + self.max_wait_ms / 1000,
        )
        assert isinstance(response, FetchResponse)
        if response.error_code:
            raise TransportError(f"fetch failed: error {response.error_code}")
        names = {}
        if by_ids:
            names = {info.topic_id: n for n, info in self.metadata.cache.topics.items()}
        arrived = False
        for fetched in response.responses:
            name = names.get(fetched.topic_id, "") if by_ids else fetched.topic
            for part in fetched.partitions:
                tp = TopicPartition(name, part.partition_index)
                expected = generations.get(tp)
                state = self.subs.assignment.get(tp)
                if expected is None or state is None or state.generation != expected[0]:
                    continue  # re-assigned or seeked while in flight: stale
                arrived |= self._handle_partition(tp, expected, part)
        if arrived:
            self._notify_arrival()

    def _handle_partition(
        self, tp: TopicPartition, expected: tuple[int, int], part: FetchResponse.PartitionData
    ) -> bool:
        state = self.subs.assignment[tp]
        code = part.error_code
        if code == errors.OffsetOutOfRangeError.code:
            if self.subs.default_reset == "none":
                self.failure = errors.OffsetOutOfRangeError(
                    f"fetch offset {expected[1]} is out of range for {tp.topic}-{tp.partition}"
                )
            else:
                self.subs.request_reset(tp)
            return True
        if code in _RETRY_WITH_METADATA:
            self.metadata.mark_stale()
            return False
        if code:
            self.failure = errors.for_code(code)(f"fetching {tp.topic}-{tp.partition}")
            return True
        state.high_watermark = part.high_watermark
        state.last_stable_offset = part.last_stable_offset
        state.log_start_offset = part.log_start_offset
        records = part.records
        if not records:
            return False
        aborted = None
        if self.read_committed:
            aborted = [(a.producer_id, a.first_offset) for a in part.aborted_transactions or ()]
        next_offset = expected[1]
        for start, _, magic in iter_batch_positions(records):
            if magic == 2:
                next_offset = max(next_offset, BatchHeader.parse(records, start).next_offset)
        self.completed[tp] = _Completed(
            tp,
            expected[0],
            records_from_fetch(tp.topic, tp.partition, records, expected[1], aborted),
            next_offset,
        )
        return True

    # ----------------------------------------------------------------------------- records

    def take(self, max_records: int) -> list[ConsumerRecord]:
        """Up to ``max_records`` buffered records, advancing positions past them."""
        out: list[ConsumerRecord] = []
        for tp in list(self.completed):
            if len(out) >= max_records:
                break
            completed = self.completed[tp]
            state = self.subs.assignment.get(tp)
            if state is None or state.generation != completed.generation:
                del self.completed[tp]
                continue
            if state.held:
                continue
            last = None
            exhausted = True
            for record in completed.records:
                out.append(record)
                last = record
                if len(out) >= max_records:
                    exhausted = False
                    break
            if last is not None:
                state.position = last.offset + 1
                state.leader_epoch = last.leader_epoch
            if exhausted:
                del self.completed[tp]
                if state.position is not None and completed.next_offset > state.position:
                    state.position = completed.next_offset
                self.poke()
        return out

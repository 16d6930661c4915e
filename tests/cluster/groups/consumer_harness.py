"""A group shard on a manual clock and a fake metadata image, driven through
ConsumerGroupHeartbeat: the KIP-848 state machine without any I/O.

:class:`ConsumerHarness` extends :class:`~tests.cluster.groups.harness.ShardHarness` (whose
in-memory log receives every written record) with topics in a metadata image, heartbeats as
plain calls and a rollback when a write is made to fail; :class:`Client` plays one member the
way a real consumer does (it acks revocations in its next heartbeat).
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from rafka.cluster.groups.consumer_engine import ConsumerConfig, HeartbeatContext
from rafka.cluster.groups.consumer_group import ConsumerGroup
from rafka.cluster.groups.records import decode_record
from rafka.cluster.groups.result import CoordinatorResult
from rafka.cluster.groups.shard import GroupConfig, GroupShard, random_member_ids, random_uuids
from rafka.cluster.metadata.image import MetadataImage, PartitionImage, TopicImage
from rafka.errors import KafkaError
from rafka.protocol.messages import ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse
from rafka.storage.clock import ManualClock
from tests.cluster.groups.harness import START_MS, ShardHarness

Q = ConsumerGroupHeartbeatRequest
R = ConsumerGroupHeartbeatResponse


class ConsumerHarness(ShardHarness):
    def __init__(self, consumer: ConsumerConfig | None = None, **config: Any) -> None:
        config.setdefault("initial_rebalance_delay_ms", 0)
        self.image = MetadataImage("cluster", 1, offset=0)
        self.config = GroupConfig(consumer=consumer or ConsumerConfig(), **config)
        self.clock = ManualClock(START_MS)
        rng = random.Random(7)
        self.shard = GroupShard(
            0,
            self.config,
            self.clock,
            random_member_ids(rng),
            image=lambda: self.image,
            new_uuid=random_uuids(rng),
        )
        self.log: list[tuple[bytes, bytes | None]] = []
        self.fail_writes: KafkaError | None = None
        self.shard.on_loaded()

    # ------------------------------------------------------------------------- metadata

    def create_topic(self, name: str, partitions: int) -> uuid.UUID:
        topic_id = uuid.UUID(int=random.Random(name).getrandbits(128), version=4)
        topic = TopicImage(
            name,
            topic_id,
            {p: PartitionImage(p, [1], [1], 1, 0, 0) for p in range(partitions)},
        )
        self.image.topics[name] = topic
        self.image.topics_by_id[topic_id] = topic
        self.image.offset += 1
        return topic_id

    def add_partitions(self, name: str, partitions: int) -> None:
        topic = self.image.topics[name]
        for p in range(len(topic.partitions), partitions):
            topic.partitions[p] = PartitionImage(p, [1], [1], 1, 0, 0)
        self.image.offset += 1

    def delete_topic(self, name: str) -> None:
        topic = self.image.topics.pop(name)
        del self.image.topics_by_id[topic.topic_id]
        self.image.offset += 1

    # -------------------------------------------------------------------------- plumbing

    def run(self, result: CoordinatorResult[Any]) -> Any:
        if result.records and self.fail_writes is not None:
            if result.rollback is not None:
                result.rollback()
            if result.on_written is not None:
                result.on_written(self.fail_writes)
            raise self.fail_writes
        return super().run(result)

    def consumer_group(self, group_id: str = "g") -> ConsumerGroup:
        group = self.shard.groups[group_id]
        assert isinstance(group, ConsumerGroup)
        return group

    def heartbeat_request(self, request: Q, version: int = 1) -> R:
        """The response, or an error response carrying the raised error's code."""
        ctx = HeartbeatContext("client", "/127.0.0.1", version)
        try:
            response = self.run(self.shard.consumer.heartbeat(ctx, request))
        except KafkaError as exc:
            return R(error_code=exc.code, error_message=exc.message)
        assert isinstance(response, R)
        return response

    def replayed(self) -> GroupShard:
        """A new shard rebuilt from the log alone (what a restarted broker loads)."""
        shard = GroupShard(
            0,
            self.config,
            self.clock,
            random_member_ids(random.Random(1)),
            image=lambda: self.image,
        )
        for offset, (key, value) in enumerate(self.log):
            shard.replay(decode_record(key, value), offset)
        shard.on_loaded()
        return shard


def owned_list(assignment: dict[uuid.UUID, set[int]]) -> list[Q.TopicPartitions]:
    return [Q.TopicPartitions(t, sorted(ps)) for t, ps in assignment.items() if ps]


class Client:
    """One consumer-protocol member as a real client plays it: it joins with epoch 0, sends
    what it owns in every heartbeat, drops revoked partitions at once, leaves with -1."""

    def __init__(
        self,
        h: ConsumerHarness,
        member_id: str,
        topics: list[str] | None = None,
        *,
        regex: str | None = None,
        group_id: str = "g",
        instance_id: str | None = None,
        assignor: str | None = None,
        rebalance_timeout_ms: int = 30_000,
    ) -> None:
        self.h, self.member_id, self.group_id = h, member_id, group_id
        self.topics, self.regex = topics, regex
        self.instance_id, self.assignor = instance_id, assignor
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.epoch = 0
        self.owned: dict[uuid.UUID, set[int]] = {}
        self.last: R | None = None
        #: Hold on to revoked partitions (a slow member that does not ack revocations).
        self.slow = False

    def join(self) -> R:
        self.epoch = 0
        self.owned = {}
        request = Q(
            group_id=self.group_id,
            member_id=self.member_id,
            member_epoch=0,
            instance_id=self.instance_id,
            rebalance_timeout_ms=self.rebalance_timeout_ms,
            subscribed_topic_names=self.topics if self.regex is None else None,
            subscribed_topic_regex=self.regex,
            server_assignor=self.assignor,
            topic_partitions=[],
        )
        return self._handle(self.h.heartbeat_request(request))

    def heartbeat(self, *, full: bool = False) -> R:
        request = Q(
            group_id=self.group_id,
            member_id=self.member_id,
            member_epoch=self.epoch,
            instance_id=self.instance_id if full else None,
            rebalance_timeout_ms=self.rebalance_timeout_ms if full else -1,
            subscribed_topic_names=(self.topics if self.regex is None else None) if full else None,
            subscribed_topic_regex=self.regex if full else None,
            topic_partitions=owned_list(self.owned),
        )
        return self._handle(self.h.heartbeat_request(request))

    def leave(self, epoch: int = -1) -> R:
        request = Q(
            group_id=self.group_id,
            member_id=self.member_id,
            member_epoch=epoch,
            instance_id=self.instance_id,
        )
        response = self.h.heartbeat_request(request)
        if response.error_code == 0:
            self.owned = {}
            self.epoch = 0
        return response

    def _handle(self, response: R) -> R:
        self.last = response
        if response.error_code == 0:
            self.epoch = response.member_epoch
            if response.assignment is not None:
                target = {
                    tp.topic_id: set(tp.partitions) for tp in response.assignment.topic_partitions
                }
                if self.slow:
                    for topic_id, partitions in target.items():
                        self.owned.setdefault(topic_id, set()).update(partitions)
                else:
                    self.owned = target
        elif response.error_code in (110, 25):  # FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID
            self.owned = {}
            self.epoch = 0
        return response

    def partitions(self) -> set[tuple[uuid.UUID, int]]:
        return {(t, p) for t, ps in self.owned.items() for p in ps}

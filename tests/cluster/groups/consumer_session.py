"""A raw client of one consumer group (KIP-848): ConsumerGroupHeartbeat and
ConsumerGroupDescribe as plain calls whose answers are plain values (error names, epochs,
``{topic name: partitions}``), for scenarios compared between rafka and Apache Kafka."""

from __future__ import annotations

import time
import uuid
from typing import Any

from rafka.protocol.messages import (
    ConsumerGroupDescribeRequest,
    ConsumerGroupHeartbeatRequest,
    OffsetCommitRequest,
    OffsetFetchRequest,
)
from tests.cluster.groups.session import Session
from tests.interop.raw import RawClient, error_name

Q = ConsumerGroupHeartbeatRequest


class ConsumerSession(Session):
    """A client of one consumer group's coordinator; topic ids resolved through Metadata.

    Answers name topics by their alias (``topic_id(name, alias)``) so that runs with random
    topic names compare; owned partitions are given by alias too. ``alias(text)`` replaces
    every real name (and regex) in a string with its alias."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        super().__init__(bootstrap, group, topic)
        self.bootstrap = bootstrap
        self.names: dict[uuid.UUID, str] = {}
        self.aliases: dict[str, str] = {}

    def topic_id(self, name: str, alias: str | None = None) -> uuid.UUID:
        with RawClient(self.bootstrap) as raw:
            (topic,) = raw.wait_for_leaders(name).topics
        self.names[topic.topic_id] = alias or name
        self.aliases[name] = alias or name
        return topic.topic_id

    def alias(self, text: str | None) -> str | None:
        if text is None:
            return None
        for name, alias in sorted(self.aliases.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(name, alias)
        return text

    def named(self, topic_partitions: Any) -> dict[str, list[int]]:
        return {
            self.names.get(tp.topic_id, str(tp.topic_id)): sorted(tp.partitions)
            for tp in topic_partitions
            if tp.partitions
        }

    def heartbeat_raw(self, version: int = 1, **fields: Any) -> Any:
        fields.setdefault("group_id", self.group)
        return self.raw.call(Q(**fields), version)

    def heartbeat(self, version: int = 1, **fields: Any) -> tuple[Any, ...]:
        """(error, epoch, assignment or None)."""
        response = self.heartbeat_raw(version, **fields)
        assignment = (
            None
            if response.assignment is None
            else self.named(response.assignment.topic_partitions)
        )
        return (error_name(response.error_code), response.member_epoch, assignment)

    def join(self, member_id: str, topics: list[str] | None = None, **fields: Any) -> Any:
        fields.setdefault("rebalance_timeout_ms", 30_000)
        fields.setdefault("topic_partitions", [])
        if "subscribed_topic_regex" not in fields:
            fields.setdefault("subscribed_topic_names", topics or [self.topic])
        return self.heartbeat(member_id=member_id, member_epoch=0, **fields)

    def classic_join(self, member_id: str = "", instance_id: str | None = None, **kw: Any) -> Any:
        """A classic JoinGroup (v9) of a consumer subscribed to the session's topic."""
        return Session.join(self, member_id, instance_id, **kw)

    def classic_heartbeat(self, member_id: str, generation: int, **kw: Any) -> str:
        return Session.heartbeat(self, member_id, generation, **kw)

    def beat(self, member_id: str, epoch: int, owned: dict[str, list[int]], **fields: Any) -> Any:
        ids = {name: topic_id for topic_id, name in self.names.items()}
        fields["topic_partitions"] = [Q.TopicPartitions(ids[t], ps) for t, ps in owned.items()]
        return self.heartbeat(member_id=member_id, member_epoch=epoch, **fields)

    def consumer_describe(self, version: int = 1) -> dict[str, Any]:
        response = self.raw.call(
            ConsumerGroupDescribeRequest(
                group_ids=[self.group], include_authorized_operations=True
            ),
            version,
        )
        (group,) = response.groups
        return {
            "error": error_name(group.error_code),
            "state": group.group_state,
            "epoch": group.group_epoch,
            "assignment epoch": group.assignment_epoch,
            "assignor": group.assignor_name,
            "members": sorted(
                (
                    self.alias(m.member_id),
                    m.instance_id,
                    m.member_epoch,
                    m.client_id,
                    m.client_host,
                    sorted(self.alias(n) for n in m.subscribed_topic_names),
                    self.alias(m.subscribed_topic_regex),
                    self.named(m.assignment.topic_partitions),
                    self.named(m.target_assignment.topic_partitions),
                    m.member_type,
                )
                for m in group.members
            ),
        }

    def commit_epoch(
        self, offsets: dict[int, int], member_id: str, epoch: int, version: int = 9
    ) -> dict[int, str]:
        request = OffsetCommitRequest(
            group_id=self.group,
            generation_id_or_member_epoch=epoch,
            member_id=member_id,
            topics=[
                OffsetCommitRequest.OffsetCommitRequestTopic(
                    name=self.topic,
                    partitions=[
                        OffsetCommitRequest.OffsetCommitRequestPartition(p, o, -1, "")
                        for p, o in offsets.items()
                    ],
                )
            ],
        )
        response = self.raw.call(request, version)
        return {p.partition_index: error_name(p.error_code) for p in response.topics[0].partitions}

    def fetch_epoch(self, member_id: str | None, epoch: int) -> tuple[str, dict[int, int]]:
        request = OffsetFetchRequest(
            groups=[
                OffsetFetchRequest.OffsetFetchRequestGroup(
                    group_id=self.group,
                    member_id=member_id,
                    member_epoch=epoch,
                    topics=[
                        OffsetFetchRequest.OffsetFetchRequestTopics(
                            name=self.topic, partition_indexes=[0, 1]
                        )
                    ],
                )
            ]
        )
        (group,) = self.raw.call(request, 9).groups
        offsets = {
            p.partition_index: p.committed_offset for t in group.topics for p in t.partitions
        }
        return error_name(group.error_code), offsets

    def wait_heartbeat(
        self, done: Any, timeout: float = 30, pause: float = 0.1, **fields: Any
    ) -> tuple[Any, ...]:
        """Heartbeat until ``done(answer)`` (the coordinator works on it in the background)."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.beat(**fields)
            if done(answer):
                return answer
            if time.monotonic() > deadline:
                raise AssertionError(f"no answer satisfied the condition; last {answer}")
            time.sleep(pause)

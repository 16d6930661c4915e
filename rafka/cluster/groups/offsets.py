"""Committed offsets of one shard: commit, fetch, delete and expire, as Kafka 4.x decides them.

Offsets are keyed ``group id -> topic -> partition`` whatever the group's type. The store
holds only what is committed to ``__consumer_offsets``: a commit returns records, and the
offsets change when those records are replayed (once the high watermark passed them, or while
loading the partition). Each stored offset remembers the log offset of its record.

Rules (OffsetCommit):

- the group must exist, except for a commit with generation -1 (a "simple" commit from a
  consumer outside group management, or an admin client): then an empty classic group without
  a protocol is created to hold the offsets; a missing group is GROUP_ID_NOT_FOUND from v9,
  ILLEGAL_GENERATION before;
- the group checks member, instance id and generation (see ``validate_offset_commit``);
- metadata longer than ``offset.metadata.max.bytes`` gets OFFSET_METADATA_TOO_LARGE for its
  partition only; the others are committed;
- a commit by a member of a Stable or PreparingRebalance classic group counts as a heartbeat.

Expiry (KIP-211): every ``offsets.retention.check.interval.ms`` offsets of topics the group is
not subscribed to expire ``offsets.retention.minutes`` after their base timestamp: the commit
time, or for an Empty group the time it became empty; v2-v4 commits with a retention time
carry their own expire timestamp. A group whose offsets all expired and that is Empty is
deleted (tombstone).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping

import attrs

from rafka import errors
from rafka.cluster.groups.classic_group import ClassicGroup, ClassicGroupState
from rafka.cluster.groups.group import Group
from rafka.cluster.groups.records import (
    CoordinatorRecord,
    offset_commit_record,
    offset_tombstone,
)
from rafka.cluster.groups.result import CoordinatorResult
from rafka.protocol.messages import (
    OffsetCommitRequest,
    OffsetCommitResponse,
    OffsetDeleteRequest,
    OffsetDeleteResponse,
)
from rafka.protocol.schemas.group_coordinator import OffsetCommitKey, OffsetCommitValue

__all__ = ["OffsetAndMetadata", "OffsetStore", "utf16_length"]

NO_EPOCH = -1


@attrs.frozen
class OffsetAndMetadata:
    offset: int
    leader_epoch: int
    metadata: str
    commit_timestamp: int
    expire_timestamp: int = -1
    #: Offset in ``__consumer_offsets`` of the record that stored it.
    record_offset: int = -1

    @classmethod
    def from_record(cls, value: OffsetCommitValue, record_offset: int) -> OffsetAndMetadata:
        return cls(
            value.offset,
            value.leader_epoch,
            value.metadata,
            value.commit_timestamp,
            value.expire_timestamp,
            record_offset,
        )


def utf16_length(text: str) -> int:
    """Java's ``String.length()``: UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


CR = OffsetCommitResponse
DR = OffsetDeleteResponse


class OffsetStore:
    """The committed offsets of one shard, beside its group registry."""

    def __init__(
        self,
        groups: MutableMapping[str, Group],
        *,
        metadata_max_bytes: int,
        retention_ms: int,
        on_member_commit: Callable[[ClassicGroup, str], None],
    ) -> None:
        self.groups = groups
        self.metadata_max_bytes = metadata_max_bytes
        self.retention_ms = retention_ms
        self.on_member_commit = on_member_commit
        self.offsets: dict[str, dict[str, dict[int, OffsetAndMetadata]]] = {}

    # --------------------------------------------------------------------------------- read

    def get(self, group_id: str, topic: str, partition: int) -> OffsetAndMetadata | None:
        return self.offsets.get(group_id, {}).get(topic, {}).get(partition)

    def group_offsets(
        self, group_id: str, member_id: str | None = None, member_epoch: int = -1
    ) -> dict[str, dict[int, OffsetAndMetadata]] | None:
        """The group's offsets, or None when the group is unknown (or Dead) here; raises
        what the group says of the member (OffsetFetch v9+: UNKNOWN_MEMBER_ID,
        STALE_MEMBER_EPOCH)."""
        group = self.groups.get(group_id)
        if group is None:
            return None
        try:
            group.validate_offset_fetch(member_id, member_epoch)
        except errors.GroupIdNotFoundError:
            return None
        return self.offsets.get(group_id, {})

    # ------------------------------------------------------------------------------- commit

    def commit(
        self, request: OffsetCommitRequest, api_version: int, now_ms: int
    ) -> CoordinatorResult[OffsetCommitResponse]:
        """Decide a commit of ``request`` (its topics already filtered to existing partitions);
        raises the group-level error, if any."""
        group_id = request.group_id
        group = self._group_for_commit(request, api_version, now_ms)
        if isinstance(group, ClassicGroup) and group.is_in(
            ClassicGroupState.STABLE, ClassicGroupState.PREPARING_REBALANCE
        ):
            self.on_member_commit(group, request.member_id)
        expire = -1
        if 2 <= api_version <= 4 and request.retention_time_ms != -1:
            expire = now_ms + request.retention_time_ms
        response = CR()
        records: list[CoordinatorRecord] = []
        for topic in request.topics:
            out = CR.OffsetCommitResponseTopic(name=topic.name, topic_id=topic.topic_id)
            response.topics.append(out)
            for p in topic.partitions:
                metadata = p.committed_metadata
                if metadata is not None and utf16_length(metadata) > self.metadata_max_bytes:
                    out.partitions.append(
                        CR.OffsetCommitResponsePartition(
                            p.partition_index, errors.OffsetMetadataTooLargeError.code
                        )
                    )
                    continue
                out.partitions.append(CR.OffsetCommitResponsePartition(p.partition_index, 0))
                records.append(
                    offset_commit_record(
                        group_id,
                        topic.name,
                        p.partition_index,
                        offset=p.committed_offset,
                        leader_epoch=p.committed_leader_epoch,
                        metadata=metadata or "",
                        commit_timestamp=now_ms,
                        expire_timestamp=expire,
                    )
                )
        return CoordinatorResult(records, response)

    def _group_for_commit(
        self, request: OffsetCommitRequest, api_version: int, now_ms: int
    ) -> Group:
        group = self.groups.get(request.group_id)
        if group is None:
            if request.generation_id_or_member_epoch < 0:
                group = ClassicGroup(request.group_id, now_ms)
                self.groups[request.group_id] = group
            elif api_version >= 9:
                raise errors.GroupIdNotFoundError(f"Group {request.group_id} not found.")
            else:
                raise errors.IllegalGenerationError()
        group.validate_offset_commit(
            request.member_id,
            request.group_instance_id,
            request.generation_id_or_member_epoch,
            api_version,
        )
        return group

    # ------------------------------------------------------------------------------- delete

    def delete(self, request: OffsetDeleteRequest) -> CoordinatorResult[OffsetDeleteResponse]:
        """OffsetDelete for topics already filtered to existing partitions."""
        group = self.groups.get(request.group_id)
        if group is None:
            raise errors.GroupIdNotFoundError(f"Group {request.group_id} not found.")
        group.validate_offset_delete()
        records: list[CoordinatorRecord] = []
        response = DR()
        for topic in request.topics:
            out = DR.OffsetDeleteResponseTopic(name=topic.name)
            response.topics.append(out)
            if group.is_subscribed_to(topic.name):
                subscribed = errors.GroupSubscribedToTopicError.code
                out.partitions = [
                    DR.OffsetDeleteResponsePartition(p.partition_index, subscribed)
                    for p in topic.partitions
                ]
                continue
            for p in topic.partitions:
                out.partitions.append(DR.OffsetDeleteResponsePartition(p.partition_index, 0))
                if self.get(request.group_id, topic.name, p.partition_index) is not None:
                    records.append(
                        offset_tombstone(request.group_id, topic.name, p.partition_index)
                    )
        return CoordinatorResult(records, response)

    def delete_all(self, group_id: str) -> list[CoordinatorRecord]:
        """Tombstones for every offset of the group."""
        return [
            offset_tombstone(group_id, topic, partition)
            for topic, partitions in self.offsets.get(group_id, {}).items()
            for partition in partitions
        ]

    def expire(self, group_id: str, now_ms: int) -> tuple[list[CoordinatorRecord], bool]:
        """Tombstones for the group's expired offsets, and whether none is left."""
        by_topic = self.offsets.get(group_id)
        if not by_topic:
            return [], True
        group = self.groups.get(group_id)
        if group is None:
            return [], False
        base = group.offset_retention_base()
        if base is None:
            return [], False
        records = []
        all_expired = True
        for topic, partitions in by_topic.items():
            if group.is_subscribed_to(topic):
                all_expired = False
                continue
            for partition, stored in partitions.items():
                if stored.expire_timestamp >= 0:
                    expired = now_ms >= stored.expire_timestamp
                else:
                    expired = now_ms - base(stored.commit_timestamp) >= self.retention_ms
                if expired:
                    records.append(offset_tombstone(group_id, topic, partition))
                else:
                    all_expired = False
        return records, all_expired

    # ------------------------------------------------------------------------------- replay

    def replay(
        self, key: OffsetCommitKey, value: OffsetCommitValue | None, record_offset: int
    ) -> None:
        group_id, topic, partition = key.group, key.topic, key.partition
        if value is None:
            by_topic = self.offsets.get(group_id)
            if by_topic is None:
                return
            partitions = by_topic.get(topic)
            if partitions is None:
                return
            partitions.pop(partition, None)
            if not partitions:
                del by_topic[topic]
            if not by_topic:
                del self.offsets[group_id]
            return
        if group_id not in self.groups:
            self.groups[group_id] = ClassicGroup(group_id, None)
        stored = OffsetAndMetadata.from_record(value, record_offset)
        self.offsets.setdefault(group_id, {}).setdefault(topic, {})[partition] = stored

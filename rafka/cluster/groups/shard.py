"""One ``__consumer_offsets`` partition's worth of group coordinator state: the group registry,
committed offsets, timers, and the operations over them. Sans-I/O.

A broker holds one :class:`GroupShard` per offsets partition it leads (see
:mod:`rafka.cluster.groups.coordinator`). The shard is rebuilt by :meth:`GroupShard.replay` of
every record in the partition, then :meth:`GroupShard.on_loaded` arms member session deadlines
and the offsets retention check. Requests and timers call its operations, which never await;
they return :class:`~rafka.cluster.groups.result.CoordinatorResult` records for the runtime to
write.

The registry (``groups``) maps a group id to any :class:`~rafka.cluster.groups.group.Group`:
classic groups and KIP-848 consumer groups side by side; offsets are shared.
"""

from __future__ import annotations

import base64
import logging
import random
import uuid
from collections.abc import Callable
from typing import Any

import attrs

from rafka import errors
from rafka.cluster.groups.classic_group import ClassicGroup
from rafka.cluster.groups.classic_protocol import ClassicGroupProtocol, JoinContext
from rafka.cluster.groups.classic_rebalance import ClassicConfig
from rafka.cluster.groups.consumer_engine import ConsumerConfig
from rafka.cluster.groups.consumer_group import ConsumerGroup
from rafka.cluster.groups.consumer_protocol import ConsumerGroupProtocol
from rafka.cluster.groups.consumer_records import CONSUMER_RECORD_TYPES
from rafka.cluster.groups.consumer_replay import replay_consumer_record
from rafka.cluster.groups.group import Group, GroupType
from rafka.cluster.groups.offsets import OffsetStore
from rafka.cluster.groups.records import (
    GROUP_METADATA,
    LEGACY_OFFSET_COMMIT,
    OFFSET_COMMIT,
    CoordinatorRecord,
)
from rafka.cluster.groups.result import CoordinatorResult, Reply
from rafka.cluster.groups.timer import Timer
from rafka.cluster.metadata.image import MetadataImage
from rafka.protocol.messages import (
    ConsumerGroupDescribeResponse,
    DeleteGroupsResponse,
    DescribeGroupsResponse,
    HeartbeatRequest,
    JoinGroupRequest,
    JoinGroupResponse,
    LeaveGroupRequest,
    LeaveGroupResponse,
    ListGroupsResponse,
    SyncGroupRequest,
    SyncGroupResponse,
)
from rafka.protocol.schemas.group_coordinator import (
    GroupMetadataKey,
    GroupMetadataValue,
    LegacyOffsetCommitKey,
    LegacyOffsetCommitValue,
    OffsetCommitKey,
    OffsetCommitValue,
)
from rafka.storage.clock import Clock

__all__ = ["GroupConfig", "GroupShard"]

log = logging.getLogger("rafka.groups")

EXPIRATION_KEY = "expire-group-metadata"


@attrs.frozen
class GroupConfig:
    """The broker configs the group coordinator decides with (Kafka's names, in ms)."""

    initial_rebalance_delay_ms: int = 3000
    min_session_timeout_ms: int = 6000
    max_session_timeout_ms: int = 1_800_000
    max_size: int = (1 << 31) - 1
    offset_metadata_max_bytes: int = 4096
    offsets_retention_ms: int = 7 * 24 * 3600 * 1000
    offsets_retention_check_interval_ms: int = 600_000
    offsets_commit_timeout_ms: int = 5000
    consumer: ConsumerConfig = attrs.Factory(ConsumerConfig)
    #: ``group.coordinator.rebalance.protocols``: "consumer" enables KIP-848 groups.
    rebalance_protocols: tuple[str, ...] = ("classic", "consumer", "streams")

    @property
    def consumer_protocol_enabled(self) -> bool:
        return "consumer" in self.rebalance_protocols

    @classmethod
    def from_broker(cls, get: Callable[[str], Any]) -> GroupConfig:
        """From a broker config's ``get``."""

        def num(name: str) -> int:
            return int(get(name))

        return cls(
            initial_rebalance_delay_ms=num("group.initial.rebalance.delay.ms"),
            min_session_timeout_ms=num("group.min.session.timeout.ms"),
            max_session_timeout_ms=num("group.max.session.timeout.ms"),
            max_size=num("group.max.size"),
            offset_metadata_max_bytes=num("offset.metadata.max.bytes"),
            offsets_retention_ms=num("offsets.retention.minutes") * 60_000,
            offsets_retention_check_interval_ms=num("offsets.retention.check.interval.ms"),
            offsets_commit_timeout_ms=num("offsets.commit.timeout.ms"),
            consumer=ConsumerConfig(
                session_timeout_ms=num("group.consumer.session.timeout.ms"),
                heartbeat_interval_ms=num("group.consumer.heartbeat.interval.ms"),
                max_size=num("group.consumer.max.size"),
                assignors=tuple(get("group.consumer.assignors")),
                migration_policy=str(get("group.consumer.migration.policy")).lower(),
                regex_refresh_interval_ms=num("group.consumer.regex.refresh.interval.ms"),
            ),
            rebalance_protocols=tuple(get("group.coordinator.rebalance.protocols")),
        )


def random_member_ids(rng: random.Random) -> Callable[[str], str]:
    """Kafka's member ids: ``<client id or instance id>-<random UUID>``."""

    def new_member_id(prefix: str) -> str:
        return f"{prefix}-{uuid.UUID(int=rng.getrandbits(128), version=4)}"

    return new_member_id


def random_uuids(rng: random.Random) -> Callable[[], str]:
    """Kafka's ``Uuid.randomUuid().toString()``: URL-safe base64 of 16 random bytes, never
    starting with '-' (the ids the coordinator gives consumer group members, v0)."""

    def new_uuid() -> str:
        while True:
            raw = uuid.UUID(int=rng.getrandbits(128), version=4).bytes
            text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
            if not text.startswith("-"):
                return text

    return new_uuid


def _empty_image() -> MetadataImage:
    return MetadataImage("", -1)


def _offset_commit(record: CoordinatorRecord) -> tuple[OffsetCommitKey, OffsetCommitValue | None]:
    """An offset commit record as the current key and value types (legacy ones converted)."""
    key, value = record.key, record.value
    if not isinstance(key, OffsetCommitKey):
        assert isinstance(key, LegacyOffsetCommitKey)
        key = OffsetCommitKey(key.group, key.topic, key.partition)
    if isinstance(value, LegacyOffsetCommitValue):
        value = OffsetCommitValue(
            offset=value.offset, metadata=value.metadata, commit_timestamp=value.commit_timestamp
        )
    assert value is None or isinstance(value, OffsetCommitValue)
    return key, value


class GroupShard:
    """Groups and offsets of one ``__consumer_offsets`` partition."""

    def __init__(
        self,
        partition: int,
        config: GroupConfig,
        clock: Clock,
        new_member_id: Callable[[str], str],
        *,
        image: Callable[[], MetadataImage] = _empty_image,
        new_uuid: Callable[[], str] | None = None,
    ) -> None:
        self.partition = partition
        self.image = image
        self.config = config
        self.clock = clock
        self.groups: dict[str, Group] = {}
        self.timer: Timer[CoordinatorResult[None]] = Timer()
        self.classic = ClassicGroupProtocol(
            self.groups,
            self.timer,
            clock,
            ClassicConfig(config.initial_rebalance_delay_ms, config.max_size),
            new_member_id,
        )
        self.consumer = ConsumerGroupProtocol(
            self.groups,
            self.timer,
            clock,
            config.consumer,
            image,
            new_uuid or random_uuids(random.Random()),
            lambda record: self.replay(record, -1),
        )
        self.consumer.classic = self.classic
        self._removed: list[ConsumerGroup] = []
        self.offsets = OffsetStore(
            self.groups,
            metadata_max_bytes=config.offset_metadata_max_bytes,
            retention_ms=config.offsets_retention_ms,
            on_member_commit=self._member_committed,
        )

    def _member_committed(self, group: ClassicGroup, member_id: str) -> None:
        member = group.members.get(member_id)
        if member is not None:
            self.classic.reschedule_heartbeat(group, member)

    # ------------------------------------------------------------------------------- replay

    def replay(self, record: CoordinatorRecord, record_offset: int) -> None:
        """Apply one committed record of the partition (loading, or after a write)."""
        if record.record_type in (OFFSET_COMMIT, LEGACY_OFFSET_COMMIT):
            key, value = _offset_commit(record)
            self.offsets.replay(key, value, record_offset)
        elif record.record_type == GROUP_METADATA:
            assert isinstance(record.key, GroupMetadataKey)
            group_id = record.key.group
            if record.value is None:
                self.groups.pop(group_id, None)
            else:
                assert isinstance(record.value, GroupMetadataValue)
                self.groups[group_id] = ClassicGroup.from_record(group_id, record.value)
        elif record.record_type in CONSUMER_RECORD_TYPES:
            replay_consumer_record(self.groups, record)
        else:
            log.debug(
                "__consumer_offsets-%d: skipping record type %d at offset %d (not supported yet)",
                self.partition,
                record.record_type,
                record_offset,
            )

    def replay_committed(self, record: CoordinatorRecord, record_offset: int) -> None:
        """Apply a record once the high watermark passed it. Consumer group records are not
        applied here: operations apply them when they decide (as Kafka does)."""
        if record.record_type not in CONSUMER_RECORD_TYPES:
            self.replay(record, record_offset)

    def on_loaded(self) -> list[CoordinatorResult[None]]:
        self._schedule_expiration()
        self.consumer.on_loaded()
        return self.classic.on_loaded()

    def on_unloaded(self) -> None:
        self.classic.on_unloaded()
        self.consumer.on_unloaded()
        self.timer.clear()

    # ------------------------------------------------------------------------------ reading

    def describe(self, group_id: str, api_version: int) -> DescribeGroupsResponse.DescribedGroup:
        group = self.groups.get(group_id)
        if isinstance(group, ClassicGroup):
            return group.described()
        reason = (
            f"Group {group_id} not found."
            if group is None
            else f"Group {group_id} is not a classic group."
        )
        out = DescribeGroupsResponse.DescribedGroup(group_id=group_id, group_state="Dead")
        if api_version >= 6:
            out.error_code = errors.GroupIdNotFoundError.code
            out.error_message = reason
        return out

    def consumer_describe(
        self, group_ids: list[str]
    ) -> list[ConsumerGroupDescribeResponse.DescribedGroup]:
        out = []
        image = self.image()
        default = self.config.consumer.default_assignor
        for group_id in group_ids:
            group = self.groups.get(group_id)
            if isinstance(group, ConsumerGroup):
                out.append(group.described(default, image.topics_by_id))
                continue
            reason = (
                f"Group {group_id} not found."
                if group is None
                else f"Group {group_id} is not a consumer group."
            )
            out.append(
                ConsumerGroupDescribeResponse.DescribedGroup(
                    group_id=group_id,
                    error_code=errors.GroupIdNotFoundError.code,
                    error_message=reason,
                )
            )
        return out

    def list_groups(
        self, states: list[str], types: list[str]
    ) -> list[ListGroupsResponse.ListedGroup]:
        wanted_states = {s.strip().lower() for s in states}
        wanted_types = {GroupType.parse(t) for t in types}
        out = []
        for group in self.groups.values():
            if wanted_states and group.state_name.lower() not in wanted_states:
                continue
            if wanted_types and group.group_type not in wanted_types:
                continue
            out.append(group.listed())
        return out

    # ------------------------------------------------------------------------------ writing

    def delete_groups(
        self, group_ids: list[str]
    ) -> CoordinatorResult[list[DeleteGroupsResponse.DeletableGroupResult]]:
        records: list[CoordinatorRecord] = []
        results = []
        for group_id in group_ids:
            group = self.groups.get(group_id)
            try:
                if group is None:
                    raise errors.GroupIdNotFoundError(f"Group {group_id} not found.")
                group.validate_delete()
            except errors.KafkaError as exc:
                results.append(DeleteGroupsResponse.DeletableGroupResult(group_id, exc.code))
                continue
            records += self.offsets.delete_all(group_id)
            records += self._group_tombstones(group)
            results.append(DeleteGroupsResponse.DeletableGroupResult(group_id, 0))
        return CoordinatorResult(records, results, rollback=self._restorer())

    # ------------------------------------------------------------------- classic protocol

    def join(
        self, ctx: JoinContext, request: JoinGroupRequest, reply: Reply[JoinGroupResponse]
    ) -> CoordinatorResult[None]:
        """JoinGroup: a classic group, or a classic member of a non-empty consumer group."""
        group = self.groups.get(request.group_id)
        if isinstance(group, ConsumerGroup) and not group.is_empty():
            return self.consumer.classic_join(ctx, request, reply, group)
        return self.classic.join(ctx, request, reply)

    def sync(
        self, request: SyncGroupRequest, reply: Reply[SyncGroupResponse]
    ) -> CoordinatorResult[None]:
        group = self.groups.get(request.group_id)
        if isinstance(group, ConsumerGroup) and not group.is_empty():
            return self.consumer.classic_sync(request, reply, group)
        return self.classic.sync(request, reply)

    def heartbeat(self, request: HeartbeatRequest) -> int:
        """Heartbeat's error code; raises the errors Kafka raises."""
        group = self.groups.get(request.group_id)
        if isinstance(group, ConsumerGroup):
            return self.consumer.classic_heartbeat(request, group)
        return self.classic.heartbeat(request)

    def leave_group(
        self, group_id: str, identities: list[LeaveGroupRequest.MemberIdentity]
    ) -> CoordinatorResult[LeaveGroupResponse]:
        """LeaveGroup, to a classic or a consumer group."""
        group = self.groups.get(group_id)
        if isinstance(group, ConsumerGroup):
            return self.consumer.classic_leave(group, identities)
        return self.classic.leave(group_id, identities)

    def _schedule_expiration(self) -> None:
        self.timer.schedule(
            EXPIRATION_KEY,
            self.clock.monotonic_ms() + self.config.offsets_retention_check_interval_ms,
            self.expire_group_metadata,
        )

    def expire_group_metadata(self) -> CoordinatorResult[None]:
        """Tombstones for expired offsets and for Empty groups left without any; rearms."""
        now = self.clock.time_ms()
        records: list[CoordinatorRecord] = []
        for group_id, group in list(self.groups.items()):
            expired, all_expired = self.offsets.expire(group_id, now)
            records += expired
            if all_expired and group.is_empty():
                records += self._group_tombstones(group)
        if records:
            log.info(
                "__consumer_offsets-%d: %d tombstone(s) for expired offsets and groups",
                self.partition,
                len(records),
            )
        self._schedule_expiration()
        return CoordinatorResult(records, rollback=self._restorer())

    def _group_tombstones(self, group: Group) -> list[CoordinatorRecord]:
        """The records deleting ``group``; a consumer group is removed at once (its records
        are applied when decided, see ``replay_committed``), to be restored if they are not
        written."""
        records = group.tombstones()
        if isinstance(group, ConsumerGroup):
            self._removed.append(group)
            for record in records:
                self.replay(record, -1)
        return records

    def _restorer(self) -> Callable[[], None] | None:
        removed, self._removed = self._removed, []
        if not removed:
            return None

        def restore() -> None:
            for group in removed:
                group.dead = False
                self.groups[group.group_id] = group

        return restore

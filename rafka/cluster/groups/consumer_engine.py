"""The machinery every consumer group operation shares, as Kafka 4.1's
``GroupMetadataManager`` runs it (sans-I/O): the subscription metadata and the group epoch,
regular expressions, the target assignment, reconciling a member one step, fencing members,
session and rebalance timeouts, and applying records.

The operations that use it: ConsumerGroupHeartbeat
(:class:`~rafka.cluster.groups.consumer_protocol.ConsumerGroupProtocol`), and JoinGroup,
SyncGroup and Heartbeat of classic members inside consumer groups and the conversions between
the two protocols (:class:`~rafka.cluster.groups.consumer_classic.ClassicMembers`).

Applying records: an operation appends records to a list while it decides, from the state as
it was; :meth:`ConsumerEngine.commit` then applies them by replaying them (the code that loads
the partition) and returns the result that writes them. If the append fails the group is
restored from a snapshot taken before.

Timers (on the shard's :class:`~rafka.cluster.groups.timer.Timer`): the session timeout
(``group.consumer.session.timeout.ms``, pushed back by every heartbeat) and the rebalance
timeout (the member's own, while it must revoke) fence the member; a regex refresh resolves
the group's regular expressions against the topics shortly after they change.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, MutableMapping
from typing import TypeVar

import attrs

from rafka import errors
from rafka.cluster.groups import consumer_records as cr
from rafka.cluster.groups.assignors import ASSIGNORS, AssignorError, GroupSpec, MemberSpec
from rafka.cluster.groups.consumer_group import (
    ConsumerGroup,
    SubscriptionType,
    subscription_type,
)
from rafka.cluster.groups.consumer_member import (
    EMPTY,
    LEAVE_GROUP_STATIC_MEMBER_EPOCH,
    Assignment,
    ConsumerGroupMember,
    MemberState,
    TopicPartitionsLike,
)
from rafka.cluster.groups.consumer_metadata import TopicHashes, compile_regex, resolve_regexes
from rafka.cluster.groups.group import Group
from rafka.cluster.groups.reconciliation import reconcile
from rafka.cluster.groups.records import CoordinatorRecord
from rafka.cluster.groups.result import CoordinatorResult
from rafka.cluster.groups.timer import Timer
from rafka.cluster.metadata.image import MetadataImage
from rafka.protocol.messages import (
    ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse,
)
from rafka.storage.clock import Clock

__all__ = ["ConsumerConfig", "ConsumerEngine", "HeartbeatContext"]

log = logging.getLogger("rafka.groups")

R = ConsumerGroupHeartbeatResponse
Q = ConsumerGroupHeartbeatRequest
Result = CoordinatorResult[None]

REGEX_BATCH_REFRESH_MIN_INTERVAL_MS = 10_000

T = TypeVar("T")


@attrs.frozen
class ConsumerConfig:
    """``group.consumer.*`` broker configs (Kafka's names, in ms)."""

    session_timeout_ms: int = 45_000
    heartbeat_interval_ms: int = 5_000
    max_size: int = (1 << 31) - 1
    assignors: tuple[str, ...] = ("uniform", "range")
    migration_policy: str = "bidirectional"
    regex_refresh_interval_ms: int = 600_000

    @property
    def default_assignor(self) -> str:
        return self.assignors[0]


@attrs.frozen
class HeartbeatContext:
    """Who sent a ConsumerGroupHeartbeat and at which version."""

    client_id: str
    client_host: str
    api_version: int


def session_key(group_id: str, member_id: str) -> str:
    return f"session-timeout-{group_id}-{member_id}"


def rebalance_key(group_id: str, member_id: str) -> str:
    return f"rebalance-timeout-{group_id}-{member_id}"


def regex_key(group_id: str) -> str:
    return f"{group_id}-regex"


def join_key(group_id: str, member_id: str) -> str:
    """A classic member told to rejoin must do so within its rebalance timeout."""
    return f"consumer-join-{group_id}-{member_id}"


def sync_key(group_id: str, member_id: str) -> str:
    """A classic member that joined must sync within its rebalance timeout."""
    return f"consumer-sync-{group_id}-{member_id}"


def _is_subset(owned: list[Q.TopicPartitions] | None, assignment: Assignment) -> bool:
    if owned is None:
        return False
    for tp in owned:
        partitions = assignment.get(tp.topic_id)
        if partitions is None or any(p not in partitions for p in tp.partitions):
            return False
    return True


class ConsumerEngine:
    """What consumer group operations of one shard share (see the module docstring)."""

    def __init__(
        self,
        groups: MutableMapping[str, Group],
        timer: Timer[CoordinatorResult[None]],
        clock: Clock,
        config: ConsumerConfig,
        image: Callable[[], MetadataImage],
        new_uuid: Callable[[], str],
        apply: Callable[[CoordinatorRecord], None],
    ) -> None:
        self.groups = groups
        self.timer = timer
        self.clock = clock
        self.config = config
        self.image = image
        self.new_uuid = new_uuid
        self.apply = apply
        self.topic_hashes = TopicHashes()
        #: The metadata image offset at which topics were last seen created (regex refresh).
        self.last_image_with_new_topics = -1
        self._known_topic_ids: set[uuid.UUID] = set()
        self._image_offset_seen = -2

    # --------------------------------------------------------------------------- plumbing

    def consumer_group(self, group_id: str) -> ConsumerGroup:
        group = self.groups.get(group_id)
        if group is None:
            raise errors.GroupIdNotFoundError(f"Group {group_id} not found.")
        if not isinstance(group, ConsumerGroup):
            raise errors.GroupIdNotFoundError(f"Group {group_id} is not a consumer group.")
        return group

    def commit(
        self, group_id: str, records: list[CoordinatorRecord], response: T | None
    ) -> CoordinatorResult[T]:
        """Apply ``records`` now (Kafka applies them before they commit) and return the result
        that writes them; if the append fails the group is restored."""
        if not records:
            return CoordinatorResult(response=response)
        saved = self.groups.get(group_id)
        snapshot = saved.copy() if isinstance(saved, ConsumerGroup) else saved
        for record in records:
            self.apply(record)

        def rollback() -> None:
            if snapshot is None:
                self.groups.pop(group_id, None)
            else:
                self.groups[group_id] = snapshot

        return CoordinatorResult(records, response, replay=False, rollback=rollback)

    def _schedule(self, key: str, delay_ms: int, operation: Callable[[], Result]) -> None:
        self.timer.schedule(key, self.clock.monotonic_ms() + delay_ms, operation)

    def _note_image(self, image: MetadataImage) -> None:
        """Track when topics were created (a regex refresh is then due)."""
        if image.offset == self._image_offset_seen:
            return
        self._image_offset_seen = image.offset
        ids = set(image.topics_by_id)
        if self.last_image_with_new_topics == -1 or not ids <= self._known_topic_ids:
            self.last_image_with_new_topics = image.offset
        self._known_topic_ids = ids

    # ------------------------------------------------------------------------------ members

    def _check_size(self, group: ConsumerGroup, member_id: str) -> None:
        """GROUP_MAX_SIZE_REACHED when a new member would exceed group.consumer.max.size."""
        if len(group.members) >= self.config.max_size and (
            not member_id or member_id not in group.members
        ):
            raise errors.GroupMaxSizeReachedError(
                "The consumer group has reached its maximum capacity of "
                f"{self.config.max_size} members."
            )

    @staticmethod
    def _check_epoch(
        member: ConsumerGroupMember, received: int, owned: list[Q.TopicPartitions] | None
    ) -> None:
        if received > member.member_epoch:
            raise errors.FencedMemberEpochError(
                f"The consumer group member has a greater member epoch ({received}) than the "
                f"one known by the group coordinator ({member.member_epoch}). The member must "
                "abandon all its partitions and rejoin."
            )
        if received < member.member_epoch and (
            received != member.previous_member_epoch
            or not _is_subset(owned, member.assigned_partitions)
        ):
            raise errors.FencedMemberEpochError(
                f"The consumer group member has a smaller member epoch ({received}) than the "
                f"one known by the group coordinator ({member.member_epoch}). The member must "
                "abandon all its partitions and rejoin."
            )

    def _static_member(
        self,
        group: ConsumerGroup,
        member_id: str,
        instance_id: str,
        epoch: int,
        owned: list[Q.TopicPartitions] | None,
        create: bool,
        records: list[CoordinatorRecord],
        *,
        classic: bool = False,
    ) -> ConsumerGroupMember:
        """The static member ``instance_id`` names; joining (``create``) replaces a previous
        one, which must have left for now (epoch -2) unless either uses the classic protocol."""
        existing = group.static_member(instance_id)
        if create:
            if existing is None:
                return group.members.get(member_id) or ConsumerGroupMember(member_id)
            if (
                not classic
                and not existing.uses_classic_protocol
                and existing.member_epoch != LEAVE_GROUP_STATIC_MEMBER_EPOCH
            ):
                raise errors.UnreleasedInstanceIdError(
                    f"Static member {member_id} with instance id {instance_id} cannot join the "
                    f"group because the instance id is owned by {existing.member_id} member."
                )
            replacement = attrs.evolve(
                existing, member_id=member_id, member_epoch=0, previous_member_epoch=0
            )
            self._replace_member(records, group, existing, replacement)
            log.info(
                "[GroupId %s] Static member with instance id %s re-joins the consumer group; "
                "member %s replaces %s.",
                group.group_id,
                instance_id,
                member_id,
                existing.member_id,
            )
            return replacement
        if existing is None:
            raise errors.UnknownMemberIdError(f"Instance id {instance_id} is unknown.")
        if existing.member_id != member_id:
            raise errors.FencedInstanceIdError(
                f"Static member {member_id} with instance id {instance_id} was fenced by member "
                f"{existing.member_id}."
            )
        if not classic:
            self._check_epoch(existing, epoch, owned)
        return existing

    def _replace_member(
        self,
        records: list[CoordinatorRecord],
        group: ConsumerGroup,
        old: ConsumerGroupMember,
        new: ConsumerGroupMember,
    ) -> None:
        gid = group.group_id
        records += cr.member_removal(gid, old.member_id)
        records.append(cr.member_metadata_record(gid, new))
        records.append(
            cr.target_assignment_record(gid, new.member_id, group.target_of(old.member_id))
        )
        records.append(cr.current_assignment_record(gid, new))

    # ---------------------------------------------------------------------- subscriptions

    def _subscribed_after(
        self, group: ConsumerGroup, old: ConsumerGroupMember | None, new: ConsumerGroupMember | None
    ) -> tuple[Counter[str], Counter[str], Counter[str]]:
        """(by name, by regex, regex subscribers) once ``old`` is replaced by ``new``."""
        by_name, by_regex = Counter(group.topics_by_name), Counter(group.topics_by_regex)
        subscribers = Counter(group.regex_subscribers)
        for member, delta in ((old, -1), (new, 1)):
            if member is None:
                continue
            for topic in member.subscribed_topic_names:
                by_name[topic] += delta
            if member.regex is not None:
                subscribers[member.regex] += delta
        old_regex = None if old is None else old.regex
        new_regex = None if new is None else new.regex
        if (
            old_regex is not None
            and old_regex != new_regex
            and group.regex_subscribers.get(old_regex, 0) == 1
        ):
            resolved = group.resolved_regexes.get(old_regex)
            for topic in resolved.topics if resolved is not None else ():
                by_regex[topic] -= 1
        return +by_name, +by_regex, +subscribers

    def _update_subscription_metadata(
        self,
        group: ConsumerGroup,
        bump: bool,
        old: ConsumerGroupMember,
        new: ConsumerGroupMember,
        records: list[CoordinatorRecord],
        image: MetadataImage,
    ) -> tuple[int, SubscriptionType]:
        by_name, by_regex, subscribers = self._subscribed_after(group, old, new)
        topics = set(by_name) | set(by_regex)
        metadata_hash = self.topic_hashes.metadata_hash(topics, image)
        members = len(group.members)
        if new.member_id not in group.members and group.static_member(new.instance_id) is None:
            members += 1
        sub_type = subscription_type(subscribers, by_name, by_regex, members)
        epoch = group.group_epoch
        if bump or metadata_hash != group.metadata_hash:
            epoch += 1
            records.append(cr.group_epoch_record(group.group_id, epoch, metadata_hash))
            log.info("[GroupId %s] Bumped group epoch to %d.", group.group_id, epoch)
        group.metadata_checked_at = image.offset
        if group.has_subscription_metadata_record:
            records.append(cr.partition_metadata_tombstone(group.group_id))
        return epoch, sub_type

    def _maybe_update_regexes(
        self,
        group: ConsumerGroup,
        old: ConsumerGroupMember,
        new: ConsumerGroupMember,
        records: list[CoordinatorRecord],
        now: int,
        image: MetadataImage,
    ) -> bool:
        bump = require_refresh = False
        old_regex, new_regex = old.regex, new.regex
        if old.subscribed_topic_regex != new.subscribed_topic_regex:
            if old_regex is not None and group.regex_subscribers.get(old_regex, 0) == 1:
                records.append(cr.regex_tombstone(group.group_id, old_regex))
            if new_regex is not None:
                if group.regex_subscribers.get(new_regex, 0) == 0:
                    compile_regex(new_regex)
                    require_refresh = True
                else:
                    bump = new_regex in group.resolved_regexes
        if not require_refresh and not group.regex_subscribers:
            return bump
        key = regex_key(group.group_id)
        if key in self.timer:
            return bump
        last_refresh, last_version = group.last_regex_refresh()
        if now <= last_refresh + REGEX_BATCH_REFRESH_MIN_INTERVAL_MS:
            return bump
        subscribers = Counter(group.regex_subscribers)
        if old_regex is not None:
            subscribers[old_regex] -= 1
        if new_regex is not None:
            subscribers[new_regex] += 1
        subscribers = +subscribers
        require_refresh = (
            require_refresh
            or len(subscribers) != len(group.resolved_regexes)
            or last_version < self.last_image_with_new_topics
            or now > last_refresh + self.config.regex_refresh_interval_ms
        )
        if require_refresh and subscribers:
            regexes = frozenset(subscribers)
            group_id = group.group_id
            self._schedule(key, 0, lambda: self._refresh_regexes(group_id, regexes))
        return bump

    def _refresh_regexes(self, group_id: str, regexes: frozenset[str]) -> Result:
        """Resolve the group's regexes against the topics now (Kafka runs this on an
        executor and writes the outcome as a new operation)."""
        image = self.image()
        now = self.clock.time_ms()
        resolved = resolve_regexes(regexes, image.topics)
        group = self.groups.get(group_id)
        if not isinstance(group, ConsumerGroup):
            return Result()
        records: list[CoordinatorRecord] = []
        by_regex = Counter(group.topics_by_regex)
        bump = False
        for regex, topics in resolved.items():
            if group.regex_subscribers.get(regex, 0) == 0:
                continue
            previous = group.resolved_regexes.get(regex)
            before = previous.topics if previous is not None else frozenset()
            if before != topics:
                bump = True
                by_regex.subtract(before)
                by_regex.update(topics)
            records.append(cr.regex_record(group_id, regex, topics, image.offset, now))
        topics_now = set(+Counter(group.topics_by_name)) | set(+by_regex)
        metadata_hash = self.topic_hashes.metadata_hash(topics_now, image)
        if bump or metadata_hash != group.metadata_hash:
            epoch = group.group_epoch + 1
            records.append(cr.group_epoch_record(group_id, epoch, metadata_hash))
            group.metadata_checked_at = image.offset
        return self.commit(group_id, records, None)

    # ----------------------------------------------------------------------------- target

    def _member_spec(
        self,
        group: ConsumerGroup,
        member: ConsumerGroupMember,
        assignment: Assignment,
        image: MetadataImage,
    ) -> MemberSpec:
        names: Iterable[str] = member.subscribed_topic_names
        if member.regex is not None:
            resolved = group.resolved_regexes.get(member.regex)
            if resolved is not None:
                names = set(names) | resolved.topics
        ids = frozenset(image.topics[n].topic_id for n in names if n in image.topics)
        return MemberSpec(member.instance_id, member.rack_id, ids, assignment)

    def _update_target_assignment(
        self,
        group: ConsumerGroup,
        epoch: int,
        old: ConsumerGroupMember,
        new: ConsumerGroupMember,
        sub_type: SubscriptionType,
        records: list[CoordinatorRecord],
        image: MetadataImage,
    ) -> Assignment:
        counts = Counter(group.server_assignors)
        if old.server_assignor is not None:
            counts[old.server_assignor] -= 1
        if new.server_assignor is not None:
            counts[new.server_assignor] += 1
        best = max((+counts).items(), key=lambda kv: kv[1], default=None)
        name = best[0] if best is not None else self.config.default_assignor
        specs = {
            m.member_id: self._member_spec(group, m, group.target_of(m.member_id), image)
            for m in group.members.values()
        }
        previous_id = group.static_members.get(new.instance_id) if new.instance_id else None
        own = group.target_of(new.member_id)
        if previous_id is not None and previous_id != new.member_id:
            own = group.target_of(previous_id)
            specs.pop(previous_id, None)
        specs[new.member_id] = self._member_spec(group, new, own, image)
        partition_counts = {
            t.topic_id: len(t.partitions)
            for spec in specs.values()
            for t in (image.topics_by_id.get(i) for i in spec.subscribed_topic_ids)
            if t is not None
        }
        try:
            assignment = ASSIGNORS[name](GroupSpec(specs, sub_type, partition_counts))
        except AssignorError as exc:
            raise errors.UnknownServerError(
                f"Failed to compute a new target assignment for epoch {epoch}: {exc}"
            ) from None
        for member_id in specs:
            new_target = assignment.get(member_id, EMPTY)
            if (
                member_id not in group.target_assignment
                or group.target_assignment[member_id] != new_target
            ):
                records.append(cr.target_assignment_record(group.group_id, member_id, new_target))
        records.append(cr.assignment_epoch_record(group.group_id, epoch))
        log.info(
            "[GroupId %s] Computed a new target assignment for epoch %d with '%s' assignor.",
            group.group_id,
            epoch,
            name,
        )
        return assignment.get(new.member_id, EMPTY)

    def _maybe_reconcile(
        self,
        group: ConsumerGroup,
        member: ConsumerGroupMember,
        target_epoch: int,
        target: Assignment,
        owned: Iterable[TopicPartitionsLike] | None,
        records: list[CoordinatorRecord],
    ) -> ConsumerGroupMember:
        if member.is_reconciled_to(target_epoch):
            return member
        updated = reconcile(member, target_epoch, target, group.current_partition_epoch, owned)
        if updated != member:
            records.append(cr.current_assignment_record(group.group_id, updated))
            if not updated.uses_classic_protocol:
                if updated.state is MemberState.UNREVOKED_PARTITIONS:
                    self._schedule_rebalance(group.group_id, updated)
                else:
                    self.timer.cancel(rebalance_key(group.group_id, updated.member_id))
        return updated

    # ------------------------------------------------------------------------ leave, fence

    def fence(
        self, group: ConsumerGroup, members: list[ConsumerGroupMember], response: T | None
    ) -> CoordinatorResult[T]:
        """Remove ``members`` and bump the group epoch (the others rebalance)."""
        if not members:
            return CoordinatorResult(response=response)
        downgraded = self._maybe_downgrade(group, members, response)
        if downgraded is not None:
            return downgraded
        gid = group.group_id
        records: list[CoordinatorRecord] = []
        for member in members:
            records += cr.member_removal(gid, member.member_id)
        leaving = Counter(m.regex for m in members if m.regex is not None)
        deleted = set()
        for regex, count in leaving.items():
            if group.regex_subscribers.get(regex, 0) == count:
                records.append(cr.regex_tombstone(gid, regex))
                deleted.add(regex)
        by_name = Counter(group.topics_by_name)
        for member in members:
            by_name.subtract(member.subscribed_topic_names)
        by_regex = Counter(group.topics_by_regex)
        for regex in deleted:
            by_regex.subtract(
                group.resolved_regexes[regex].topics if regex in group.resolved_regexes else ()
            )
        metadata_hash = self.topic_hashes.metadata_hash(
            set(+by_name) | set(+by_regex), self.image()
        )
        epoch = group.group_epoch + 1
        records.append(cr.group_epoch_record(gid, epoch, metadata_hash))
        log.info("[GroupId %s] Bumped group epoch to %d.", gid, epoch)
        for member in members:
            self.cancel_timers(gid, member.member_id)
        return self.commit(gid, records, response)

    def _maybe_downgrade(
        self, group: ConsumerGroup, leaving: list[ConsumerGroupMember], response: T | None
    ) -> CoordinatorResult[T] | None:
        """The result that turns the group into a classic group once only classic members
        remain, if the migration policy allows (see ``ClassicMembers``); None: no."""
        return None

    def cancel_timers(self, group_id: str, member_id: str) -> None:
        for key in (session_key, rebalance_key, join_key, sync_key):
            self.timer.cancel(key(group_id, member_id))

    def _fence_operation(self, group_id: str, member_id: str, reason: str) -> Result:
        group = self.groups.get(group_id)
        if not isinstance(group, ConsumerGroup):
            return Result()
        member = group.members.get(member_id)
        if member is None:
            return Result()
        log.info(
            "[GroupId %s] Member %s fenced from the group because %s.", group_id, member_id, reason
        )
        return self.fence(group, [member], None)

    def _schedule_session(self, group_id: str, member_id: str, timeout_ms: int) -> None:
        self._schedule(
            session_key(group_id, member_id),
            timeout_ms,
            lambda: self._fence_operation(group_id, member_id, "the member session expired"),
        )

    def _schedule_rebalance(self, group_id: str, member: ConsumerGroupMember) -> None:
        member_id, epoch, timeout = (
            member.member_id,
            member.member_epoch,
            member.rebalance_timeout_ms,
        )

        def expire() -> Result:
            group = self.groups.get(group_id)
            if not isinstance(group, ConsumerGroup):
                return Result()
            current = group.members.get(member_id)
            if current is None or current.member_epoch != epoch:
                return Result()
            return self._fence_operation(
                group_id,
                member_id,
                f"it failed to transition from epoch {epoch} within {timeout}ms",
            )

        self._schedule(rebalance_key(group_id, member_id), timeout, expire)

    # ------------------------------------------------------------------------ load, unload

    def on_loaded(self) -> None:
        for group in list(self.groups.values()):
            if not isinstance(group, ConsumerGroup):
                continue
            log.info(
                "Loaded consumer group %s with %d members.", group.group_id, len(group.members)
            )
            for member in group.members.values():
                self._schedule_session(
                    group.group_id, member.member_id, self.config.session_timeout_ms
                )
                if member.state is MemberState.UNREVOKED_PARTITIONS:
                    self._schedule_rebalance(group.group_id, member)

    def on_unloaded(self) -> None:
        for group in self.groups.values():
            if isinstance(group, ConsumerGroup):
                group.dead = True

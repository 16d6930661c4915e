"""A cluster's state as plain Python objects, for tests and debugging.

Every function here reads the state of a :class:`~rafka.cluster.core.ClusterCore` as it is at
the moment of the call, on the cluster's event loop, without a request and without changing
anything. Answers are frozen ``attrs`` classes holding only plain values:

- :class:`PartitionState`: a partition's leader, epochs, replicas, ISR, offsets (log start,
  high watermark, last stable offset, log end; each replica's log end) and producer states;
- :class:`TopicState`: a topic's id, configs and partitions;
- :class:`GroupState`: a group's type, state, protocol, generation (or epochs), members with
  their assignments, and committed offsets, as its coordinator holds them;
- :class:`StoredRecord`: a record read back from a partition's log, decoded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs

from rafka import errors
from rafka.cluster.groups.classic_group import CONSUMER_PROTOCOL_TYPE, ClassicGroup
from rafka.cluster.groups.topic import OFFSETS_TOPIC, partition_for
from rafka.cluster.metadata.image import TOPIC_RESOURCE
from rafka.protocol.messages import ConsumerProtocolAssignment
from rafka.protocol.records.reader import read_batches

if TYPE_CHECKING:
    from rafka.cluster.core import ClusterCore
    from rafka.cluster.groups.shard import GroupShard
    from rafka.cluster.partition import Partition

__all__ = [
    "CommittedOffset",
    "GroupMember",
    "GroupState",
    "PartitionState",
    "ProducerState",
    "StoredRecord",
    "TopicState",
    "describe_group",
    "describe_partition",
    "describe_topic",
    "list_groups",
    "list_topics",
    "read_topic",
]

_READ_CHUNK = 1 << 20


@attrs.frozen
class ProducerState:
    """What a partition remembers of one idempotent or transactional producer."""

    producer_id: int
    producer_epoch: int
    #: Sequence of the last record of its newest batch (-1 when none is remembered).
    last_sequence: int
    #: Offset of the last record of its newest batch (-1 when none is remembered).
    last_offset: int
    last_timestamp: int
    coordinator_epoch: int
    #: First offset of its open transaction, None when none is open.
    current_txn_first_offset: int | None


@attrs.frozen
class PartitionState:
    """One partition: its metadata and, from its leader's log, its offsets."""

    topic: str
    partition: int
    topic_id: uuid.UUID
    leader: int
    leader_epoch: int
    partition_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    log_start_offset: int
    high_watermark: int
    last_stable_offset: int
    log_end_offset: int
    #: Log end offset of each replica's log (by node id), leader included.
    replica_log_end_offsets: dict[int, int]
    producers: tuple[ProducerState, ...]


@attrs.frozen
class TopicState:
    name: str
    topic_id: uuid.UUID
    internal: bool
    #: The topic's own configs (overrides), by Kafka's names.
    configs: dict[str, str]
    partitions: tuple[PartitionState, ...]


@attrs.frozen
class CommittedOffset:
    offset: int
    leader_epoch: int
    metadata: str
    commit_timestamp: int


@attrs.frozen
class GroupMember:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    #: The partitions assigned to the member (decoded for consumer-protocol groups).
    assignment: frozenset[tuple[str, int]]
    #: The member's epoch (consumer groups); the group generation for classic groups.
    member_epoch: int


@attrs.frozen
class GroupState:
    """A group as its coordinator holds it."""

    group_id: str
    #: "classic" or "consumer" (KIP-848).
    type: str
    #: Kafka's name of the state: Empty, PreparingRebalance, CompletingRebalance, Stable,
    #: Dead (classic); Empty, Assigning, Reconciling, Stable, Dead (consumer).
    state: str
    #: Classic: the protocol type the members use ("consumer", "connect", ...; None for a
    #: group that only holds offsets). Consumer groups: "consumer".
    protocol_type: str | None
    #: Classic: the chosen protocol (the assignor, e.g. "range"). Consumer: the server assignor.
    protocol: str | None
    #: Classic: the generation id. Consumer groups: the group epoch.
    generation: int
    #: Consumer groups: the target assignment epoch (None for classic groups).
    assignment_epoch: int | None
    #: Classic: the leader's member id.
    leader: str | None
    members: tuple[GroupMember, ...]
    offsets: dict[tuple[str, int], CommittedOffset]
    #: The node id of the group's coordinator.
    coordinator: int

    def member(self, member_id: str) -> GroupMember:
        for member in self.members:
            if member.member_id == member_id:
                return member
        raise KeyError(member_id)


@attrs.frozen
class StoredRecord:
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


# --------------------------------------------------------------------------------- topics


def list_topics(core: ClusterCore, *, include_internal: bool = False) -> list[str]:
    """Names of the cluster's topics, sorted."""
    topics = core.controller.image.topics.values()
    return sorted(t.name for t in topics if include_internal or not t.is_internal)


def describe_topic(core: ClusterCore, name: str) -> TopicState | None:
    """The topic, or None when there is no such topic."""
    topic = core.controller.image.topics.get(name)
    if topic is None:
        return None
    return TopicState(
        topic.name,
        topic.topic_id,
        topic.is_internal,
        dict(core.controller.image.configs.get((TOPIC_RESOURCE, name), {})),
        tuple(describe_partition(core, name, index) for index in sorted(topic.partitions)),
    )


def describe_partition(core: ClusterCore, topic: str, partition: int) -> PartitionState:
    """The partition; UnknownTopicOrPartitionError when it does not exist."""
    image = core.controller.image
    topic_image = image.topics.get(topic)
    part = None if topic_image is None else topic_image.partitions.get(partition)
    if topic_image is None or part is None:
        raise errors.UnknownTopicOrPartitionError(f"no partition {topic}-{partition}")
    replicas = dict(_replicas(core, topic, partition, topic_image.topic_id))
    source = replicas.get(part.leader) or next(iter(replicas.values()), None)
    if source is None:
        offsets = (-1, -1, -1, -1)
        producers: tuple[ProducerState, ...] = ()
    else:
        log = source.log
        offsets = (
            log.log_start_offset,
            log.high_watermark,
            log.last_stable_offset,
            log.log_end_offset,
        )
        producers = tuple(
            ProducerState(
                e.producer_id,
                e.producer_epoch,
                e.last_seq,
                e.last_data_offset,
                e.last_timestamp,
                e.coordinator_epoch,
                e.current_txn_first_offset,
            )
            for _, e in sorted(log.producer_state.producers.items())
        )
    return PartitionState(
        topic,
        partition,
        topic_image.topic_id,
        part.leader,
        part.leader_epoch,
        part.partition_epoch,
        tuple(part.replicas),
        tuple(part.isr),
        *offsets,
        replica_log_end_offsets={n: p.log.log_end_offset for n, p in replicas.items()},
        producers=producers,
    )


def _replicas(
    core: ClusterCore, topic: str, partition: int, topic_id: uuid.UUID
) -> Iterator[tuple[int, Partition]]:
    for node_id, broker in sorted(core.brokers.items()):
        hosted = broker.replica_manager.partitions.get((topic, partition))
        if hosted is not None and hosted.topic_id == topic_id and not hosted.offline:
            yield node_id, hosted


def read_topic(core: ClusterCore, name: str, partition: int | None = None) -> list[StoredRecord]:
    """Every record a consumer could read (from the log start to the high watermark; control
    records left out), of one partition or of all, by partition then offset."""
    topic = core.controller.image.topics.get(name)
    if topic is None or (partition is not None and partition not in topic.partitions):
        raise errors.UnknownTopicOrPartitionError(f"no topic-partition {name}-{partition}")
    out: list[StoredRecord] = []
    for index in sorted(topic.partitions) if partition is None else [partition]:
        replicas = dict(_replicas(core, name, index, topic.topic_id))
        leader = replicas.get(topic.partitions[index].leader)
        if leader is not None:
            out += _read_partition(leader)
    return out


def _read_partition(partition: Partition) -> list[StoredRecord]:
    log = partition.log
    start, end = log.log_start_offset, log.high_watermark
    out: list[StoredRecord] = []
    offset = start
    while offset < end:
        data = log.read(offset, _READ_CHUNK, max_offset=end, min_one_message=True)
        if not data.size:
            break
        for batch in read_batches(data.records):
            offset = batch.next_offset
            if batch.is_control:
                continue
            for r in batch.records():
                if start <= r.offset < end:
                    out.append(
                        StoredRecord(
                            partition.topic,
                            partition.index,
                            r.offset,
                            r.timestamp,
                            r.key,
                            r.value,
                            tuple(r.headers),
                        )
                    )
    return out


# --------------------------------------------------------------------------------- groups


def _shards(core: ClusterCore) -> Iterator[tuple[int, GroupShard]]:
    for node_id, broker in sorted(core.brokers.items()):
        for _, slot in sorted(broker.group_coordinator.slots.items()):
            if slot.shard is not None and not slot.unloaded:
                yield node_id, slot.shard


def list_groups(core: ClusterCore) -> list[str]:
    """Ids of every group a coordinator holds, sorted."""
    return sorted({group_id for _, shard in _shards(core) for group_id in shard.groups})


def _shard_of(core: ClusterCore, group_id: str) -> tuple[int, GroupShard] | None:
    topic = core.controller.image.topics.get(OFFSETS_TOPIC)
    if topic is None or not topic.partitions:
        return None
    index = partition_for(group_id, len(topic.partitions))
    leader = topic.partitions[index].leader
    broker = core.brokers.get(leader)
    slot = None if broker is None else broker.group_coordinator.slots.get(index)
    if slot is None or slot.shard is None or slot.unloaded:
        return None
    return leader, slot.shard


def describe_group(core: ClusterCore, group_id: str) -> GroupState | None:
    """The group as its coordinator holds it, or None when there is no such group (or its
    coordinator is still loading)."""
    found = _shard_of(core, group_id)
    if found is None:
        return None
    coordinator, shard = found
    group = shard.groups.get(group_id)
    if group is None:
        return None
    offsets = {
        (topic, index): CommittedOffset(o.offset, o.leader_epoch, o.metadata, o.commit_timestamp)
        for topic, partitions in sorted(shard.offsets.offsets.get(group_id, {}).items())
        for index, o in sorted(partitions.items())
    }
    if isinstance(group, ClassicGroup):
        return _classic(group, offsets, coordinator)
    return _consumer(core, shard, group, offsets, coordinator)


def _classic(
    group: ClassicGroup, offsets: dict[tuple[str, int], CommittedOffset], coordinator: int
) -> GroupState:
    consumer = group.protocol_type == CONSUMER_PROTOCOL_TYPE
    members = tuple(
        GroupMember(
            m.member_id,
            m.group_instance_id,
            m.client_id,
            m.client_host,
            _decode_assignment(m.assignment) if consumer else frozenset(),
            group.generation_id,
        )
        for m in group.members.values()
    )
    return GroupState(
        group.group_id,
        "classic",
        group.state_name,
        group.protocol_type,
        group.protocol_name,
        group.generation_id,
        None,
        group.leader_id,
        members,
        offsets,
        coordinator,
    )


def _consumer(
    core: ClusterCore,
    shard: GroupShard,
    group: Any,
    offsets: dict[tuple[str, int], CommittedOffset],
    coordinator: int,
) -> GroupState:
    """A KIP-848 consumer group (read by attribute, as ``ConsumerGroup`` defines them)."""
    topics = core.controller.image.topics_by_id
    members = []
    for m in group.members.values():
        assigned = frozenset(
            (topics[topic_id].name, p)
            for topic_id, partitions in m.assigned_partitions.items()
            if topic_id in topics
            for p in partitions
        )
        members.append(
            GroupMember(
                m.member_id, m.instance_id, m.client_id, m.client_host, assigned, m.member_epoch
            )
        )
    assignors = getattr(getattr(shard.config, "consumer", None), "assignors", ())
    assignor = group.preferred_server_assignor() or (assignors[0] if assignors else None)
    return GroupState(
        group.group_id,
        str(group.group_type.value),
        group.state_name,
        "consumer",
        assignor,
        group.group_epoch,
        group.assignment_epoch,
        None,
        tuple(members),
        offsets,
        coordinator,
    )


def _decode_assignment(data: bytes) -> frozenset[tuple[str, int]]:
    """A classic consumer member's assignment (ConsumerProtocolAssignment, version-prefixed);
    empty when it does not decode."""
    if len(data) < 2:
        return frozenset()
    version = min(max(int.from_bytes(data[:2], "big", signed=True), 0), 3)
    try:
        decoded = ConsumerProtocolAssignment.decode(data[2:], version)
    except errors.DecodeError:
        return frozenset()
    return frozenset((tp.topic, p) for tp in decoded.assigned_partitions for p in tp.partitions)


def in_state(group: GroupState | None, state: str) -> bool:
    """Whether ``group`` is in ``state`` (case-insensitive; a missing group is "Dead")."""
    current = "dead" if group is None else group.state.lower()
    return current == state.lower()


def not_in_state(group_id: str, group: GroupState | None, state: str, timeout: float) -> str:
    current = "absent" if group is None else group.state
    return f"group {group_id!r} did not reach state {state} within {timeout} s (it is {current})"

"""Snapshots of an in-memory cluster: capture its data, put it back in milliseconds.

:func:`take_snapshot` captures what a test can observe of a cluster's data:

- the topics of the metadata image: names, ids, partitions, replicas, leaders, ISRs, epochs;
- every topic and broker config (dynamic configs, as the controller stores them);
- every replica's log (:meth:`~rafka.storage.memory_log.MemoryLog.snapshot`: segments,
  offsets, leader epochs, producer state). Groups and committed offsets live in the
  ``__consumer_offsets`` logs, so they come along.

:func:`restore_snapshot` puts that back in place, the way a Kafka cluster could have got there,
so that connected clients recover on their own:

1. one metadata commit: topics created since are removed; topics deleted since (or whose
   partitions changed) come back with their ids and configs; configs and replica sets are
   put back;
2. every replica's log is restored in place; a log that did not change is left alone;
3. one metadata commit: every partition whose data, leader or ISR changed gets the
   snapshot's leader (when alive) at a new leader epoch, above every epoch it had. Clients
   holding the old epoch are answered FENCED_LEADER_EPOCH, refresh their metadata and
   validate their positions (a consumer past the restored end is reset, as after an unclean
   leader election); the group coordinators reload the ``__consumer_offsets`` partitions that
   changed (or hold a rebalance under way), as on any leadership change, and their groups come
   back as a new coordinator would load them (members must heartbeat within their session,
   or rejoin).

Not restored: broker registrations and fencing (a broker stopped since stays stopped), the
producer id counter (ids are never reused), features, the clock, fetch sessions. Disk clusters
(``data_dir``) cannot be snapshotted.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import attrs

from rafka.cluster.groups.classic_group import ClassicGroup, ClassicGroupState
from rafka.cluster.groups.topic import OFFSETS_TOPIC
from rafka.cluster.metadata.image import TOPIC_RESOURCE, ConfigResource, MetadataImage
from rafka.protocol._message import Message
from rafka.protocol.schemas.metadata import (
    ConfigRecord,
    PartitionChangeRecord,
    PartitionRecord,
    RemoveTopicRecord,
    TopicRecord,
)
from rafka.storage.memory_log import MemoryLog, MemoryLogSnapshot

if TYPE_CHECKING:
    from rafka.cluster.core import ClusterCore

__all__ = [
    "ClusterSnapshot",
    "PartitionSpec",
    "TopicSpecSnapshot",
    "restore_snapshot",
    "take_snapshot",
]

TopicPartition = tuple[str, int]
NO_LEADER = -1


@attrs.frozen
class PartitionSpec:
    """A partition as the metadata image had it."""

    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    leader: int
    leader_epoch: int
    partition_epoch: int


@attrs.frozen
class TopicSpecSnapshot:
    """A topic as the metadata image had it."""

    name: str
    topic_id: uuid.UUID
    partitions: dict[int, PartitionSpec]


@attrs.frozen(eq=False)
class ClusterSnapshot:
    """What :func:`take_snapshot` captured; restore it with :func:`restore_snapshot` (as many
    times as wanted)."""

    cluster_id: str
    topics: dict[str, TopicSpecSnapshot]
    configs: dict[ConfigResource, dict[str, str]]
    #: node id -> (topic, partition) -> (topic id, log snapshot)
    logs: dict[int, dict[TopicPartition, tuple[uuid.UUID, MemoryLogSnapshot]]]

    def __repr__(self) -> str:
        partitions = sum(len(t.partitions) for t in self.topics.values())
        return f"<ClusterSnapshot {len(self.topics)} topics, {partitions} partitions>"


@attrs.frozen
class RestoreResult:
    """What a restore changed: the partitions given a new leader epoch."""

    changed: frozenset[TopicPartition]
    topics_removed: tuple[str, ...]
    topics_recreated: tuple[str, ...]


def take_snapshot(core: ClusterCore) -> ClusterSnapshot:
    """Capture ``core``'s topics, configs and logs (see the module docstring)."""
    if core.data_dir is not None:
        raise ValueError("snapshots need an in-memory cluster (this one has a data_dir)")
    image = core.controller.image
    topics = {
        name: TopicSpecSnapshot(
            name,
            topic.topic_id,
            {
                index: PartitionSpec(
                    tuple(p.replicas), tuple(p.isr), p.leader, p.leader_epoch, p.partition_epoch
                )
                for index, p in topic.partitions.items()
            },
        )
        for name, topic in image.topics.items()
    }
    configs = {resource: dict(values) for resource, values in image.configs.items() if values}
    logs: dict[int, dict[TopicPartition, tuple[uuid.UUID, MemoryLogSnapshot]]] = {}
    for node_id, broker in core.brokers.items():
        captured = logs[node_id] = {}
        for tp, partition in broker.replica_manager.partitions.items():
            log = partition.log
            if not isinstance(log, MemoryLog):
                raise ValueError(f"snapshots need in-memory logs ({tp} is {type(log).__name__})")
            captured[tp] = (partition.topic_id, log.snapshot())
    return ClusterSnapshot(core.cluster_id, topics, configs, logs)


def restore_snapshot(core: ClusterCore, snapshot: ClusterSnapshot) -> RestoreResult:
    """Put ``snapshot`` back into ``core`` (see the module docstring). Never awaits."""
    if snapshot.cluster_id != core.cluster_id:
        raise ValueError("this snapshot was taken of another cluster")
    controller = core.controller
    image = controller.image
    removed, recreated, records = _structure_changes(image, snapshot)
    controller.commit(records)

    changed: set[TopicPartition] = {
        (name, i) for name in recreated for i in snapshot.topics[name].partitions
    }
    for node_id, logs in snapshot.logs.items():
        broker = core.brokers.get(node_id)
        if broker is None:
            continue
        for tp, (topic_id, log_snapshot) in logs.items():
            partition = broker.replica_manager.partitions.get(tp)
            if partition is None or partition.topic_id != topic_id:
                continue
            log = partition.log
            assert isinstance(log, MemoryLog)
            if log.restore(log_snapshot):
                changed.add(tp)

    records = []
    live = {b.node_id for b in image.live_brokers()}
    for name, spec in snapshot.topics.items():
        topic = image.topics[name]
        for index, wanted in spec.partitions.items():
            current = topic.partitions[index]
            leader, isr = _target_leadership(wanted, live)
            tp = (name, index)
            if (
                tp in changed
                or (leader, isr) != (current.leader, current.isr)
                or (name == OFFSETS_TOPIC and _coordinator_in_flux(core, current.leader, index))
            ):
                changed.add(tp)
                records.append(PartitionChangeRecord(index, topic.topic_id, isr=isr, leader=leader))
    controller.commit(records)
    return RestoreResult(frozenset(changed), tuple(removed), tuple(recreated))


def _structure_changes(
    image: MetadataImage, snapshot: ClusterSnapshot
) -> tuple[list[str], list[str], list[Message]]:
    """Phase 1: topics removed and re-created, configs and replica sets put back."""
    records: list[Message] = []
    removed: list[str] = []
    recreated: list[str] = []
    for name, topic in image.topics.items():
        wanted = snapshot.topics.get(name)
        if (
            wanted is None
            or wanted.topic_id != topic.topic_id
            or wanted.partitions.keys() != topic.partitions.keys()
        ):
            records.append(RemoveTopicRecord(topic.topic_id))
            if wanted is None:
                removed.append(name)
    live = {b.node_id for b in image.live_brokers()}
    for name, wanted in snapshot.topics.items():
        existing = image.topics.get(name)
        if (
            existing is not None
            and existing.topic_id == wanted.topic_id
            and wanted.partitions.keys() == existing.partitions.keys()
        ):
            for index, spec in wanted.partitions.items():
                if list(spec.replicas) != existing.partitions[index].replicas:
                    leader, isr = _target_leadership(spec, live)
                    records.append(
                        PartitionChangeRecord(
                            index,
                            existing.topic_id,
                            replicas=list(spec.replicas),
                            isr=isr,
                            leader=leader,
                        )
                    )
            continue
        recreated.append(name)
        records.append(TopicRecord(name, wanted.topic_id))
        for key, value in snapshot.configs.get((TOPIC_RESOURCE, name), {}).items():
            records.append(ConfigRecord(TOPIC_RESOURCE, name, key, value))
        for index, spec in sorted(wanted.partitions.items()):
            leader, isr = _target_leadership(spec, live)
            records.append(
                PartitionRecord(
                    partition_id=index,
                    topic_id=wanted.topic_id,
                    replicas=list(spec.replicas),
                    isr=isr,
                    leader=leader,
                    leader_epoch=spec.leader_epoch,
                    partition_epoch=spec.partition_epoch,
                )
            )
    records += _config_changes(image, snapshot, set(recreated))
    return removed, recreated, records


def _config_changes(
    image: MetadataImage, snapshot: ClusterSnapshot, recreated: set[str]
) -> list[Message]:
    records: list[Message] = []
    for resource in image.configs.keys() | snapshot.configs.keys():
        rtype, rname = resource
        if rtype == TOPIC_RESOURCE and (rname in recreated or rname not in snapshot.topics):
            continue  # re-created with its configs above, or removed with its topic
        current = image.configs.get(resource, {})
        wanted = snapshot.configs.get(resource, {})
        for key in current.keys() | wanted.keys():
            if current.get(key) != wanted.get(key):
                records.append(ConfigRecord(rtype, rname, key, wanted.get(key)))
    return records


def _target_leadership(spec: PartitionSpec, live: set[int]) -> tuple[int, list[int]]:
    """The snapshot's leader and ISR among live brokers (another in-sync replica leads when
    the snapshot's leader is not alive)."""
    isr = [r for r in spec.isr if r in live]
    if spec.leader in live and spec.leader in spec.replicas:
        leader = spec.leader
    else:
        leader = isr[0] if isr else next((r for r in spec.replicas if r in live), NO_LEADER)
    if leader != NO_LEADER and leader not in isr:
        isr.insert(0, leader)
    return leader, isr or list(spec.isr[:1])


def _coordinator_in_flux(core: ClusterCore, leader: int, index: int) -> bool:
    """Whether the coordinator of an offsets partition holds state its log does not (still
    loading, writes not yet committed, a classic rebalance under way): a restore must then
    reload it even when the log did not change."""
    broker = core.brokers.get(leader)
    slot = None if broker is None else broker.group_coordinator.slots.get(index)
    if slot is None:
        return False
    if slot.shard is None or slot.pending:
        return True
    return any(
        isinstance(group, ClassicGroup)
        and group.is_in(
            ClassicGroupState.PREPARING_REBALANCE, ClassicGroupState.COMPLETING_REBALANCE
        )
        for group in slot.shard.groups.values()
    )


def groups_loaded(core: ClusterCore) -> bool:
    """Whether every group coordinator has loaded the offsets partitions it leads."""
    return all(
        slot.shard is not None or slot.unloaded
        for broker in core.brokers.values()
        for slot in broker.group_coordinator.slots.values()
    )

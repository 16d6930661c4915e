"""The metadata authority: one in-process controller that validates administrative operations
and turns them into KRaft metadata records.

Every change goes through :meth:`Controller.commit`: the records are appended to the metadata
log (memory or ``__cluster_metadata-0`` on disk), applied to the image, and announced to the
brokers. Operations are plain methods that never await: they decide, then commit. A replicated
controller quorum can later replace this class behind the same methods.

Errors are returned per item (as Kafka's responses carry them), as typed ``KafkaError``
instances; nothing is committed for an item that fails.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable, Mapping, Sequence

import attrs

from rafka import errors
from rafka.cluster.config import TOPIC_CONFIG_KEYS, BrokerConfig
from rafka.cluster.configs import apply_incremental_ops, broker_config_key
from rafka.cluster.metadata.apply import apply_record
from rafka.cluster.metadata.image import (
    BROKER_RESOURCE,
    TOPIC_RESOURCE,
    MetadataImage,
    PartitionImage,
)
from rafka.cluster.metadata.log import MetadataLog
from rafka.protocol._message import Message
from rafka.protocol.schemas.metadata import (
    ConfigRecord,
    FenceBrokerRecord,
    PartitionChangeRecord,
    PartitionRecord,
    ProducerIdsRecord,
    RegisterBrokerRecord,
    RemoveTopicRecord,
    TopicRecord,
    UnfenceBrokerRecord,
)
from rafka.storage.log_config import LogConfig, LogConfigError

__all__ = ["Controller", "TopicResult", "TopicSpec"]

_LEGAL_TOPIC = re.compile(r"^[a-zA-Z0-9._-]+$")
MAX_TOPIC_NAME = 249
NO_LEADER = -1
_PRODUCER_ID_BLOCK = 1000

Listener = Callable[[MetadataImage, Sequence[Message]], None]


@attrs.define
class TopicSpec:
    """A topic to create: counts of -1 take the broker defaults."""

    name: str
    num_partitions: int = -1
    replication_factor: int = -1
    assignments: dict[int, list[int]] | None = None
    configs: dict[str, str | None] = attrs.Factory(dict)


@attrs.define
class TopicResult:
    name: str
    topic_id: uuid.UUID = attrs.field(factory=lambda: uuid.UUID(int=0))
    error: errors.KafkaError | None = None
    num_partitions: int = -1
    replication_factor: int = -1
    configs: dict[str, str] = attrs.Factory(dict)


def validate_topic_name(name: str) -> None:
    """INVALID_TOPIC_EXCEPTION for a name Kafka refuses (see :func:`check_topic_name`)."""
    check_topic_name(name)


class Controller:
    """Owns the metadata image and every change to it."""

    def __init__(
        self,
        cluster_id: str,
        node_id: int,
        config: BrokerConfig,
        log: MetadataLog,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.log = log
        self.image = MetadataImage(cluster_id, node_id)
        self._rng = rng or random.Random(0)
        self._listeners: list[Listener] = []
        for record in log.replay():
            apply_record(self.image, record)
        self.image.offset = log.end_offset - 1
        if log.end_offset == 0:
            self._bootstrap()

    def _bootstrap(self) -> None:
        """What formatting storage writes into a new Kafka 4.1 cluster's metadata: a
        cluster-wide dynamic ``min.insync.replicas`` (for ELR, KIP-966), from the properties."""
        value = str(self.config.get("min.insync.replicas"))
        self.commit([ConfigRecord(BROKER_RESOURCE, "", "min.insync.replicas", value)])

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(image, records)`` after every committed change."""
        self._listeners.append(listener)

    def commit(self, records: Sequence[Message]) -> None:
        if not records:
            return
        self.log.append(records)
        for record in records:
            apply_record(self.image, record)
        self.image.offset = self.log.end_offset - 1
        for listener in list(self._listeners):
            listener(self.image, records)

    # ------------------------------------------------------------------------------- brokers

    def register_broker(self, node_id: int, host: str, port: int, rack: str | None) -> int:
        """Register (or re-register) a broker and unfence it; returns its epoch."""
        epoch = self.image.offset + 1
        record = RegisterBrokerRecord(
            broker_id=node_id,
            incarnation_id=uuid.UUID(int=self._rng.getrandbits(128)),
            broker_epoch=epoch,
            end_points=[RegisterBrokerRecord.BrokerEndpoint("PLAINTEXT", host, port, 0)],
            rack=rack,
            fenced=True,
        )
        self.commit([record])
        self.unfence_broker(node_id)
        return epoch

    def fence_broker(self, node_id: int) -> None:
        """Take a broker out of service: it leaves every ISR and loses its leaderships."""
        broker = self.image.brokers.get(node_id)
        if broker is None or broker.fenced:
            return
        records: list[Message] = [FenceBrokerRecord(node_id, broker.epoch)]
        for topic in self.image.topics.values():
            for part in topic.partitions.values():
                if node_id in part.isr or part.leader == node_id:
                    records.append(self._without_replica(topic.topic_id, part, node_id))
        self.commit(records)

    def unfence_broker(self, node_id: int) -> None:
        """Bring a broker back: leaderless partitions whose ISR holds it elect it."""
        broker = self.image.brokers.get(node_id)
        if broker is None:
            return
        records: list[Message] = []
        if broker.fenced:
            records.append(UnfenceBrokerRecord(node_id, broker.epoch))
        for topic in self.image.topics.values():
            for part in topic.partitions.values():
                if part.leader == NO_LEADER and node_id in part.isr:
                    records.append(
                        PartitionChangeRecord(part.partition, topic.topic_id, leader=node_id)
                    )
        self.commit(records)

    def _without_replica(
        self, topic_id: uuid.UUID, part: PartitionImage, node_id: int
    ) -> PartitionChangeRecord:
        isr = [r for r in part.isr if r != node_id]
        live = {b.node_id for b in self.image.live_brokers()} - {node_id}
        leader = part.leader
        if leader == node_id or leader not in live:
            candidates = [r for r in part.replicas if r in isr and r in live]
            leader = candidates[0] if candidates else NO_LEADER
        if not isr:
            isr = [node_id]  # KRaft keeps the last ISR member so it can lead again
        change = PartitionChangeRecord(part.partition, topic_id, isr=isr)
        if leader != part.leader:  # the leader epoch moves only when the leader does
            change.leader = leader
        return change

    def alter_partition_isr(
        self, topic_id: uuid.UUID, partition: int, leader_epoch: int, isr: list[int]
    ) -> PartitionImage:
        """A leader reports a changed ISR (Kafka's AlterPartition)."""
        topic = self.image.topics_by_id.get(topic_id)
        if topic is None or partition not in topic.partitions:
            raise errors.UnknownTopicOrPartitionError()
        part = topic.partitions[partition]
        if leader_epoch != part.leader_epoch:
            raise errors.FencedLeaderEpochError()
        # A fenced broker (stopped, or shutting down) may not join an ISR (Kafka's KIP-841).
        isr = [r for r in isr if r in part.isr or not self._is_fenced(r)]
        if set(isr) != set(part.isr):
            self.commit([PartitionChangeRecord(partition, topic_id, isr=list(isr))])
        return part

    def _is_fenced(self, node_id: int) -> bool:
        broker = self.image.brokers.get(node_id)
        return broker is None or broker.fenced

    def allocate_producer_ids(self, node_id: int) -> tuple[int, int]:
        """A block of producer ids for a broker: (first id, count)."""
        start = self.image.next_producer_id
        broker = self.image.brokers.get(node_id)
        epoch = broker.epoch if broker else -1
        self.commit([ProducerIdsRecord(node_id, epoch, start + _PRODUCER_ID_BLOCK)])
        return start, _PRODUCER_ID_BLOCK

    # -------------------------------------------------------------------------------- topics

    def create_topics(self, specs: Sequence[TopicSpec], validate_only: bool) -> list[TopicResult]:
        results = []
        # as Kafka, names collide ('.' vs '_') only with topics that existed before the request
        existing = list(self.image.topics)
        for spec in specs:
            result = TopicResult(spec.name)
            try:
                records = self._create_topic_records(spec, result, existing)
            except errors.KafkaError as exc:
                result.error = exc
                results.append(result)
                continue
            if not validate_only:
                self.commit(records)
            results.append(result)
        return results

    def _create_topic_records(
        self, spec: TopicSpec, result: TopicResult, existing: Sequence[str]
    ) -> list[Message]:
        image = self.image
        validate_topic_name(spec.name)
        if spec.name in image.topics:
            raise errors.TopicAlreadyExistsError(f"Topic '{spec.name}' already exists.")
        collision = spec.name.replace(".", "_")
        for name in existing:
            if name != spec.name and name.replace(".", "_") == collision:
                raise errors.InvalidTopicExceptionError(
                    f"Topic '{spec.name}' collides with existing topic: {name}"
                )
        live = sorted(b.node_id for b in image.live_brokers())
        if spec.assignments:
            if spec.replication_factor != -1:
                raise errors.InvalidRequestError(
                    "A manual partition assignment was specified, but replication factor was "
                    "not set to -1."
                )
            if spec.num_partitions != -1:
                raise errors.InvalidRequestError(
                    "A manual partition assignment was specified, but numPartitions was not "
                    "set to -1."
                )
            assignment = self._check_assignment(spec.assignments, set(live))
        else:
            partitions = spec.num_partitions
            if partitions == -1:
                partitions = int(self.config.get("num.partitions"))
            rf = spec.replication_factor
            if rf == -1:
                rf = int(self.config.get("default.replication.factor"))
            if partitions <= 0:
                raise errors.InvalidPartitionsError(
                    "Number of partitions was set to an invalid non-positive value."
                )
            if rf <= 0:
                raise errors.InvalidReplicationFactorError(
                    "Replication factor must be larger than 0, or -1 to use the default value."
                )
            if rf > len(live):
                raise errors.InvalidReplicationFactorError(
                    f"Unable to replicate the partition {rf} time(s): The target replication "
                    f"factor of {rf} cannot be reached because only {len(live)} broker(s) "
                    "are registered."
                )
            assignment = self._place_replicas(partitions, rf, live)
        configs = self._validated_topic_configs(spec.configs)
        topic_id = uuid.UUID(int=self._rng.getrandbits(128))
        result.topic_id = topic_id
        result.num_partitions = len(assignment)
        result.replication_factor = len(assignment[0])
        result.configs = configs
        records: list[Message] = [TopicRecord(spec.name, topic_id)]
        records += [
            ConfigRecord(TOPIC_RESOURCE, spec.name, name, value) for name, value in configs.items()
        ]
        for index, replicas in sorted(assignment.items()):
            leader = next((r for r in replicas if r in live), NO_LEADER)
            records.append(
                PartitionRecord(
                    partition_id=index,
                    topic_id=topic_id,
                    replicas=list(replicas),
                    isr=[r for r in replicas if r in live] or list(replicas[:1]),
                    leader=leader,
                    leader_epoch=0,
                    partition_epoch=0,
                )
            )
        return records

    def _check_assignment(
        self, assignments: Mapping[int, list[int]], live: set[int]
    ) -> dict[int, list[int]]:
        """A manual assignment, checked partition by partition in Kafka's order and words."""
        known = set(self.image.brokers)
        replication: int | None = None
        for index, replicas in assignments.items():
            if not replicas:
                raise errors.InvalidReplicaAssignmentError(
                    "The manual partition assignment includes an empty replica list."
                )
            previous = None
            for broker in sorted(replicas):
                if broker not in known:
                    raise errors.InvalidReplicaAssignmentError(
                        f"The manual partition assignment includes broker {broker}, but no "
                        "such broker is registered."
                    )
                if broker == previous:
                    raise errors.InvalidReplicaAssignmentError(
                        f"The manual partition assignment includes the broker {broker} more "
                        "than once."
                    )
                previous = broker
            if replication is not None and len(replicas) != replication:
                raise errors.InvalidReplicaAssignmentError(
                    f"The manual partition assignment includes a partition with {len(replicas)} "
                    "replica(s), but this is not consistent with previous partitions, which "
                    f"have {replication} replica(s)."
                )
            replication = len(replicas)
            if not any(r in live for r in replicas):
                raise errors.InvalidReplicaAssignmentError(
                    "All brokers specified in the manual partition assignment for partition "
                    f"{index} are fenced or in controlled shutdown."
                )
        if sorted(assignments) != list(range(len(assignments))):
            raise errors.InvalidReplicaAssignmentError(
                "partitions should be a consecutive 0-based integer sequence"
            )
        return {i: list(r) for i, r in assignments.items()}

    def _place_replicas(self, partitions: int, rf: int, live: list[int]) -> dict[int, list[int]]:
        """Round-robin placement from a random broker, followers shifted per round of brokers
        (Kafka's classic rack-unaware assignment)."""
        n = len(live)
        start = self._rng.randrange(n)
        shift = self._rng.randrange(n)
        placement = {}
        for p in range(partitions):
            if p > 0 and p % n == 0:
                shift += 1
            first = (p + start) % n
            replicas = [live[first]]
            for j in range(rf - 1):
                replicas.append(live[(first + 1 + (shift + j) % (n - 1)) % n])
            placement[p] = replicas
        return placement

    def _validated_topic_configs(self, configs: Mapping[str, str | None]) -> dict[str, str]:
        explicit = {k: v for k, v in configs.items() if v is not None}
        merged = self.config.topic_defaults()
        merged.update(explicit)
        try:
            LogConfig.from_dict(merged)
        except LogConfigError as exc:
            raise errors.InvalidConfigError(exc.message) from None
        return dict(explicit)

    def delete_topics(self, names: Sequence[str]) -> dict[str, errors.KafkaError | None]:
        """Delete topics by name; per name, the error or None."""
        results: dict[str, errors.KafkaError | None] = {}
        for name in names:
            topic = self.image.topics.get(name)
            if topic is None:
                results[name] = errors.UnknownTopicOrPartitionError(
                    "This server does not host this topic-partition."
                )
                continue
            self.commit([RemoveTopicRecord(topic.topic_id)])
            results[name] = None
        return results

    def create_partitions(
        self, name: str, count: int, assignments: list[list[int]] | None, validate_only: bool
    ) -> None:
        """Grow a topic to ``count`` partitions (Kafka's CreatePartitions, as the KRaft
        controller's ``ReplicationControlManager.createPartitions`` decides it)."""
        topic = self.image.topics.get(name)
        if topic is None or not topic.partitions:
            raise errors.UnknownTopicOrPartitionError()  # Kafka gives no message
        current = len(topic.partitions)
        if count == current:
            raise errors.InvalidPartitionsError(f"Topic already has {current} partition(s).")
        if count < current:
            raise errors.InvalidPartitionsError(
                f"The topic {name} currently has {current} partition(s); {count} would not be "
                "an increase."
            )
        additional = count - current
        if assignments is not None and len(assignments) != additional:
            raise errors.InvalidReplicaAssignmentError(
                f"Attempted to add {additional} additional partition(s), but only "
                f"{len(assignments)} assignment(s) were specified."
            )
        rf = len(topic.partitions[min(topic.partitions)].replicas)
        live = sorted(b.node_id for b in self.image.live_brokers())
        if assignments is not None:
            placement: dict[int, list[int]] = {}
            for i, replicas in enumerate(assignments):
                self._check_manual_replicas(replicas, rf)
                if not any(r in live for r in replicas):
                    raise errors.InvalidReplicaAssignmentError(
                        "All brokers specified in the manual partition assignment for partition "
                        f"{current + i} are fenced or in controlled shutdown."
                    )
                placement[current + i] = list(replicas)
        else:
            if rf > len(live):
                raise errors.InvalidReplicationFactorError(
                    f"Unable to replicate the partition {rf} time(s): The target replication "
                    f"factor of {rf} cannot be reached because only {len(live)} broker(s) "
                    "are registered."
                )
            placed = self._place_replicas(additional, rf, live)
            placement = {current + i: r for i, r in placed.items()}
        if validate_only:
            return
        records: list[Message] = []
        for index, replicas in sorted(placement.items()):
            isr = [r for r in replicas if r in live]
            records.append(
                PartitionRecord(
                    partition_id=index,
                    topic_id=topic.topic_id,
                    replicas=replicas,
                    isr=isr,
                    leader=isr[0],
                    leader_epoch=0,
                    partition_epoch=0,
                )
            )
        self.commit(records)

    def _check_manual_replicas(self, replicas: Sequence[int], rf: int) -> None:
        """One manual partition assignment, checked as Kafka's controller does."""
        if not replicas:
            raise errors.InvalidReplicaAssignmentError(
                "The manual partition assignment includes an empty replica list."
            )
        previous = None
        for broker_id in sorted(replicas):
            if broker_id not in self.image.brokers:
                raise errors.InvalidReplicaAssignmentError(
                    f"The manual partition assignment includes broker {broker_id}, but no such "
                    "broker is registered."
                )
            if broker_id == previous:
                raise errors.InvalidReplicaAssignmentError(
                    f"The manual partition assignment includes the broker {broker_id} more "
                    "than once."
                )
            previous = broker_id
        if len(replicas) != rf:
            raise errors.InvalidReplicaAssignmentError(
                f"The manual partition assignment includes a partition with {len(replicas)} "
                "replica(s), but this is not consistent with previous partitions, which have "
                f"{rf} replica(s)."
            )

    # ------------------------------------------------------------------------------- configs

    def set_configs(
        self, resource: tuple[int, str], changes: Mapping[str, str | None], validate_only: bool
    ) -> None:
        """Set (value) or delete (None) configs of a topic or broker resource, validated."""
        rtype, rname = resource
        if rtype == TOPIC_RESOURCE:
            if rname not in self.image.topics:
                raise errors.UnknownTopicOrPartitionError(f"The topic '{rname}' does not exist.")
            current = dict(self.image.topic_configs(rname))
            for name, value in changes.items():
                if value is None:
                    current.pop(name, None)
                else:
                    current[name] = value
            self._validated_topic_configs(current)
        if validate_only:
            return
        self.commit([ConfigRecord(rtype, rname, name, value) for name, value in changes.items()])

    def alter_configs(
        self, resource: tuple[int, str], configs: Mapping[str, str], validate_only: bool
    ) -> None:
        """Replace every config of a resource with ``configs`` (Kafka's legacy AlterConfigs:
        keys not given are deleted)."""
        current = self.image.configs.get(resource, {})
        changes: dict[str, str | None] = dict(configs)
        changes.update({name: None for name in current if name not in configs})
        self._change_configs(resource, changes, validate_only)

    def incremental_alter_configs(
        self,
        resource: tuple[int, str],
        ops: Sequence[tuple[str, int, str | None]],
        validate_only: bool,
    ) -> None:
        """Apply SET/DELETE/APPEND/SUBTRACT operations to a resource's configs."""
        rtype, _ = resource
        key_for = TOPIC_CONFIG_KEYS.get if rtype == TOPIC_RESOURCE else broker_config_key
        current = self.image.configs.get(resource, {})
        changes = apply_incremental_ops(current, ops, key_for)
        self._change_configs(resource, changes, validate_only)

    def _change_configs(
        self, resource: tuple[int, str], changes: Mapping[str, str | None], validate_only: bool
    ) -> None:
        """Validate a resource's configs after ``changes`` as Kafka's controller does, then
        commit a ConfigRecord per changed key (per key named, for brokers)."""
        rtype, rname = resource
        current = self.image.configs.get(resource, {})
        after = dict(current)
        for name, value in changes.items():
            if value is None:
                after.pop(name, None)
            else:
                after[name] = value
        if rtype == TOPIC_RESOURCE:
            self._check_topic_configs(rname, after)
            changes = {n: v for n, v in changes.items() if current.get(n) != v}
        elif rtype == BROKER_RESOURCE:
            _check_broker_name(rname)
            if rname and int(rname) not in self.image.brokers:
                raise errors.BrokerIdNotRegisteredError(f"No node with id {rname} found.")
        else:
            raise errors.InvalidRequestError(f"Unknown resource type {rtype}")
        if not validate_only:
            self.commit([ConfigRecord(rtype, rname, n, v) for n, v in changes.items()])

    def _check_topic_configs(self, name: str, configs: Mapping[str, str]) -> None:
        if not name:
            raise errors.InvalidRequestError("Default topic resources are not allowed.")
        check_topic_name(name)
        for config in configs:
            if config not in TOPIC_CONFIG_KEYS:
                raise errors.InvalidConfigError(f"Unknown topic config name: {config}")
        remote = configs.get("remote.storage.enable")
        self._validated_topic_configs(
            {k: v for k, v in configs.items() if k != "remote.storage.enable"}
        )
        if remote is not None:
            try:
                enabled = TOPIC_CONFIG_KEYS["remote.storage.enable"].parse(remote)
            except LogConfigError as exc:
                raise errors.InvalidConfigError(exc.message) from None
            if enabled:
                raise errors.InvalidConfigError(
                    "Tiered Storage functionality is disabled in the broker. Topic cannot be "
                    "configured with remote log storage."
                )
        if name not in self.image.topics:
            raise errors.UnknownTopicOrPartitionError(f"The topic '{name}' does not exist.")


def _check_broker_name(name: str) -> None:
    if not name:
        return
    try:
        node_id = int(name)
    except ValueError:
        raise errors.InvalidRequestError(
            "Unable to parse broker name as a base 10 number."
        ) from None
    if node_id < 0:
        raise errors.InvalidRequestError("Invalid negative broker ID.")


def check_topic_name(name: str) -> None:
    """Kafka's ``Topic.validate``: INVALID_TOPIC_EXCEPTION with Kafka's reason."""
    reason = None
    if not name:
        reason = "the empty string is not allowed"
    elif name in (".", ".."):
        reason = f"'{name}' is not allowed"
    elif len(name) > MAX_TOPIC_NAME:
        reason = f"the length of '{name}' is longer than the max allowed length {MAX_TOPIC_NAME}"
    elif not _LEGAL_TOPIC.match(name):
        reason = (
            f"'{name}' contains one or more characters other than ASCII alphanumerics, '.', "
            "'_' and '-'"
        )
    if reason is not None:
        raise errors.InvalidTopicExceptionError(f"Topic name is invalid: {reason}")

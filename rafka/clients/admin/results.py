"""What the admin client answers: :class:`Results` for calls on many items, and one attrs class
per kind of answer.

The convention, the same for every method:

- A method acting on several items (topics, partitions, config resources, groups, brokers)
  answers each item on its own. Given a collection it returns :class:`Results`, a read-only
  mapping from each item's key to its answer, in the order asked; reading a failed item
  raises that item's error (a typed :mod:`rafka.errors` exception carrying Kafka's code),
  ``results.errors`` holds every failure and ``results.check()`` raises the first.
- Given a single item, where a method accepts one (a topic name, a :class:`NewTopic`, a
  :class:`ConfigResource`, a group id, a broker id), it returns that item's answer, or raises
  its error.
- Failures of the whole call raise in both forms: a closed client
  (:class:`~rafka.errors.ClientClosedError`), a deadline passed before any item was answered,
  for example because no broker could be reached (:class:`~rafka.errors.ClientTimeoutError`),
  invalid arguments (``ValueError``, ``TypeError``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

import attrs

from rafka import errors
from rafka.clients.admin.types import ConfigSource, ConfigType
from rafka.clients.transport import Node
from rafka.clients.types import TopicPartition

__all__ = [
    "ClusterDescription",
    "ConfigEntry",
    "ConfigSynonym",
    "CreatedTopic",
    "DeletedRecords",
    "GroupDescription",
    "GroupListing",
    "ListedOffset",
    "LogDirDescription",
    "MemberDescription",
    "OffsetAndMetadata",
    "PartitionDescription",
    "ReplicaInfo",
    "Results",
    "TopicDescription",
    "TopicListing",
]

K = TypeVar("K")
T = TypeVar("T")


class Results(Mapping[K, T], Generic[K, T]):
    """Per-item answers of one admin call: ``key -> answer``; a failed key raises its error.

    >>> results = await admin.create_topics([NewTopic("a"), NewTopic("b")])  # doctest: +SKIP
    >>> results["a"]                     # the CreatedTopic, or raises (TopicAlreadyExistsError)
    >>> results.errors                   # {"b": TopicAlreadyExistsError(...)} for the failures
    >>> results.check()                  # raises the first failure, else returns results
    """

    __slots__ = ("_errors", "_keys", "_values")

    def __init__(
        self, keys: list[K], values: Mapping[K, T], failures: Mapping[K, BaseException]
    ) -> None:
        self._keys = keys
        self._values = dict(values)
        self._errors = dict(failures)

    def __getitem__(self, key: K) -> T:
        if key in self._values:
            return self._values[key]
        if key in self._errors:
            raise self._errors[key]
        raise KeyError(key)

    def __iter__(self) -> Iterator[K]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._values or key in self._errors

    @property
    def errors(self) -> dict[K, BaseException]:
        """The failed items and their errors, in the order asked."""
        return {key: self._errors[key] for key in self._keys if key in self._errors}

    @property
    def succeeded(self) -> dict[K, T]:
        """The answers of the items that succeeded, in the order asked."""
        return {key: self._values[key] for key in self._keys if key in self._values}

    @property
    def ok(self) -> bool:
        """True when no item failed."""
        return not self._errors

    def error(self, key: K) -> BaseException | None:
        """The item's error, or None when it succeeded."""
        if key not in self:
            raise KeyError(key)
        return self._errors.get(key)

    def check(self) -> Results[K, T]:
        """Raise the first failed item's error (in key order); return ``self`` otherwise."""
        for key in self._keys:
            if key in self._errors:
                raise self._errors[key]
        return self

    def __repr__(self) -> str:
        items = ", ".join(
            f"{key!r}: {self._errors[key]!r}" if key in self._errors else f"{key!r}: ok"
            for key in self._keys
        )
        return f"Results({{{items}}})"


# ---------------------------------------------------------------------------------- topics


@attrs.frozen
class ConfigSynonym:
    """Another setting that supplies a config's value (a broker default, a static setting)."""

    name: str
    value: str | None
    source: ConfigSource


@attrs.frozen
class ConfigEntry:
    """One config of a resource: value (None when sensitive or unset), where it comes from,
    whether it can be changed, and (when asked) its synonyms in order of precedence."""

    name: str
    value: str | None
    source: ConfigSource = ConfigSource.UNKNOWN
    is_read_only: bool = False
    is_sensitive: bool = False
    synonyms: tuple[ConfigSynonym, ...] = ()
    type: ConfigType = ConfigType.UNKNOWN
    documentation: str | None = None

    @property
    def is_default(self) -> bool:
        """True when no override is set anywhere (the value is Kafka's default)."""
        return self.source == ConfigSource.DEFAULT_CONFIG


@attrs.frozen
class CreatedTopic:
    """A topic just created (or validated): its id and, from brokers serving CreateTopics v5+,
    its partition count, replication factor and configs (else -1, -1 and empty)."""

    name: str
    topic_id: uuid.UUID | None
    num_partitions: int
    replication_factor: int
    configs: dict[str, ConfigEntry]


@attrs.frozen
class TopicListing:
    """A topic as ``list_topics`` names it."""

    name: str
    topic_id: uuid.UUID | None
    is_internal: bool


@attrs.frozen
class PartitionDescription:
    """A partition's replicas as the cluster's metadata has them. ``leader`` is None while
    the partition has no live leader."""

    partition: int
    leader: int | None
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    leader_epoch: int = -1
    offline_replicas: tuple[int, ...] = ()


@attrs.frozen
class TopicDescription:
    """A topic with its partitions in partition order."""

    name: str
    topic_id: uuid.UUID | None
    is_internal: bool
    partitions: tuple[PartitionDescription, ...]


# --------------------------------------------------------------------------------- records


@attrs.frozen
class ListedOffset:
    """A ``list_offsets`` answer: the offset (-1 when no record matches a timestamp), the
    timestamp of that record (-1 for the special positions) and its leader epoch."""

    offset: int
    timestamp: int
    leader_epoch: int | None


@attrs.frozen
class DeletedRecords:
    """After ``delete_records``: the partition's new log start offset."""

    low_watermark: int


# --------------------------------------------------------------------------------- cluster


@attrs.frozen
class ClusterDescription:
    """The cluster: its id, the controller's node id (as brokers report it; None when
    unknown) and the brokers."""

    cluster_id: str | None
    controller_id: int | None
    brokers: tuple[Node, ...]


@attrs.frozen
class ReplicaInfo:
    """A replica in a log directory: its size in bytes and how far it lags the leader."""

    size: int
    offset_lag: int
    is_future: bool


@attrs.frozen
class LogDirDescription:
    """One log directory of a broker. ``error`` is set when the directory is offline;
    ``total_bytes``/``usable_bytes`` are None when the broker does not say."""

    path: str
    error: errors.KafkaError | None
    replicas: dict[TopicPartition, ReplicaInfo]
    total_bytes: int | None
    usable_bytes: int | None


# ---------------------------------------------------------------------------------- groups


@attrs.frozen
class GroupListing:
    """A group as ``list_groups`` names it; ``state`` and ``type`` are None from brokers too
    old to say (ListGroups before v4 / v5)."""

    group_id: str
    protocol_type: str
    state: str | None
    type: str | None


@attrs.frozen
class MemberDescription:
    """A group member. ``assignment`` is the partitions it owns (decoded for consumer groups;
    empty for other protocols). Consumer-protocol groups also give the member epoch and the
    target assignment."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    host: str
    assignment: frozenset[TopicPartition]
    target_assignment: frozenset[TopicPartition] | None = None
    member_epoch: int | None = None
    subscribed_topics: tuple[str, ...] | None = None


@attrs.frozen
class GroupDescription:
    """A group: state (Kafka's names: ``Stable``, ``Empty``, ``PreparingRebalance``, ...),
    type (``classic`` or ``consumer``), the coordinator's node id and the members.
    ``protocol`` is the classic group's chosen protocol (the assignor, for consumers), or the
    consumer group's server-side assignor."""

    group_id: str
    state: str
    type: str
    protocol_type: str
    protocol: str
    coordinator: int
    members: tuple[MemberDescription, ...]
    group_epoch: int | None = None
    assignment_epoch: int | None = None


@attrs.frozen
class OffsetAndMetadata:
    """A committed offset, with its metadata string and the leader epoch it was read at."""

    offset: int
    metadata: str = ""
    leader_epoch: int | None = None

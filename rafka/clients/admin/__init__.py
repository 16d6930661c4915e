"""rafka's admin client: :class:`AsyncAdmin`, the sync :class:`~rafka.clients.sync.Admin`,
and the values they take and give.

Calls on several items answer per item with :class:`Results`; a single item gives its answer
or raises its error (see :mod:`rafka.clients.admin.results`).
"""

from rafka.clients.admin.client import AsyncAdmin
from rafka.clients.admin.results import (
    ClusterDescription,
    ConfigEntry,
    ConfigSynonym,
    CreatedTopic,
    DeletedRecords,
    GroupDescription,
    GroupListing,
    ListedOffset,
    LogDirDescription,
    MemberDescription,
    OffsetAndMetadata,
    PartitionDescription,
    ReplicaInfo,
    Results,
    TopicDescription,
    TopicListing,
)
from rafka.clients.admin.types import (
    AlterConfigOp,
    AlterConfigOpType,
    ConfigResource,
    ConfigResourceType,
    ConfigSource,
    ConfigType,
    IsolationLevel,
    NewPartitions,
    NewTopic,
    OffsetSpec,
)
from rafka.clients.transport import Node
from rafka.clients.types import TopicPartition

__all__ = [
    "AlterConfigOp",
    "AlterConfigOpType",
    "AsyncAdmin",
    "ClusterDescription",
    "ConfigEntry",
    "ConfigResource",
    "ConfigResourceType",
    "ConfigSource",
    "ConfigSynonym",
    "ConfigType",
    "CreatedTopic",
    "DeletedRecords",
    "GroupDescription",
    "GroupListing",
    "IsolationLevel",
    "ListedOffset",
    "LogDirDescription",
    "MemberDescription",
    "NewPartitions",
    "NewTopic",
    "Node",
    "OffsetAndMetadata",
    "OffsetSpec",
    "PartitionDescription",
    "ReplicaInfo",
    "Results",
    "TopicDescription",
    "TopicListing",
    "TopicPartition",
]

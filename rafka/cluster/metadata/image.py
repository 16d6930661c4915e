"""The metadata image: brokers, topics, partitions and configs as the controller last wrote
them. Brokers read it; only :mod:`rafka.cluster.metadata.apply` changes it, one KRaft metadata
record at a time, so replaying the metadata log rebuilds exactly the same image."""

from __future__ import annotations

import uuid

import attrs

__all__ = [
    "BrokerImage",
    "ConfigResource",
    "MetadataImage",
    "PartitionImage",
    "TopicImage",
]

#: ConfigRecord resource types (Kafka's ConfigResource.Type ids).
TOPIC_RESOURCE = 2
BROKER_RESOURCE = 4
ConfigResource = tuple[int, str]  # (resource type, resource name)


@attrs.define
class PartitionImage:
    partition: int
    replicas: list[int]
    isr: list[int]
    leader: int
    leader_epoch: int
    partition_epoch: int


@attrs.define
class TopicImage:
    name: str
    topic_id: uuid.UUID
    partitions: dict[int, PartitionImage] = attrs.Factory(dict)

    @property
    def is_internal(self) -> bool:
        return self.name in ("__consumer_offsets", "__transaction_state", "__share_group_state")


@attrs.define
class BrokerImage:
    node_id: int
    host: str
    port: int
    rack: str | None
    epoch: int
    incarnation_id: uuid.UUID
    fenced: bool = True


@attrs.define
class MetadataImage:
    """Everything the metadata log describes, at offset ``offset`` of that log."""

    cluster_id: str
    controller_id: int
    brokers: dict[int, BrokerImage] = attrs.Factory(dict)
    topics: dict[str, TopicImage] = attrs.Factory(dict)
    topics_by_id: dict[uuid.UUID, TopicImage] = attrs.Factory(dict)
    configs: dict[ConfigResource, dict[str, str]] = attrs.Factory(dict)
    features: dict[str, int] = attrs.Factory(dict)
    next_producer_id: int = 0
    offset: int = -1

    def topic_configs(self, name: str) -> dict[str, str]:
        return self.configs.get((TOPIC_RESOURCE, name), {})

    def live_brokers(self) -> list[BrokerImage]:
        return [b for b in self.brokers.values() if not b.fenced]

    def partition(self, topic: str, partition: int) -> PartitionImage | None:
        t = self.topics.get(topic)
        return None if t is None else t.partitions.get(partition)

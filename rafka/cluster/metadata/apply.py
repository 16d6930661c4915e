"""Apply KRaft metadata records to a :class:`MetadataImage`.

Handled records: RegisterBroker, UnregisterBroker, FenceBroker, UnfenceBroker,
BrokerRegistrationChange, Topic, Partition, PartitionChange, RemoveTopic, Config,
FeatureLevel, ProducerIds. Others (ACLs, quotas, SCRAM, delegation tokens, transactions in
the metadata log) are accepted and ignored until rafka implements them.
"""

from __future__ import annotations

from rafka.cluster.metadata.image import BrokerImage, MetadataImage, PartitionImage, TopicImage
from rafka.protocol._message import Message
from rafka.protocol.schemas.metadata import (
    BrokerRegistrationChangeRecord,
    ConfigRecord,
    FeatureLevelRecord,
    FenceBrokerRecord,
    PartitionChangeRecord,
    PartitionRecord,
    ProducerIdsRecord,
    RegisterBrokerRecord,
    RemoveTopicRecord,
    TopicRecord,
    UnfenceBrokerRecord,
    UnregisterBrokerRecord,
)

__all__ = ["apply_record"]

_NO_LEADER_CHANGE = -2


def apply_record(image: MetadataImage, record: Message) -> None:
    """Change ``image`` as ``record`` says."""
    if isinstance(record, PartitionChangeRecord):
        _partition_change(image, record)
    elif isinstance(record, PartitionRecord):
        topic = image.topics_by_id[record.topic_id]
        topic.partitions[record.partition_id] = PartitionImage(
            record.partition_id,
            list(record.replicas),
            list(record.isr),
            record.leader,
            record.leader_epoch,
            record.partition_epoch,
        )
    elif isinstance(record, TopicRecord):
        topic = TopicImage(record.name, record.topic_id)
        image.topics[record.name] = topic
        image.topics_by_id[record.topic_id] = topic
    elif isinstance(record, RemoveTopicRecord):
        removed = image.topics_by_id.pop(record.topic_id)
        del image.topics[removed.name]
        image.configs.pop((2, removed.name), None)
    elif isinstance(record, ConfigRecord):
        configs = image.configs.setdefault((record.resource_type, record.resource_name), {})
        if record.value is None:
            configs.pop(record.name, None)
        else:
            configs[record.name] = record.value
    elif isinstance(record, RegisterBrokerRecord):
        endpoint = record.end_points[0] if record.end_points else None
        image.brokers[record.broker_id] = BrokerImage(
            record.broker_id,
            endpoint.host if endpoint else "",
            endpoint.port if endpoint else -1,
            record.rack,
            record.broker_epoch,
            record.incarnation_id,
            record.fenced,
        )
    elif isinstance(record, UnregisterBrokerRecord):
        image.brokers.pop(record.broker_id, None)
    elif isinstance(record, FenceBrokerRecord):
        image.brokers[record.id].fenced = True
    elif isinstance(record, UnfenceBrokerRecord):
        image.brokers[record.id].fenced = False
    elif isinstance(record, BrokerRegistrationChangeRecord):
        if record.fenced != 0:  # 1 fences, -1 unfences, 0 leaves it as it is
            image.brokers[record.broker_id].fenced = record.fenced == 1
    elif isinstance(record, FeatureLevelRecord):
        image.features[record.name] = record.feature_level
    elif isinstance(record, ProducerIdsRecord):
        image.next_producer_id = record.next_producer_id


def _partition_change(image: MetadataImage, record: PartitionChangeRecord) -> None:
    part = image.topics_by_id[record.topic_id].partitions[record.partition_id]
    if record.isr is not None:
        part.isr = list(record.isr)
    if record.replicas is not None:
        part.replicas = list(record.replicas)
    if record.leader != _NO_LEADER_CHANGE:
        part.leader = record.leader
        part.leader_epoch += 1
    part.partition_epoch += 1

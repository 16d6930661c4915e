"""The ``__consumer_offsets`` topic: which partition holds a group, and creating the topic on
first use.

A group lives in partition ``abs(hash(group id)) % partitions``, with Java's ``String.hashCode``
and Kafka's ``Utils.abs`` (which maps ``Integer.MIN_VALUE`` to 0), so rafka and Kafka place
every group in the same partition. The partition count is the topic's when it exists, else
``offsets.topic.num.partitions``.

The topic is created by the first FindCoordinator that needs it, with
``offsets.topic.num.partitions`` partitions, compaction, ``compression.type=producer`` and
``segment.bytes=offsets.topic.segment.bytes``. Its replication factor is
``offsets.topic.replication.factor`` capped at the live brokers, unless that property was set
explicitly: then, as in Kafka, too few live brokers leave the coordinator unavailable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.metadata.controller import TopicSpec

if TYPE_CHECKING:
    from rafka.cluster.config import BrokerConfig
    from rafka.cluster.metadata.controller import Controller
    from rafka.cluster.metadata.image import TopicImage

__all__ = ["OFFSETS_TOPIC", "ensure_offsets_topic", "java_string_hash", "partition_for"]

OFFSETS_TOPIC = "__consumer_offsets"

_INT_MIN = -(1 << 31)


def java_string_hash(text: str) -> int:
    """Java's ``String.hashCode()``: over UTF-16 code units, in 32-bit two's complement."""
    h = 0
    data = text.encode("utf-16-be", "surrogatepass")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for(group_id: str, partitions: int) -> int:
    h = java_string_hash(group_id)
    return (0 if h == _INT_MIN else abs(h)) % partitions


def offsets_partition_count(controller: Controller, config: BrokerConfig) -> int:
    topic = controller.image.topics.get(OFFSETS_TOPIC)
    if topic is not None and topic.partitions:
        return len(topic.partitions)
    return int(config.get("offsets.topic.num.partitions"))


def ensure_offsets_topic(controller: Controller, config: BrokerConfig) -> TopicImage:
    """The offsets topic, created now if missing; COORDINATOR_NOT_AVAILABLE if it cannot be."""
    image = controller.image
    topic = image.topics.get(OFFSETS_TOPIC)
    if topic is not None:
        return topic
    live = len(image.live_brokers())
    rf = int(config.get("offsets.topic.replication.factor"))
    if config.is_explicit("offsets.topic.replication.factor"):
        if live < rf:
            raise errors.CoordinatorNotAvailableError(
                f"{OFFSETS_TOPIC} needs {rf} live brokers (offsets.topic.replication.factor) "
                f"and {live} are alive"
            )
    else:
        rf = min(rf, live)
    if rf < 1:
        raise errors.CoordinatorNotAvailableError("no live broker to host the offsets topic")
    spec = TopicSpec(
        OFFSETS_TOPIC,
        num_partitions=int(config.get("offsets.topic.num.partitions")),
        replication_factor=rf,
        configs={
            "cleanup.policy": "compact",
            "compression.type": "producer",
            "segment.bytes": str(config.get("offsets.topic.segment.bytes")),
        },
    )
    (result,) = controller.create_topics([spec], validate_only=False)
    if result.error is not None and not isinstance(result.error, errors.TopicAlreadyExistsError):
        raise errors.CoordinatorNotAvailableError(
            f"cannot create {OFFSETS_TOPIC}: {result.error.message}"
        )
    return controller.image.topics[OFFSETS_TOPIC]

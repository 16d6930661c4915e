"""The feature flags rafka's brokers report (KIP-584), as Apache Kafka 4.1.1 reports them."""

from __future__ import annotations

import attrs

__all__ = ["FEATURES", "Feature"]


@attrs.frozen
class Feature:
    name: str
    min_version: int
    max_version: int
    level: int  #: the finalized level of this cluster


#: metadata.version 4.1-IV1 is level 27 in Kafka 4.1; transaction.version and group.version
#: stay at 0 until rafka serves transactions v2 and the consumer group protocol.
FEATURES = (
    Feature("metadata.version", 7, 27, 27),
    Feature("kraft.version", 0, 1, 0),
)

"""The feature flags rafka's brokers report (KIP-584), shaped as Apache Kafka 4.1.1's.

Supported ranges are Kafka 4.1.1's. A feature is *finalized* at the level rafka actually
implements; level 0 means "off" and, as in Kafka, is left out of the finalized list
(``transaction.version`` 2 switches clients to the transaction protocol rafka does not serve
yet). ``group.version`` 1 is the KIP-848 consumer group protocol, finalized as in a new
Kafka 4.1 cluster.
"""

from __future__ import annotations

import attrs

__all__ = ["FEATURES", "Feature"]


@attrs.frozen
class Feature:
    name: str
    min_version: int
    max_version: int
    level: int  #: the finalized level of this cluster (0: not finalized)


FEATURES = (
    Feature("group.version", 0, 1, 1),
    Feature("kraft.version", 0, 1, 0),
    Feature("metadata.version", 7, 27, 27),
    Feature("share.version", 0, 1, 0),
    Feature("transaction.version", 0, 2, 0),
    Feature("eligible.leader.replicas.version", 0, 1, 0),
)

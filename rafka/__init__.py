"""rafka: Apache Kafka as a Python library.

Start a real Kafka cluster inside a test or an application, in memory or on disk, and drive it
with rafka's own clients or with any Kafka client over the wire protocol.

Importing ``rafka`` is cheap: protocol codecs and compression libraries load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rafka._version import __version__

__all__ = [
    "Admin",
    "AsyncAdmin",
    "AsyncCluster",
    "AsyncConsumer",
    "AsyncProducer",
    "Cluster",
    "Consumer",
    "Producer",
    "TopicPartition",
    "__version__",
]

if TYPE_CHECKING:
    from rafka.clients.admin import AsyncAdmin
    from rafka.clients.consumer import AsyncConsumer
    from rafka.clients.consumer.sync import Consumer
    from rafka.clients.producer import AsyncProducer
    from rafka.clients.sync import Admin, Producer
    from rafka.clients.types import TopicPartition
    from rafka.embedded import AsyncCluster, Cluster

_LAZY = {
    "Cluster": "rafka.embedded",
    "AsyncCluster": "rafka.embedded",
    "Producer": "rafka.clients.sync",
    "AsyncProducer": "rafka.clients.producer",
    "Consumer": "rafka.clients.consumer.sync",
    "AsyncConsumer": "rafka.clients.consumer",
    "Admin": "rafka.clients.sync",
    "AsyncAdmin": "rafka.clients.admin",
    "TopicPartition": "rafka.clients.types",
}


def __getattr__(name: str) -> Any:
    # Heavy pieces load on first use, so that `import rafka` stays cheap.
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'rafka' has no attribute {name!r}")

"""rafka: Apache Kafka as a Python library.

Start a real Kafka cluster inside a test or an application, in memory or on disk, and drive it
with rafka's own clients or with any Kafka client over the wire protocol.

Importing ``rafka`` is cheap: protocol codecs and compression libraries load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rafka._version import __version__

__all__ = ["AsyncCluster", "Cluster", "__version__"]

if TYPE_CHECKING:
    from rafka.embedded import AsyncCluster, Cluster


def __getattr__(name: str) -> Any:
    # Heavy pieces load on first use, so that `import rafka` stays cheap.
    if name in ("Cluster", "AsyncCluster"):
        from rafka import embedded

        return getattr(embedded, name)
    raise AttributeError(f"module 'rafka' has no attribute {name!r}")

"""rafka: Apache Kafka as a Python library.

Start a real Kafka cluster inside a test or an application, in memory or on disk, and drive it
with rafka's own clients or with any Kafka client over the wire protocol.

Importing ``rafka`` is cheap: protocol codecs and compression libraries load on first use.
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]

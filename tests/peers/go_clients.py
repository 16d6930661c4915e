"""The franz-go client peer: ``tests/go/kgo-peer``, built by ``tools/peers.py``.

:class:`GoClients` runs the ``kgo-peer`` binary once per operation. It speaks the Java driver's
command line and JSON lines (see ``tests/java/src/rafka/peer/Clients.java`` and
:mod:`tests.peers.clients`), so tests swap one for the other::

    go = GoClients()
    go.produce(bootstrap, "t", generated_records(10), compression="zstd").check()
"""

from __future__ import annotations

from pathlib import Path

from tests.peers.clients import DriverClient
from tests.peers.java import PeerUnavailable, _peers

__all__ = ["GoClients", "PeerUnavailable", "build_go"]


def build_go() -> Path:
    """Build the franz-go peer when stale (``go`` and the Go module proxy needed); its path."""
    return Path(_peers.build_go())


class GoClients(DriverClient):
    """franz-go (the version pinned in ``tests/go/kgo-peer/go.mod``) as a :class:`PeerClient`.

    Raises :class:`PeerUnavailable` when ``go`` is missing or modules cannot be downloaded.
    """

    name = "franz-go"

    def __init__(self, binary: Path | str | None = None, *, timeout: float = 60.0) -> None:
        super().__init__([str(binary or build_go())], timeout=timeout)

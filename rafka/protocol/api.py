"""The API registry's record type: what rafka knows about one Kafka API key.

The table itself (``API_SPECS``) is generated into :mod:`rafka.protocol.messages` from the
pinned Apache Kafka release's specs; message modules load only when a class is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from rafka.protocol._message import Message

#: API keys whose responses always use header v0 (clients parse ApiVersions before they know
#: which versions the server speaks).
_RESPONSE_HEADER_V0 = frozenset({18})


@attrs.frozen
class ApiSpec:
    """One API: key, name, supported versions, and where its message classes live."""

    key: int
    name: str
    module: str | None  #: module under rafka.protocol.messages; None if no version remains
    min_version: int
    max_version: int
    flexible_min: int | None  #: first flexible version (compact encodings, tagged fields)
    listeners: tuple[str, ...]  #: "broker", "controller": who serves it in Kafka
    latest_version_unstable: bool

    @property
    def versions(self) -> range:
        return range(self.min_version, self.max_version + 1)

    def is_flexible(self, version: int) -> bool:
        return self.flexible_min is not None and version >= self.flexible_min

    def request_header_version(self, version: int) -> int:
        """Request header v2 for flexible versions, else v1 (ControlledShutdown v0 used v0)."""
        if self.is_flexible(version):
            return 2
        if self.key == 7 and version == 0:
            return 0
        return 1

    def response_header_version(self, version: int) -> int:
        """Response header v1 for flexible versions, else v0; ApiVersions always v0."""
        if self.key in _RESPONSE_HEADER_V0:
            return 0
        return 1 if self.is_flexible(version) else 0

    @property
    def request_class(self) -> type[Message]:
        return self._load(self.name + "Request")

    @property
    def response_class(self) -> type[Message]:
        return self._load(self.name + "Response")

    def _load(self, class_name: str) -> type[Message]:
        if self.module is None:
            raise LookupError(f"{self.name} has no supported versions")
        module = importlib.import_module(f"rafka.protocol.messages.{self.module}")
        cls: type[Message] = getattr(module, class_name)
        return cls

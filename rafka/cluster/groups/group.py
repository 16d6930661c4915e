"""What every group in a shard's registry offers, whatever its protocol.

A shard holds one registry, ``group id -> group``, shared by classic groups
(:class:`~rafka.cluster.groups.classic_group.ClassicGroup`) and KIP-848 consumer groups
(:class:`~rafka.cluster.groups.consumer_group.ConsumerGroup`);
committed offsets live beside it, keyed by group id, whatever the group's type. The offset,
listing and deletion code talks to groups only through :class:`Group`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Protocol

from rafka.cluster.groups.records import CoordinatorRecord
from rafka.protocol.messages import ListGroupsResponse

__all__ = ["Group", "GroupType", "OffsetBaseTimestamp"]

#: The timestamp an offset's retention counts from, given (commit timestamp), or None when
#: offsets of the group never expire in its current state.
OffsetBaseTimestamp = Callable[[int], int]


class GroupType(enum.Enum):
    CLASSIC = "classic"
    CONSUMER = "consumer"
    SHARE = "share"
    STREAMS = "streams"

    @classmethod
    def parse(cls, name: str) -> GroupType | None:
        try:
            return cls(name.strip().lower())
        except ValueError:
            return None

    def __str__(self) -> str:
        """As Kafka's coordinator names it in ListGroups (``classic``, ``consumer``)."""
        return self.value


class Group(Protocol):
    @property
    def group_id(self) -> str: ...

    @property
    def group_type(self) -> GroupType: ...

    @property
    def state_name(self) -> str:
        """The state as Kafka names it (``Stable``, ``Empty``, ...)."""
        ...

    def is_empty(self) -> bool: ...

    def validate_offset_commit(
        self,
        member_id: str,
        group_instance_id: str | None,
        generation_id: int,
        api_version: int = ...,
    ) -> None:
        """Raise the KafkaError an OffsetCommit with these fields gets, if any."""
        ...

    def validate_offset_fetch(self, member_id: str | None = ..., member_epoch: int = ...) -> None:
        """Raise the KafkaError an OffsetFetch (v9+: with a member id and epoch) gets."""
        ...

    def validate_offset_delete(self) -> None: ...

    def validate_delete(self) -> None: ...

    def is_subscribed_to(self, topic: str) -> bool: ...

    def offset_retention_base(self) -> OffsetBaseTimestamp | None:
        """How retention of this group's offsets is counted now (KIP-211), or never."""
        ...

    def listed(self) -> ListGroupsResponse.ListedGroup: ...

    def tombstones(self) -> list[CoordinatorRecord]:
        """The records that delete this group's metadata from the log."""
        ...

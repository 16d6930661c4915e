"""The consumer protocol's payloads inside JoinGroup/SyncGroup (opaque to the coordinator).

Each is an int16 version, then the struct at that version. A payload newer than this client
knows is read at the newest known version (new versions only append fields), as Kafka's
``ConsumerProtocol`` does.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from rafka.clients.types import TopicPartition
from rafka.errors import DecodeError
from rafka.protocol.messages import ConsumerProtocolAssignment, ConsumerProtocolSubscription

__all__ = [
    "decode_assignment",
    "decode_subscription",
    "encode_assignment",
    "encode_subscription",
]

PROTOCOL_TYPE = "consumer"
SUBSCRIPTION_VERSION = 3
ASSIGNMENT_VERSION = 3
_VERSION = struct.Struct(">h")


def _grouped(partitions: Iterable[tuple[str, int]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for topic, partition in sorted(partitions):
        out.setdefault(topic, []).append(partition)
    return out


def encode_subscription(
    topics: Iterable[str],
    owned: Iterable[tuple[str, int]] = (),
    generation_id: int = -1,
    rack_id: str | None = None,
    user_data: bytes | None = None,
) -> bytes:
    S = ConsumerProtocolSubscription
    message = S(
        topics=sorted(topics),
        user_data=user_data,
        owned_partitions=[S.TopicPartition(t, ps) for t, ps in _grouped(owned).items()],
        generation_id=generation_id,
        rack_id=rack_id,
    )
    return _VERSION.pack(SUBSCRIPTION_VERSION) + message.encode(SUBSCRIPTION_VERSION)


def decode_subscription(data: bytes) -> ConsumerProtocolSubscription:
    version, body = _split(data, ConsumerProtocolSubscription.MAX_VERSION)
    message, _ = ConsumerProtocolSubscription.decode_from(body, 0, version)
    return message


def encode_assignment(
    partitions: Iterable[tuple[str, int]], user_data: bytes | None = None
) -> bytes:
    A = ConsumerProtocolAssignment
    message = A(
        assigned_partitions=[A.TopicPartition(t, ps) for t, ps in _grouped(partitions).items()],
        user_data=user_data,
    )
    return _VERSION.pack(ASSIGNMENT_VERSION) + message.encode(ASSIGNMENT_VERSION)


def decode_assignment(data: bytes) -> list[TopicPartition]:
    if not data:
        return []
    version, body = _split(data, ConsumerProtocolAssignment.MAX_VERSION)
    message, _ = ConsumerProtocolAssignment.decode_from(body, 0, version)
    return [
        TopicPartition(tp.topic, p) for tp in message.assigned_partitions for p in tp.partitions
    ]


def _split(data: bytes, newest: int) -> tuple[int, bytes]:
    if len(data) < 2:
        raise DecodeError("consumer protocol payload shorter than its version")
    version = _VERSION.unpack_from(data)[0]
    if version < 0:
        raise DecodeError(f"invalid consumer protocol version {version}")
    return min(version, newest), bytes(data[2:])

"""What consumer groups read of the cluster metadata: topic names to ids and partition counts,
the metadata hash whose change bumps a group's epoch, and subscribed regular expressions.

The metadata hash (KIP-1101, stored in ConsumerGroupMetadataValue) summarises, for every topic
a group subscribes to that exists, its id, name, partition count and the racks of each
partition's replicas; when it changes the group rebalances. Kafka computes it with XXH3; rafka
uses BLAKE2b over the same inputs, so it changes exactly when Kafka's does, but the stored
value differs from the one Kafka would compute (a Kafka broker reading rafka's log would
rebalance each group once).

Regular expressions are matched against whole topic names (Java's ``Matcher.matches``), with
Python's ``re`` standing in for RE2/J: the common subset (classes, alternation, repetition,
anchors) means the same; RE2/J rejects look-around and back-references, and so does rafka.
"""

from __future__ import annotations

import hashlib
import re
import struct
import uuid
from collections.abc import Iterable

from rafka import errors
from rafka.cluster.metadata.image import MetadataImage, TopicImage

__all__ = [
    "TopicHashes",
    "compile_regex",
    "group_hash",
    "resolve_regexes",
    "topic_hash",
]

_MAGIC = b"\x00"
_INT = struct.Struct(">i")
_LONG = struct.Struct(">q")
#: RE2/J has no look-around and no back-references; reject them as it does.
_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[1-9]|\(\?P=")


def compile_regex(regex: str) -> re.Pattern[str]:
    """INVALID_REGULAR_EXPRESSION when ``regex`` is not a valid (RE2/J) expression."""
    try:
        if _UNSUPPORTED.search(regex):
            raise re.error("look-around and back-references are not supported")
        return re.compile(regex)
    except re.error as exc:
        raise errors.InvalidRegularExpressionError(
            f"SubscribedTopicRegex `{regex}` is not a valid regular expression: {exc}."
        ) from None


def resolve_regexes(regexes: Iterable[str], topics: Iterable[str]) -> dict[str, frozenset[str]]:
    """The topics each regex fully matches (a regex that no longer compiles matches none)."""
    compiled: list[tuple[str, re.Pattern[str]]] = []
    out: dict[str, frozenset[str]] = {}
    for regex in regexes:
        out[regex] = frozenset()
        try:
            compiled.append((regex, compile_regex(regex)))
        except errors.InvalidRegularExpressionError:
            continue
    matched: dict[str, set[str]] = {regex: set() for regex, _ in compiled}
    for name in topics:
        for regex, pattern in compiled:
            if pattern.fullmatch(name):
                matched[regex].add(name)
    out.update({regex: frozenset(names) for regex, names in matched.items()})
    return out


def _signed(digest: bytes) -> int:
    return int.from_bytes(digest, "big", signed=True)


def topic_hash(topic: TopicImage, image: MetadataImage) -> int:
    h = hashlib.blake2b(digest_size=8)
    h.update(_MAGIC)
    h.update(topic.topic_id.bytes)
    h.update(topic.name.encode())
    h.update(_INT.pack(len(topic.partitions)))
    for index in range(len(topic.partitions)):
        h.update(_INT.pack(index))
        partition = topic.partitions.get(index)
        replicas = partition.replicas if partition is not None else []
        racks = sorted(
            rack
            for rack in (image.brokers[r].rack if r in image.brokers else None for r in replicas)
            if rack is not None
        )
        for rack in racks:
            data = rack.encode()
            h.update(_INT.pack(len(data)))
            h.update(data)
    return _signed(h.digest())


def group_hash(topic_hashes: dict[str, int]) -> int:
    if not topic_hashes:
        return 0
    h = hashlib.blake2b(digest_size=8)
    for name in sorted(topic_hashes):
        h.update(_LONG.pack(topic_hashes[name]))
    return _signed(h.digest())


class TopicHashes:
    """Topic hashes, computed once per metadata image version."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int, uuid.UUID, int]] = {}

    def metadata_hash(self, topics: Iterable[str], image: MetadataImage) -> int:
        hashes = {}
        for name in topics:
            topic = image.topics.get(name)
            if topic is None:
                continue
            cached = self._cache.get(name)
            if cached is None or cached[0] != image.offset or cached[1] != topic.topic_id:
                cached = (image.offset, topic.topic_id, topic_hash(topic, image))
                self._cache[name] = cached
            hashes[name] = cached[2]
        return group_hash(hashes)

"""Choosing a record's partition exactly as Kafka's Java producer does by default.

- A record with an explicit partition goes there.
- A keyed record goes to ``toPositive(murmur2(key)) % partitions`` (Java's
  ``Utils.murmur2``, seed 0x9747b28c), so keyed records land where Java clients put them.
- A keyless record (or any record with ``partitioner.ignore.keys``) goes to the topic's
  *sticky* partition, which changes only when a batch for it fills up (KIP-480 / KIP-794),
  so small records form large batches.
"""

from __future__ import annotations

import random

__all__ = ["StickyPartitioner", "murmur2", "partition_for_key"]

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Java's ``Utils.murmur2``: MurmurHash2, 32-bit, seed 0x9747b28c, as a signed int."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    whole = length - (length & 3)
    for i in range(0, whole, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    rest = length & 3
    if rest == 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for_key(key: bytes, partitions: int) -> int:
    """Java's default: ``Utils.toPositive(Utils.murmur2(key)) % partitions``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class StickyPartitioner:
    """The sticky partition of each topic for keyless records."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._current: dict[str, int] = {}

    def partition(self, topic: str, partitions: int) -> int:
        current = self._current.get(topic)
        if current is None or current >= partitions:
            current = self._rng.randrange(partitions)
            self._current[topic] = current
        return current

    def on_new_batch(self, topic: str, partitions: int, previous: int) -> None:
        """A batch for the sticky partition filled: move to another partition."""
        if self._current.get(topic) != previous or partitions < 2:
            return
        choice = self._rng.randrange(partitions - 1)
        self._current[topic] = choice if choice < previous else choice + 1

"""Keyed records land on the partitions Java's default partitioner picks."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from rafka.clients.partitioner import StickyPartitioner, murmur2, partition_for_key
from tests.peers.java import JavaCodec

KEYS = [b"", b"a", b"ab", b"abc", b"abcd", b"key-1", b"\xff\xfe\x00", bytes(range(37))]


def test_murmur2_matches_java(java_codec: JavaCodec) -> None:
    rng = random.Random(7)
    keys = KEYS + [rng.randbytes(rng.randrange(0, 60)) for _ in range(300)]
    assert [murmur2(k) for k in keys] == java_codec.murmur2_hashes(keys)
    for partitions in (1, 3, 7, 50):
        expected = java_codec.murmur2(keys, partitions)
        assert [partition_for_key(k, partitions) for k in keys] == expected


@settings(max_examples=200)
@given(key=st.binary(max_size=64), partitions=st.integers(1, 1000))
def test_partition_in_range(key: bytes, partitions: int) -> None:
    assert 0 <= partition_for_key(key, partitions) < partitions


def test_sticky_partition_moves_only_when_a_batch_fills() -> None:
    sticky = StickyPartitioner(random.Random(1))
    first = sticky.partition("t", 6)
    assert all(sticky.partition("t", 6) == first for _ in range(10))
    sticky.on_new_batch("t", 6, first)
    second = sticky.partition("t", 6)
    assert second != first
    sticky.on_new_batch("t", 6, first)  # stale notice: ignored
    assert sticky.partition("t", 6) == second

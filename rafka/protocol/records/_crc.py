"""CRC-32C (Castagnoli), the checksum of v2 record batches, with the library loaded on first use.

(The ``crc32c`` package's import reads package metadata, ~20 ms: too slow for ``import rafka``.)
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["crc32c"]

_impl: Callable[[bytes | bytearray | memoryview, int], int] | None = None


def crc32c(data: bytes | bytearray | memoryview, value: int = 0) -> int:
    """CRC-32C of ``data``, continuing from the CRC ``value`` of preceding bytes."""
    impl = _impl
    if impl is None:
        impl = _load()
    return impl(data, value)


def _load() -> Callable[[bytes | bytearray | memoryview, int], int]:
    global _impl
    from crc32c import crc32c as impl

    _impl = impl
    return impl

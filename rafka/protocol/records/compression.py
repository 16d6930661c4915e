"""The compression codecs of Kafka record batches, with Kafka's framings.

Byte layouts of a compressed payload (the records section of a v2 batch, or the value of a legacy
wrapper message):

    GZIP    an RFC 1952 gzip stream. Written as Java's GZIPOutputStream does: header
            1f 8b 08 00 | mtime 00000000 | xfl 00 | os ff, raw deflate, crc32 LE, isize LE.
            Read: one or more members; bytes after the last member are ignored, as Java does.
    SNAPPY  the xerial framing of snappy-java, which Kafka writes:
              magic    82 53 4e 41 50 50 59 00      ("\\x82SNAPPY\\0")
              version  int32 BE = 1
              compat   int32 BE = 1
              blocks   [length int32 BE][raw snappy block], one per 32 KiB of input
            Read: that framing, or a single raw snappy block (what some clients send).
            A raw snappy block starts with its uncompressed length as an unsigned varint.
    LZ4     one LZ4 frame (frame format 1.5.1), as Kafka's Lz4BlockOutputStream writes it:
              magic    04 22 4d 18
              FLG      0x60 (version 01, independent blocks, no checksums, no content size)
              BD       0x40 (64 KiB maximum block size)
              HC       (xxh32(FLG BD) >> 8) & 0xff
              blocks   [size uint32 LE, high bit = stored uncompressed][data], then 00000000
            Magic v0 message sets carry Kafka's old, wrong HC: xxh32 over magic FLG BD. It is
            written for magic 0, and for magic 0 the HC is not checked when reading, as in Kafka.
    ZSTD    zstd frames (RFC 8878), written as Kafka's streaming writer does: no content size,
            the level's full window, data blocks then an empty last block. Read with bounded
            streaming decompression, across concatenated frames.

Every decompression is bounded: output beyond ``max_size`` raises :class:`DecompressionError`
without the output being produced first. Compression libraries are imported on first use.
"""

from __future__ import annotations

import enum
import struct
import zlib
from types import ModuleType
from typing import Any

from rafka.protocol.records.errors import DecompressionError

__all__ = [
    "DEFAULT_MAX_DECOMPRESSED_SIZE",
    "ZSTD_MAX_WINDOW_SIZE",
    "Compression",
    "compress",
    "decompress",
    "xxh32",
]

#: Bound on decompressed output when a caller passes no ``max_size`` (256 MiB).
DEFAULT_MAX_DECOMPRESSED_SIZE = 256 * 1024 * 1024
#: Largest zstd window accepted when reading (zstd's own default limit, as zstd-jni uses).
ZSTD_MAX_WINDOW_SIZE = 1 << 27


class Compression(enum.IntEnum):
    """Compression codec ids, as in bits 0-2 of a batch's or legacy message's attributes."""

    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4


BytesLike = bytes | bytearray | memoryview

_INT32 = struct.Struct(">i")
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_GZIP_TRAILER = struct.Struct("<II")
_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = _XERIAL_MAGIC + struct.pack(">ii", 1, 1)
_XERIAL_BLOCK_SIZE = 32 * 1024
_LZ4_MAGIC = b"\x04\x22\x4d\x18"
_LZ4_KAFKA_DEFAULT_LEVEL = 9
_ZSTD_DEFAULT_LEVEL = 3

_modules: dict[str, ModuleType] = {}


def _lib(name: str) -> Any:
    """Import a compression library on first use (``import rafka`` must stay cheap)."""
    module = _modules.get(name)
    if module is None:
        import importlib

        module = importlib.import_module(name)
        _modules[name] = module
    return module


def compress(
    codec: Compression, data: BytesLike, level: int | None = None, *, magic: int = 2
) -> bytes:
    """Compress ``data`` with ``codec`` in the framing Kafka uses.

    ``level`` follows Kafka's ``compression.<codec>.level`` (None: Kafka's default). ``magic`` only
    matters for LZ4, whose magic v0 frames carry Kafka's old header checksum.
    """
    if codec == Compression.NONE:
        return bytes(data)
    if codec == Compression.GZIP:
        return _gzip_compress(data, level)
    if codec == Compression.SNAPPY:
        return _snappy_compress(data)
    if codec == Compression.LZ4:
        return _lz4_compress(data, level, magic)
    if codec == Compression.ZSTD:
        return _zstd_compress(data, level)
    raise ValueError(f"unknown compression codec {codec!r}")


def decompress(
    codec: Compression, data: BytesLike, max_size: int | None = None, *, magic: int = 2
) -> bytes:
    """Decompress a payload written with ``codec``; at most ``max_size`` bytes of output.

    ``max_size`` defaults to :data:`DEFAULT_MAX_DECOMPRESSED_SIZE`. Raises
    :class:`DecompressionError` for a corrupt, truncated or too large payload.
    """
    limit = DEFAULT_MAX_DECOMPRESSED_SIZE if max_size is None else max_size
    if limit < 0:
        raise ValueError(f"max_size must be >= 0, not {max_size}")
    if codec == Compression.NONE:
        if len(data) > limit:
            raise DecompressionError(f"payload of {len(data)} bytes exceeds {limit}")
        return bytes(data)
    if codec == Compression.GZIP:
        return _gzip_decompress(data, limit)
    if codec == Compression.SNAPPY:
        return _snappy_decompress(data, limit)
    if codec == Compression.LZ4:
        return _lz4_decompress(data, limit, magic)
    if codec == Compression.ZSTD:
        return _zstd_decompress(data, limit)
    raise ValueError(f"unknown compression codec {codec!r}")


def _too_large(limit: int) -> DecompressionError:
    return DecompressionError(f"decompressed payload exceeds the limit of {limit} bytes")


# --- gzip -------------------------------------------------------------------------------------


def _gzip_compress(data: BytesLike, level: int | None) -> bytes:
    deflater = zlib.compressobj(-1 if level is None else level, zlib.DEFLATED, -15, 8)
    body = deflater.compress(data) + deflater.flush()
    trailer = _GZIP_TRAILER.pack(zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return b"".join((_GZIP_HEADER, body, trailer))


def _gzip_decompress(data: BytesLike, limit: int) -> bytes:
    out: list[bytes] = []
    total = 0
    rest: BytesLike = data
    while True:
        inflater = zlib.decompressobj(31)
        try:
            chunk = inflater.decompress(rest, limit - total + 1)
        except zlib.error as exc:
            raise DecompressionError(f"invalid gzip payload: {exc}") from None
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        out.append(chunk)
        if not inflater.eof:
            raise DecompressionError("truncated gzip payload")
        rest = inflater.unused_data
        if rest[:2] != b"\x1f\x8b":  # another member follows, or trailing bytes Java ignores
            return b"".join(out)


# --- snappy -----------------------------------------------------------------------------------


def _snappy_compress(data: BytesLike) -> bytes:
    snappy = _lib("snappy")
    view = memoryview(data)
    parts = [_XERIAL_HEADER]
    for start in range(0, len(view), _XERIAL_BLOCK_SIZE):
        block = snappy.compress(view[start : start + _XERIAL_BLOCK_SIZE])
        parts.append(_INT32.pack(len(block)))
        parts.append(block)
    return b"".join(parts)


def _snappy_decompress(data: BytesLike, limit: int) -> bytes:
    view = memoryview(data)
    if bytes(view[:8]) != _XERIAL_MAGIC:
        return _snappy_raw(view, limit)
    out: list[bytes] = []
    total = 0
    pos = 0
    end = len(view)
    while pos < end:
        if bytes(view[pos : pos + 8]) == _XERIAL_MAGIC:  # a (concatenated) stream header
            if end - pos < 16:
                raise DecompressionError("truncated xerial snappy header")
            pos += 16
            continue
        if end - pos < 4:
            raise DecompressionError("truncated xerial snappy block length")
        (size,) = _INT32.unpack_from(view, pos)
        pos += 4
        if size < 0 or size > end - pos:
            raise DecompressionError(f"xerial snappy block of {size} bytes overruns the payload")
        block = _snappy_raw(view[pos : pos + size], limit - total)
        pos += size
        total += len(block)
        out.append(block)
    return b"".join(out)


def _snappy_raw(block: memoryview, limit: int) -> bytes:
    # The block opens with its uncompressed length (unsigned varint, at most 32 bits).
    length = 0
    shift = 0
    for index in range(min(5, len(block))):
        byte = block[index]
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
    else:
        raise DecompressionError("invalid snappy block length")
    if length > limit:
        raise _too_large(limit)
    snappy = _lib("snappy")
    try:
        out: bytes = snappy.decompress(block)
    except Exception as exc:  # the binding raises several unrelated types
        raise DecompressionError(f"invalid snappy block: {exc}") from None
    if len(out) != length:
        raise DecompressionError("snappy block length does not match its content")
    return bytes(out)


# --- lz4 --------------------------------------------------------------------------------------


def _lz4_compress(data: BytesLike, level: int | None, magic: int) -> bytes:
    frame_mod = _lib("lz4.frame")
    # Kafka's default level (9) means lz4's fast compressor; other levels the HC one.
    lz4_level = 0 if level is None or level == _LZ4_KAFKA_DEFAULT_LEVEL else level
    frame: bytes = frame_mod.compress(
        data,
        compression_level=lz4_level,
        block_size=frame_mod.BLOCKSIZE_MAX64KB,
        block_linked=False,
        content_checksum=False,
        block_checksum=False,
        store_size=False,
    )
    if magic == 0:
        patched = bytearray(frame)
        patched[6] = (xxh32(patched[0:6]) >> 8) & 0xFF  # Kafka's old HC covers the magic too
        return bytes(patched)
    return frame


def _lz4_header_checksum_fixed(data: BytesLike) -> BytesLike:
    """Return ``data`` with a correct HC byte, for magic v0 frames whose HC Kafka ignores."""
    if len(data) < 7 or bytes(data[:4]) != _LZ4_MAGIC:
        return data
    flags = data[4]
    hc_pos = 6 + (8 if flags & 0x08 else 0) + (4 if flags & 0x01 else 0)
    if len(data) <= hc_pos:
        return data
    patched = bytearray(data)
    patched[hc_pos] = (xxh32(patched[4:hc_pos]) >> 8) & 0xFF
    return patched


def _lz4_decompress(data: BytesLike, limit: int, magic: int) -> bytes:
    frame_mod = _lib("lz4.frame")
    if magic == 0:
        data = _lz4_header_checksum_fixed(data)
    decompressor = frame_mod.LZ4FrameDecompressor()
    try:
        out: bytes = decompressor.decompress(data, max_length=limit + 1)
    except Exception as exc:  # lz4 raises RuntimeError, ValueError, ...
        raise DecompressionError(f"invalid lz4 frame: {exc}") from None
    if len(out) > limit:
        raise _too_large(limit)
    if not decompressor.eof:
        raise DecompressionError("truncated lz4 frame")
    return out


# --- zstd -------------------------------------------------------------------------------------


def _zstd_compress(data: BytesLike, level: int | None) -> bytes:
    zstd = _lib("zstandard")
    compressor = zstd.ZstdCompressor(
        level=_ZSTD_DEFAULT_LEVEL if level is None else level, write_content_size=False
    )
    # As Kafka's ZstdOutputStream: streamed (full window, no content size), flushed, then
    # ended with an empty last block.
    stream = compressor.compressobj()
    parts = (stream.compress(data), stream.flush(zstd.COMPRESSOBJ_FLUSH_BLOCK), stream.flush())
    return b"".join(parts)


def _zstd_decompress(data: BytesLike, limit: int) -> bytes:
    zstd = _lib("zstandard")
    view = memoryview(data)
    end = len(view)
    if end == 0:
        raise DecompressionError("empty zstd payload")
    dctx = zstd.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW_SIZE)
    out: list[bytes] = []
    total = 0
    pos = 0
    try:
        while pos < end:  # one frame per turn
            frame = dctx.decompressobj()
            while not frame.eof:
                if pos >= end:
                    raise DecompressionError("truncated zstd frame")
                # One input byte yields at most ~32 KiB (a 128 KiB RLE block costs 4 bytes), so
                # feeding the input in steps keeps the output within reach of the limit.
                step = max(64, (limit - total) >> 15)
                chunk = view[pos : pos + step]
                produced = frame.decompress(chunk)
                pos += len(chunk) - len(frame.unused_data)
                total += len(produced)
                if total > limit:
                    raise _too_large(limit)
                out.append(produced)
    except zstd.ZstdError as exc:
        raise DecompressionError(f"invalid zstd payload: {exc}") from None
    return b"".join(out)


# --- xxhash32, for the LZ4 frame header checksum ---------------------------------------------

_P1 = 2654435761
_P2 = 2246822519
_P3 = 3266489917
_P4 = 668265263
_P5 = 374761393
_M32 = 0xFFFFFFFF
_U32LE = struct.Struct("<I")


def _rotl(value: int, count: int) -> int:
    return ((value << count) | (value >> (32 - count))) & _M32


def xxh32(data: BytesLike, seed: int = 0) -> int:
    """XXH32 of ``data`` (pure Python; used on the few bytes of an LZ4 frame descriptor)."""
    length = len(data)
    pos = 0
    if length >= 16:
        v1 = (seed + _P1 + _P2) & _M32
        v2 = (seed + _P2) & _M32
        v3 = seed & _M32
        v4 = (seed - _P1) & _M32
        while pos <= length - 16:
            v1 = _rotl((v1 + _U32LE.unpack_from(data, pos)[0] * _P2) & _M32, 13) * _P1 & _M32
            v2 = _rotl((v2 + _U32LE.unpack_from(data, pos + 4)[0] * _P2) & _M32, 13) * _P1 & _M32
            v3 = _rotl((v3 + _U32LE.unpack_from(data, pos + 8)[0] * _P2) & _M32, 13) * _P1 & _M32
            v4 = _rotl((v4 + _U32LE.unpack_from(data, pos + 12)[0] * _P2) & _M32, 13) * _P1 & _M32
            pos += 16
        acc = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M32
    else:
        acc = (seed + _P5) & _M32
    acc = (acc + length) & _M32
    while pos + 4 <= length:
        acc = _rotl((acc + _U32LE.unpack_from(data, pos)[0] * _P3) & _M32, 17) * _P4 & _M32
        pos += 4
    while pos < length:
        acc = _rotl((acc + data[pos] * _P5) & _M32, 11) * _P1 & _M32
        pos += 1
    acc ^= acc >> 15
    acc = acc * _P2 & _M32
    acc ^= acc >> 13
    acc = acc * _P3 & _M32
    acc ^= acc >> 16
    return acc

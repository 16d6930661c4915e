"""Codecs: round trips, Kafka's framings, bounds on output, lazy imports."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
import zlib

import lz4.frame  # type: ignore[import-untyped]
import pytest
import snappy  # type: ignore[import-untyped]
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from rafka.protocol.records import Compression, DecompressionError, compress, decompress
from rafka.protocol.records.compression import xxh32
from tests.protocol.records.strategies import FAST, V2_CODECS

_data = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda n, b: bytes([b]) * n + bytes(range(256)) * (n % 7),
        st.integers(0, 150_000),
        st.integers(0, 255),
    ),
)


@pytest.mark.parametrize("codec", V2_CODECS)
@FAST
@given(data=_data, magic=st.sampled_from([0, 1, 2]))
def test_round_trip(codec: Compression, data: bytes, magic: int) -> None:
    packed = compress(codec, data, magic=magic)
    assert decompress(codec, packed, magic=magic) == data
    assert decompress(codec, memoryview(packed), len(data), magic=magic) == data


@pytest.mark.parametrize(
    ("codec", "level"),
    [
        (Compression.GZIP, 1),
        (Compression.GZIP, 9),
        (Compression.LZ4, 1),
        (Compression.LZ4, 17),
        (Compression.ZSTD, 1),
        (Compression.ZSTD, 19),
        (Compression.ZSTD, -5),
    ],
)
def test_levels(codec: Compression, level: int) -> None:
    data = b"kafka " * 5000
    assert decompress(codec, compress(codec, data, level)) == data


def test_gzip_is_a_java_style_gzip_stream() -> None:
    data = b"hello " * 100
    packed = compress(Compression.GZIP, data)
    assert packed[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    assert gzip.decompress(packed) == data
    # several members, then trailing bytes that Java's GZIPInputStream ignores
    two = gzip.compress(b"one") + gzip.compress(b"two")
    assert decompress(Compression.GZIP, two + b"\x00junk") == b"onetwo"


def test_snappy_writes_xerial_framing_in_32k_blocks() -> None:
    data = bytes(range(256)) * 400  # 102,400 bytes: 4 blocks
    packed = compress(Compression.SNAPPY, data)
    assert packed[:16] == b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    pos, sizes = 16, []
    while pos < len(packed):
        (size,) = struct.unpack_from(">i", packed, pos)
        sizes.append(len(snappy.decompress(packed[pos + 4 : pos + 4 + size])))
        pos += 4 + size
    assert sizes == [32768, 32768, 32768, 4096]
    assert compress(Compression.SNAPPY, b"") == packed[:16]
    assert decompress(Compression.SNAPPY, packed[:16]) == b""


def test_snappy_reads_raw_blocks_and_concatenated_streams() -> None:
    assert decompress(Compression.SNAPPY, snappy.compress(b"raw block")) == b"raw block"
    stream = compress(Compression.SNAPPY, b"ab") + compress(Compression.SNAPPY, b"cd")
    assert decompress(Compression.SNAPPY, stream) == b"abcd"


def test_lz4_frame_is_kafkas() -> None:
    packed = compress(Compression.LZ4, b"x" * 100_000)
    assert packed[:6] == b"\x04\x22\x4d\x18\x60\x40"
    assert packed[6] == (xxh32(b"\x60\x40") >> 8) & 0xFF
    assert packed[-4:] == b"\x00\x00\x00\x00"  # end mark, no content checksum
    assert lz4.frame.decompress(packed) == b"x" * 100_000


def test_lz4_magic_v0_uses_kafkas_broken_header_checksum() -> None:
    packed = compress(Compression.LZ4, b"old", magic=0)
    assert packed[6] == (xxh32(packed[:6]) >> 8) & 0xFF
    assert packed[6] != (xxh32(packed[4:6]) >> 8) & 0xFF
    assert decompress(Compression.LZ4, packed, magic=0) == b"old"
    # A correct checksum is accepted for v0 too (Kafka ignores it there); v1/v2 check it.
    assert decompress(Compression.LZ4, compress(Compression.LZ4, b"new"), magic=0) == b"new"
    with pytest.raises(DecompressionError):
        decompress(Compression.LZ4, packed, magic=1)


def test_lz4_reads_frames_from_other_writers() -> None:
    data = bytes(range(256)) * 1000
    for frame in (
        lz4.frame.compress(data),  # linked blocks, content size
        lz4.frame.compress(data, content_checksum=True, block_checksum=True),
        lz4.frame.compress(data, block_size=lz4.frame.BLOCKSIZE_MAX4MB),
    ):
        assert decompress(Compression.LZ4, frame) == data


def test_zstd_with_and_without_content_size_and_several_frames() -> None:
    data = b"zstd " * 10_000
    with_size = zstandard.ZstdCompressor(write_content_size=True).compress(data)
    packed = compress(Compression.ZSTD, data)
    assert zstandard.get_frame_parameters(packed).content_size == zstandard.CONTENTSIZE_UNKNOWN
    assert decompress(Compression.ZSTD, packed) == data
    assert decompress(Compression.ZSTD, with_size) == data
    assert decompress(Compression.ZSTD, packed + with_size) == data * 2


def test_xxh32_known_vectors() -> None:
    assert xxh32(b"") == 0x02CC5D05
    assert xxh32(b"abc") == 0x32D153FF
    assert xxh32(b"Nobody inspects the spammish repetition") == 0xE2293B2F


def _bombs() -> list[tuple[Compression, bytes]]:
    zeros = bytes(4_000_000)
    return [
        (Compression.GZIP, gzip.compress(zeros)),
        (Compression.SNAPPY, compress(Compression.SNAPPY, zeros)),
        (Compression.SNAPPY, snappy.compress(zeros)),
        (Compression.LZ4, compress(Compression.LZ4, zeros)),
        (Compression.LZ4, lz4.frame.compress(zeros)),
        (Compression.ZSTD, compress(Compression.ZSTD, zeros)),
        (Compression.ZSTD, zstandard.ZstdCompressor().compress(zeros)),
        (Compression.NONE, zeros),
    ]


@pytest.mark.parametrize(("codec", "payload"), _bombs())
def test_output_is_bounded(codec: Compression, payload: bytes) -> None:
    with pytest.raises(DecompressionError, match=r"exceeds|limit"):
        decompress(codec, payload, max_size=1_000_000)
    assert len(decompress(codec, payload, max_size=4_000_000)) == 4_000_000


@pytest.mark.parametrize("codec", V2_CODECS[1:])
def test_truncated_payloads_are_refused(codec: Compression) -> None:
    packed = compress(codec, bytes(range(256)) * 300)
    for cut in range(0, len(packed) - 1, max(1, len(packed) // 50)):
        with pytest.raises(DecompressionError):
            decompress(codec, packed[:cut])


def test_zstd_refuses_trailing_garbage() -> None:
    with pytest.raises(DecompressionError):
        decompress(Compression.ZSTD, compress(Compression.ZSTD, b"x") + b"garbage")


def test_gzip_refuses_corruption() -> None:
    packed = bytearray(compress(Compression.GZIP, b"payload" * 50))
    packed[-5] ^= 0xFF  # the CRC-32 of the member
    with pytest.raises(DecompressionError):
        decompress(Compression.GZIP, bytes(packed))
    assert zlib.crc32(b"") == 0


def test_codec_libraries_load_on_first_use() -> None:
    code = (
        "import sys, rafka.protocol.records as r\n"
        "heavy = {'lz4', 'zstandard', 'snappy', 'crc32c', 'cramjam'}\n"
        "assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
        "r.compress(r.Compression.LZ4, b'x')\n"
        "assert 'lz4' in sys.modules and 'zstandard' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

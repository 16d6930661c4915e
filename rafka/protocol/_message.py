"""The base class of every generated message and the entry points of their codecs.

A generated class covers every version of one message (as Kafka's ``*Data`` classes do); the
per-version encoders and decoders are straight-line functions emitted by the generator and
registered in the class's ``_encoders``/``_decoders`` tables.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from rafka.errors._base import DecodeError, EncodeError, KafkaError
from rafka.protocol._schema import FieldInfo

M = TypeVar("M", bound="Message")

EncodeFn = Callable[[Any, bytearray], None]
DecodeFn = Callable[[bytes, int], tuple[Any, int]]

#: Exceptions a decoder may raise on malformed input; all become DecodeError.
_DECODE_FAILURES = (struct.error, IndexError, ValueError, OverflowError)
_ENCODE_FAILURES = (struct.error, AttributeError, TypeError, OverflowError)


def _unsupported(cls: type, version: int, action: str) -> Exception:
    from rafka.errors import for_code

    lo, hi = cls.MIN_VERSION, cls.MAX_VERSION  # type: ignore[attr-defined]
    return for_code(35)(
        f"cannot {action} version {version} of {cls.__name__} (supported: {lo}-{hi})"
    )


class KafkaStruct:
    """A generated struct: a message or one of the structs nested in it."""

    __slots__ = ()

    #: The struct's fields as its spec declares them (for generic tools, not the codecs).
    _SCHEMA: ClassVar[tuple[FieldInfo, ...]]


class Message(KafkaStruct):
    """A Kafka protocol message (request, response, header, data type or internal record)."""

    __slots__ = ()

    NAME: ClassVar[str]
    MIN_VERSION: ClassVar[int]
    MAX_VERSION: ClassVar[int]
    FLEXIBLE_MIN: ClassVar[int | None]
    _encoders: ClassVar[dict[int, EncodeFn]]
    _decoders: ClassVar[dict[int, DecodeFn]]

    def encode(self, version: int) -> bytes:
        """The message's bytes at ``version`` (without any header or size prefix)."""
        out = bytearray()
        self.encode_into(out, version)
        return bytes(out)

    def encode_into(self, out: bytearray, version: int) -> None:
        """Append the message's bytes at ``version`` to ``out``."""
        try:
            encoder = self._encoders[version]
        except KeyError:
            raise _unsupported(type(self), version, "encode") from None
        try:
            encoder(self, out)
        except KafkaError as exc:  # UNSUPPORTED_VERSION from a field check: add the version
            raise type(exc)(f"{type(self).__name__} v{version}: {exc.message}") from None
        except _ENCODE_FAILURES as exc:
            raise EncodeError(f"cannot encode {type(self).__name__} v{version}: {exc}") from exc

    @classmethod
    def decode(cls: type[M], data: bytes | bytearray | memoryview, version: int) -> M:
        """Decode a whole message at ``version``; trailing bytes are an error."""
        buf = data if type(data) is bytes else bytes(data)
        message, pos = cls.decode_from(buf, 0, version)
        if pos != len(buf):
            raise DecodeError(
                f"{cls.__name__} v{version}: {len(buf) - pos} unexpected bytes after the message"
            )
        return message

    @classmethod
    def decode_from(cls: type[M], buf: bytes, pos: int, version: int) -> tuple[M, int]:
        """Decode the message that starts at ``pos``; returns it and the position after it."""
        try:
            decoder = cls._decoders[version]
        except KeyError:
            raise _unsupported(cls, version, "decode") from None
        try:
            message, end = decoder(buf, pos)
        except DecodeError:
            raise
        except _DECODE_FAILURES as exc:
            raise DecodeError(f"malformed {cls.__name__} v{version}: {exc}") from exc
        return message, end

"""Base classes of rafka's errors.

Every error rafka raises derives from :class:`RafkaError`. Errors that correspond to a Kafka
error code derive from :class:`KafkaError` and carry the code, Kafka's name for it, whether a
retry can succeed, and a sentence saying what happened and what to do. One class per code is
generated into :mod:`rafka.errors._codes` from the table in ``tools/codegen/error_codes.tsv``.
"""

from __future__ import annotations

from typing import ClassVar


class RafkaError(Exception):
    """Base class of every error raised by rafka."""


class KafkaError(RafkaError):
    """An error with a Kafka error code (the ``error_code`` of a response field).

    Subclasses exist for every code Apache Kafka defines; look one up with
    :func:`rafka.errors.for_code`.
    """

    code: ClassVar[int] = -1
    name: ClassVar[str] = "UNKNOWN_SERVER_ERROR"
    retriable: ClassVar[bool] = False
    description: ClassVar[str] = "The server hit an unexpected error."

    #: For a rejected produce: the records at fault, as (index in the batch, message) pairs --
    #: the ``record_errors`` of Kafka's ProduceResponse (v8+).
    record_errors: tuple[tuple[int, str | None], ...] = ()

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.description
        super().__init__(message)  # args hold only what was passed, so pickling round-trips

    def with_record_errors(self, record_errors: list[tuple[int, str | None]]) -> KafkaError:
        """This error, naming the records at fault (returns ``self``)."""
        self.record_errors = tuple(record_errors)
        return self

    def __str__(self) -> str:
        return f"[{self.name} ({self.code})] {self.message}"


class DecodeError(RafkaError, ValueError):
    """Bytes could not be decoded as the message or record batch that was expected.

    Raised by rafka.protocol for truncated, oversized or malformed input. A broker answers the
    request with an error or closes the connection; a client treats the connection as broken.
    """


class ConfigError(RafkaError, ValueError):
    """A configuration value is unknown, of the wrong type, or out of range."""


class EncodeError(RafkaError, ValueError):
    """A message could not be encoded: a field holds a value its wire type cannot carry
    (out of range, None where the field is not nullable, a string over 32767 bytes)."""


class ClientTimeoutError(RafkaError, TimeoutError):
    """A client gave up waiting: for metadata, for buffer space (max.block.ms), or for a
    record's delivery (delivery.timeout.ms). Retrying later may succeed."""

    retriable = True


class ClientClosedError(RafkaError, RuntimeError):
    """The client was closed; create a new one to continue."""


class IllegalStateError(RafkaError, RuntimeError):
    """The call does not fit the client's state, e.g. seeking a partition that is not
    assigned, or committing without a group."""


class CommitFailedError(RafkaError):
    """The commit cannot succeed: the group rebalanced since these partitions were assigned,
    so they may belong to another member now. Poll again (which rejoins the group), then
    commit what you process next; the records since the last successful commit will be
    delivered again to whoever owns the partitions now."""


class NoOffsetForPartitionError(IllegalStateError):
    """A partition has no position and ``auto.offset.reset`` is ``none``: seek first."""

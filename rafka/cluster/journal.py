"""The request journal: every request a cluster's brokers handle, and what came of it.

Off by default. While it records, each request reaching :meth:`Broker.handle` (over TCP or in
process, the same path) leaves a :class:`JournalEntry`: the decoded request and response (the
message objects the broker handled; record batches stay bytes, never decoded), API key and
version, correlation id, client id, broker, connection, start and end times, and the outcome
(``response``, ``no response`` for acks=0, ``dropped``, ``closed``, ``corrupted``, ``failed``)
with the fault plans that fired on it.

When nothing records and no fault is planned, the broker's hot path pays one attribute check.

>>> cluster.journal.start()                                        # doctest: +SKIP
>>> [e.api for e in cluster.requests(client_id="rafka")]          # doctest: +SKIP
['Metadata', 'InitProducerId', 'Produce']
"""

from __future__ import annotations

import base64
import collections
import io
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

import attrs

from rafka.cluster.broker import CloseConnection
from rafka.cluster.faults.effects import DropResponse, MangledResponse
from rafka.cluster.faults.inspect import request_items
from rafka.cluster.faults.plan import api_key_of, glob_match
from rafka.protocol._message import KafkaStruct, Message
from rafka.protocol.messages import API_SPECS
from rafka.protocol.records.batch_header import BatchHeader, iter_batch_positions

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker
    from rafka.cluster.request import RequestContext

__all__ = ["Journal", "JournalEntry"]

#: Serve a request, naming the fault plans that fire on it in the list.
Call = Callable[["Broker", "RequestContext", Message, list[str]], Awaitable[Message | None]]
TopicNames = Callable[[uuid.UUID], str | None]


@attrs.define(eq=False, repr=False)
class JournalEntry:
    """One request a broker handled, and its outcome."""

    broker: int
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    connection_id: str
    client_host: str
    request: Message
    start: float  #: wall-clock time the broker got the request (seconds since the epoch)
    response: Message | None = None
    #: pending, response, no response (acks=0), dropped, closed, corrupted, failed
    outcome: str = "pending"
    error: str | None = None  #: why the connection closed or the request failed
    faults: list[str] = attrs.Factory(list)  #: the fault plans that fired on this request
    end: float | None = None
    duration: float | None = None  #: seconds from request to response (monotonic clock)

    @property
    def api(self) -> str:
        """The API's name, e.g. ``"Produce"``."""
        return API_SPECS[self.api_key].name

    @property
    def peer(self) -> str:
        """``host:port`` of the client for TCP connections, else the client host."""
        # TCP connection ids are "<listener host:port>-<client host:port>-<n>".
        parts = self.connection_id.split("-")
        if len(parts) >= 3 and ":" in parts[-2]:
            return parts[-2]
        return self.client_host

    def __repr__(self) -> str:
        took = "" if self.duration is None else f" in {self.duration * 1000:.1f} ms"
        faults = f" [faults: {', '.join(self.faults)}]" if self.faults else ""
        return (
            f"<broker {self.broker} {self.api} v{self.api_version} #{self.correlation_id} "
            f"from {self.client_id!r} ({self.peer}): {self.outcome}{took}{faults}>"
        )

    def to_dict(self, *, records: str = "summary") -> dict[str, Any]:
        """A JSON-ready dict: bytes as base64, record batches summarized (``records=
        "summary"``: size, batches, records, offsets) or as base64 (``"base64"``)."""
        version = self.api_version
        return {
            "broker": self.broker,
            "api": self.api,
            "api_key": self.api_key,
            "api_version": version,
            "correlation_id": self.correlation_id,
            "client_id": self.client_id,
            "connection_id": self.connection_id,
            "peer": self.peer,
            "start": self.start,
            "end": self.end,
            "duration": self.duration,
            "outcome": self.outcome,
            "error": self.error,
            "faults": list(self.faults),
            "request": message_to_json(self.request, version, records),
            "response": None
            if self.response is None
            else message_to_json(self.response, version, records),
        }


class Journal:
    """Records requests while started (:meth:`start`, :meth:`stop`, or ``with journal:``).

    ``limit`` keeps only the newest entries (None: all).
    """

    def __init__(
        self,
        names: TopicNames,
        changed: Callable[[], None] = lambda: None,
        *,
        limit: int | None = None,
    ) -> None:
        self._names = names
        self._changed = changed
        self._entries: collections.deque[JournalEntry] = collections.deque(maxlen=limit)
        self.recording = False

    # ------------------------------------------------------------------------------- control

    def start(self) -> Journal:
        """Record from now on (entries already recorded are kept)."""
        self.recording = True
        self._changed()
        return self

    def stop(self) -> None:
        """Stop recording (entries are kept until :meth:`clear`)."""
        self.recording = False
        self._changed()

    def clear(self) -> None:
        self._entries.clear()

    def __enter__(self) -> Journal:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------------------- queries

    @property
    def entries(self) -> list[JournalEntry]:
        """Every entry, oldest first (a copy)."""
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self.entries)

    def query(
        self,
        api: str | int | None = None,
        *,
        client_id: str | None = None,
        topic: str | None = None,
        broker: int | None = None,
        outcome: str | None = None,
    ) -> list[JournalEntry]:
        """Entries of ``api`` (name or key), from ``client_id``, naming ``topic``, handled by
        ``broker``, with ``outcome`` (strings may be glob patterns), oldest first."""
        key = None if api is None else api_key_of(api)
        out = []
        for entry in self.entries:
            if key is not None and entry.api_key != key:
                continue
            if broker is not None and entry.broker != broker:
                continue
            if outcome is not None and entry.outcome != outcome:
                continue
            if client_id is not None and not glob_match(client_id, entry.client_id):
                continue
            if topic is not None and not any(glob_match(topic, t) for t in self.topics_of(entry)):
                continue
            out.append(entry)
        return out

    def topics_of(self, entry: JournalEntry) -> set[str]:
        """The topics an entry's request names."""
        items = request_items(entry.request, entry.api_version, self._names)
        return {t for t, _ in items if t}

    def to_jsonl(self, target: str | Path | IO[str], *, records: str = "summary") -> int:
        """Write every entry as one JSON line to a path or text file; returns the count."""
        if isinstance(target, str | Path):
            with open(target, "w", encoding="utf-8") as fh:
                return self.to_jsonl(fh, records=records)
        count = 0
        for entry in self.entries:
            target.write(json.dumps(entry.to_dict(records=records)) + "\n")
            count += 1
        return count

    def dumps(self, *, records: str = "summary") -> str:
        """Every entry as JSON lines."""
        out = io.StringIO()
        self.to_jsonl(out, records=records)
        return out.getvalue()

    # ----------------------------------------------------------------------------- recording

    async def record(
        self, broker: Broker, ctx: RequestContext, request: Message, call: Call
    ) -> Message | None:
        """Serve ``request`` through ``call``, recording it and its outcome."""
        entry = JournalEntry(
            broker.node_id,
            ctx.api_key,
            ctx.api_version,
            ctx.correlation_id,
            ctx.client_id,
            ctx.connection_id,
            ctx.client_host,
            request,
            time.time(),
        )
        self._entries.append(entry)
        began = time.perf_counter()
        try:
            response = await call(broker, ctx, request, entry.faults)
        except DropResponse:
            entry.outcome = "dropped"
            raise
        except MangledResponse as exc:
            entry.outcome, entry.response = "corrupted", exc.response
            raise
        except CloseConnection as exc:
            entry.outcome, entry.error = "closed", str(exc)
            raise
        except BaseException as exc:
            entry.outcome, entry.error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        else:
            entry.response = response
            entry.outcome = "response" if response is not None else "no response"
            return response
        finally:
            entry.duration = time.perf_counter() - began
            entry.end = entry.start + entry.duration


# ------------------------------------------------------------------------------------ JSON


def kafka_uuid(value: uuid.UUID) -> str:
    """Kafka's ``Uuid.toString()``: URL-safe base64 of the 16 bytes, without padding."""
    return base64.urlsafe_b64encode(value.bytes).decode().rstrip("=")


def records_summary(data: bytes | bytearray | memoryview) -> dict[str, Any]:
    """Size, batch and record counts and the offset range of record batches (headers only)."""
    out: dict[str, Any] = {"bytes": len(data), "batches": 0, "records": 0}
    first = last = None
    try:
        for pos, _size, magic in iter_batch_positions(data):
            out["batches"] += 1
            if magic != 2:
                continue
            header = BatchHeader.parse(data, pos)
            out["records"] += header.records_count
            first = header.base_offset if first is None else first
            last = header.last_offset
    except ValueError:  # DecodeError, CorruptRecordError: a summary, not a validation
        out["corrupt"] = True
    if first is not None:
        out["base_offset"], out["last_offset"] = first, last
    return out


def _json_value(type_name: str, value: Any, version: int, records: str) -> Any:
    if value is None:
        return None
    if type_name.startswith("[]"):
        return [_json_value(type_name[2:], item, version, records) for item in value]
    if type_name == "records":
        if records == "base64":
            return base64.b64encode(bytes(value)).decode()
        return records_summary(value)
    if type_name == "bytes":
        return base64.b64encode(bytes(value)).decode()
    if type_name == "uuid":
        return kafka_uuid(value)
    if isinstance(value, KafkaStruct):
        return message_to_json(value, version, records)
    return value


def message_to_json(message: KafkaStruct, version: int, records: str = "summary") -> dict[str, Any]:
    """The fields of ``message`` present at ``version``, JSON-ready, by their Python names."""
    return {
        f.name: _json_value(f.type, getattr(message, f.name), version, records)
        for f in message._SCHEMA
        if f.present_in(version)
    }

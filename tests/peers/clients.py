"""What every client peer has in common: records in, deliveries and consumed records out.

Scenario tests drive five real Kafka clients through one small interface, :class:`PeerClient`,
so the same scenario runs with each client, against rafka and against Apache Kafka:

* ``java`` (kafka-clients) and ``franz-go`` are command-line drivers
  (``tests/java/src/rafka/peer/Clients.java``, ``tests/go/kgo-peer``) speaking the same
  options and JSON lines; :class:`DriverClient` runs them (see :mod:`tests.peers.java_clients`,
  :mod:`tests.peers.go_clients`) and also exposes their raw commands (:meth:`DriverClient.run`),
  e.g. ``describe-topics`` and ``list-offsets``, and runs long-lived ones such as
  ``group-consume`` in the background (:meth:`DriverClient.start`, :class:`DriverProcess`).
* ``confluent-kafka``, ``kafka-python`` and ``aiokafka`` run in-process
  (:mod:`tests.peers.python_clients`).

Errors are reported, not raised: a failed delivery or fetch carries Kafka's error name
(``Errors`` in kafka-clients: ``UNKNOWN_TOPIC_OR_PARTITION``, ``MESSAGE_TOO_LARGE``, ...),
``REQUEST_TIMED_OUT`` for a client-side timeout, or ``CLIENT_ERROR`` for anything without an
error code, so results of different clients compare directly.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any, Protocol, TypeVar

__all__ = [
    "ClientError",
    "ConsumeResult",
    "ConsumedRecord",
    "CreateTopicResult",
    "Delivery",
    "DriverClient",
    "DriverError",
    "DriverOutput",
    "DriverProcess",
    "Header",
    "PeerClient",
    "ProduceResult",
    "Record",
    "generated_records",
]

#: A record header: key and value (``None`` for a null value).
Header = tuple[str, bytes | None]


@dataclass(frozen=True)
class Record:
    """A record to produce. ``partition``/``timestamp`` ``None`` leave the choice to the
    client (its partitioner; the current time)."""

    key: bytes | None = None
    value: bytes | None = None
    headers: tuple[Header, ...] = ()
    partition: int | None = None
    timestamp: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The driver programs' input line for this record."""
        out: dict[str, Any] = {
            "key": _b64(self.key),
            "value": _b64(self.value),
            "headers": [{"key": k, "value": _b64(v)} for k, v in self.headers],
        }
        if self.partition is not None:
            out["partition"] = self.partition
        if self.timestamp is not None:
            out["timestamp"] = self.timestamp
        return out


def generated_records(
    count: int,
    *,
    keyed: bool = False,
    value_size: int | None = None,
    null_values: bool = False,
    headers: int = 0,
    partition: int | None = None,
    timestamp: int | None = None,
) -> list[Record]:
    """The records the drivers' ``produce --count N ...`` options generate (see Clients.java):
    key ``key-i``, value ``value-i`` (or ``value_size`` bytes ``(i + j) % 256``, or null),
    headers ``("h<j>", "v<i>-<j>")``."""
    records = []
    for i in range(count):
        value: bytes | None
        if null_values:
            value = None
        elif value_size is None:
            value = f"value-{i}".encode()
        else:
            value = bytes((i + j) & 0xFF for j in range(value_size))
        records.append(
            Record(
                key=f"key-{i}".encode() if keyed else None,
                value=value,
                headers=tuple((f"h{j}", f"v{i}-{j}".encode()) for j in range(headers)),
                partition=partition,
                timestamp=timestamp,
            )
        )
    return records


@dataclass(frozen=True)
class ClientError:
    """One error a client reported."""

    error: str  # Kafka's error name, REQUEST_TIMED_OUT, TIMEOUT (consume), or CLIENT_ERROR
    message: str | None = None
    exception: str | None = None  # the client's own exception class / error name
    topic: str | None = None
    partition: int | None = None

    @classmethod
    def from_json(cls, line: Mapping[str, Any]) -> ClientError:
        return cls(
            error=str(line["error"]),
            message=line.get("message"),
            exception=line.get("exception"),
            topic=line.get("topic"),
            partition=line.get("partition"),
        )


@dataclass(frozen=True)
class Delivery:
    """The outcome of producing record ``index``: where it went, or the error."""

    index: int
    partition: int | None = None
    offset: int | None = None
    timestamp: int | None = None
    error: ClientError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ProduceResult:
    deliveries: list[Delivery]

    @property
    def ok(self) -> bool:
        return all(d.ok for d in self.deliveries)

    @property
    def errors(self) -> list[ClientError]:
        return [d.error for d in self.deliveries if d.error is not None]

    def check(self) -> ProduceResult:
        """``self`` when every record was delivered, else :class:`AssertionError`."""
        if not self.ok:
            raise AssertionError(f"produce failed: {self.errors[:5]}")
        return self


@dataclass(frozen=True)
class ConsumedRecord:
    topic: str
    partition: int
    offset: int
    timestamp: int
    timestamp_type: str  # CreateTime | LogAppendTime | NoTimestampType, as kafka-clients says
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...]
    leader_epoch: int | None = None

    @classmethod
    def from_json(cls, line: Mapping[str, Any]) -> ConsumedRecord:
        return cls(
            topic=line["topic"],
            partition=int(line["partition"]),
            offset=int(line["offset"]),
            timestamp=int(line["timestamp"]),
            timestamp_type=str(line["timestampType"]),
            key=_unb64(line.get("key")),
            value=_unb64(line.get("value")),
            headers=tuple((h["key"], _unb64(h.get("value"))) for h in line.get("headers") or ()),
            leader_epoch=line.get("leaderEpoch"),
        )

    @property
    def content(self) -> tuple[bytes | None, bytes | None, tuple[Header, ...]]:
        """(key, value, headers): what a producer chose, for comparing with a :class:`Record`."""
        return self.key, self.value, self.headers


@dataclass(frozen=True)
class ConsumeResult:
    records: list[ConsumedRecord]
    errors: list[ClientError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def check(self) -> ConsumeResult:
        if not self.ok:
            raise AssertionError(f"consume failed: {self.errors[:5]}")
        return self


@dataclass(frozen=True)
class CreateTopicResult:
    topic: str
    error: ClientError | None = None
    topic_id: str | None = None  # Kafka's base64 form, when the client reports it

    @property
    def ok(self) -> bool:
        return self.error is None


class PeerClient(Protocol):
    """The operations every client peer offers (all take the bootstrap servers per call, so one
    client object serves rafka and Apache Kafka alike)."""

    name: str

    def create_topic(
        self,
        bootstrap: str,
        topic: str,
        *,
        partitions: int = 1,
        replication_factor: int = 1,
        configs: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> CreateTopicResult: ...

    def produce(
        self,
        bootstrap: str,
        topic: str,
        records: Sequence[Record],
        *,
        compression: str | None = None,
        acks: str | int | None = None,
        idempotence: bool | None = None,
        linger_ms: int | None = None,
        max_request_size: int | None = None,
        timeout: float = 30.0,
    ) -> ProduceResult: ...

    def consume(
        self,
        bootstrap: str,
        topic: str,
        *,
        partitions: Sequence[int] | None = None,
        offset: int | str = "earliest",
        count: int | None = None,
        isolation_level: str | None = None,
        timeout: float = 30.0,
    ) -> ConsumeResult: ...


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(data: str | None) -> bytes | None:
    return None if data is None else base64.b64decode(data)


# -- the command-line drivers (Java, franz-go) -------------------------------------------------


class DriverError(RuntimeError):
    """A driver program failed outright: bad command line, crash, or it ran past its timeout."""


@dataclass(frozen=True)
class DriverOutput:
    """One run of a driver program: its exit code, JSON lines and stderr."""

    returncode: int
    lines: list[dict[str, Any]]
    stderr: str

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("type") == kind]

    @property
    def errors(self) -> list[ClientError]:
        return [ClientError.from_json(line) for line in self.of_type("error")]

    @property
    def summary(self) -> dict[str, Any] | None:
        found = self.of_type("summary")
        return found[-1] if found else None


#: Options of the drivers that take no value.
_DRIVER_FLAGS = frozenset({"keyed", "null_values", "validate_only", "sequential"})


def driver_args(options: Mapping[str, Any]) -> list[str]:
    """``--option value`` arguments from keyword options: ``snake_case`` names become
    ``--kebab-case``; ``None``/``False`` flags are left out; lists repeat the option; a mapping
    ``config={"k": "v"}`` becomes ``--config k=v``; booleans become ``true``/``false``."""
    args: list[str] = []
    for name, value in options.items():
        if value is None:
            continue
        opt = "--" + name.replace("_", "-")
        if name in _DRIVER_FLAGS:
            if value:
                args.append(opt)
        elif isinstance(value, Mapping):
            for k, v in value.items():
                args += [opt, f"{k}={v}"]
        elif isinstance(value, list | tuple):
            for item in value:
                args += [opt, str(item)]
        elif isinstance(value, bool):
            args += [opt, "true" if value else "false"]
        else:
            args += [opt, str(value)]
    return args


_T = TypeVar("_T")


class DriverProcess:
    """A driver command running in the background (``group-consume`` runs until SIGTERM): its
    JSON lines as they arrive, waiting on them, and stopping it.

    Use as a context manager (the process is killed on the way out if still running) or call
    :meth:`close`.
    """

    def __init__(self, command: Sequence[str], name: str, *, cwd: str | None = None) -> None:
        self.name = name
        self._lines: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._ended = False
        # stderr goes to a file, never a pipe nobody reads; it explains a failure.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                list(command),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                text=True,
                encoding="utf-8",
            )
        except OSError:
            self._stderr.close()
            raise
        self._reader = threading.Thread(target=self._read, name=f"{name} reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with contextlib.suppress(OSError, ValueError):
            for text in self.proc.stdout:
                if not text.strip():
                    continue
                try:
                    line = json.loads(text)
                except json.JSONDecodeError:
                    line = {"type": "unparsed", "text": text}
                with self._changed:
                    self._lines.append(line)
                    self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    @property
    def lines(self) -> list[dict[str, Any]]:
        """Every JSON line printed so far."""
        with self._changed:
            return list(self._lines)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("type") == kind]

    def wait_for(
        self,
        condition: Callable[[list[dict[str, Any]]], _T],
        timeout: float = 30.0,
        what: str = "",
    ) -> _T:
        """Wait until ``condition(lines so far)`` is truthy and return it; AssertionError
        after ``timeout`` seconds, :class:`DriverError` if the process ends first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = condition(list(self._lines))
                if value:
                    return value
                if self._ended:
                    raise DriverError(
                        f"{self.name} ended (status {self.proc.wait()}) before "
                        f"{what or condition}; stderr:\n{self.stderr()}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {what or condition}; "
                        f"{self.name} printed {self._lines[-5:]}"
                    )
                self._changed.wait(left)

    def stderr(self, limit: int = 4000) -> str:
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            return self._stderr.read().decode("utf-8", "replace")[-limit:]
        return ""

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM (the command's clean end), then wait for the process and its output."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise DriverError(f"{self.name} did not stop within {timeout}s") from None
        self._reader.join(10)
        return status

    def close(self) -> None:
        """Kill the process if it still runs and release everything."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(10)
        if self.proc.stdout is not None:
            with contextlib.suppress(OSError):
                self.proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> DriverProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class DriverClient:
    """A client peer backed by a command-line driver (``command`` + subcommand + options)."""

    name = "driver"

    def __init__(self, command: Sequence[str], *, timeout: float = 60.0) -> None:
        self.command = list(command)
        self.timeout = timeout

    def run(
        self,
        subcommand: str,
        *,
        input_lines: Iterable[Mapping[str, Any]] | None = None,
        timeout: float | None = None,
        **options: Any,
    ) -> DriverOutput:
        """Run ``subcommand`` with ``options`` (see :func:`driver_args`); ``input_lines`` are
        written as JSON lines to a file passed as ``--input``.

        The process gets ``timeout`` seconds (default: ``timeout_ms`` + 30 s, or the client's
        default) and is killed after that (:class:`DriverError`).
        """
        if timeout is None:
            timeout_ms = options.get("timeout_ms")
            timeout = timeout_ms / 1000 + 30 if timeout_ms is not None else self.timeout
        with contextlib.ExitStack() as stack:
            if input_lines is not None:
                fd, name = tempfile.mkstemp(prefix="rafka-records-", suffix=".jsonl")
                stack.callback(os.unlink, name)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    for line in input_lines:
                        fh.write(json.dumps(line) + "\n")
                options["input"] = name
            cmd = [*self.command, subcommand, *driver_args(options)]
            try:
                proc = subprocess.run(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    encoding="utf-8",
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired as exc:  # subprocess.run has killed it
                raise DriverError(
                    f"{self.name} {subcommand} ran longer than {timeout}s; stderr:\n"
                    f"{_text(exc.stderr)[-4000:]}"
                ) from None
        if proc.returncode not in (0, 1):
            raise DriverError(
                f"{self.name} {subcommand} exited {proc.returncode}:\n{proc.stderr[-4000:]}"
            )
        try:
            lines = [json.loads(text) for text in proc.stdout.splitlines() if text.strip()]
        except json.JSONDecodeError as exc:
            raise DriverError(f"{self.name} printed a line that is not JSON: {exc}") from None
        return DriverOutput(proc.returncode, lines, proc.stderr)

    def start(self, subcommand: str, **options: Any) -> DriverProcess:
        """Start ``subcommand`` with ``options`` (see :func:`driver_args`) in the background,
        e.g. ``start("group-consume", bootstrap=..., topic="t", group="g")``."""
        cmd = [*self.command, subcommand, *driver_args(options)]
        return DriverProcess(cmd, f"{self.name} {subcommand}")

    # -- PeerClient -----------------------------------------------------------------------

    def create_topic(
        self,
        bootstrap: str,
        topic: str,
        *,
        partitions: int = 1,
        replication_factor: int = 1,
        configs: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> CreateTopicResult:
        out = self.run(
            "create-topics",
            bootstrap=bootstrap,
            topic=topic,
            partitions=partitions,
            replication_factor=replication_factor,
            config=dict(configs or {}),
            timeout_ms=int(timeout * 1000),
        )
        for line in out.lines:
            if line.get("type") == "created":
                return CreateTopicResult(topic, topic_id=line.get("topicId"))
            if line.get("type") == "error":
                return CreateTopicResult(topic, error=ClientError.from_json(line))
        raise DriverError(f"{self.name} create-topics printed no result: {out}")

    def produce(
        self,
        bootstrap: str,
        topic: str,
        records: Sequence[Record],
        *,
        compression: str | None = None,
        acks: str | int | None = None,
        idempotence: bool | None = None,
        linger_ms: int | None = None,
        max_request_size: int | None = None,
        timeout: float = 30.0,
        **options: Any,
    ) -> ProduceResult:
        """Produce ``records``; extra ``options`` go to the driver (e.g. ``config={...}``)."""
        out = self.run(
            "produce",
            input_lines=(r.to_json() for r in records),
            bootstrap=bootstrap,
            topic=topic,
            compression=compression,
            acks=acks,
            idempotence=idempotence,
            linger_ms=linger_ms,
            max_request_size=max_request_size,
            timeout_ms=int(timeout * 1000),
            **options,
        )
        return produce_result(out)

    def consume(
        self,
        bootstrap: str,
        topic: str,
        *,
        partitions: Sequence[int] | None = None,
        offset: int | str = "earliest",
        count: int | None = None,
        isolation_level: str | None = None,
        timeout: float = 30.0,
        **options: Any,
    ) -> ConsumeResult:
        """Consume from ``offset`` until ``count`` records (or, without ``count``, the end
        offsets at the start); extra ``options`` go to the driver."""
        out = self.run(
            "consume",
            bootstrap=bootstrap,
            topic=topic,
            partition=list(partitions or ()),
            offset=offset,
            count=count,
            isolation_level=isolation_level,
            timeout_ms=int(timeout * 1000),
            **options,
        )
        return consume_result(out)

    def list_offsets(
        self,
        bootstrap: str,
        topic: str,
        spec: str | int = "latest",
        *,
        partitions: Sequence[int] | None = None,
        timeout: float = 30.0,
    ) -> DriverOutput:
        """ListOffsets through the client's admin API (``offset`` lines)."""
        return self.run(
            "list-offsets",
            bootstrap=bootstrap,
            topic=topic,
            spec=spec,
            partition=list(partitions or ()),
            timeout_ms=int(timeout * 1000),
        )

    def describe_topics(self, bootstrap: str, *topics: str, timeout: float = 30.0) -> DriverOutput:
        timeout_ms = int(timeout * 1000)
        return self.run(
            "describe-topics", bootstrap=bootstrap, topic=list(topics), timeout_ms=timeout_ms
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {' '.join(self.command[-2:])}>"


def produce_result(out: DriverOutput) -> ProduceResult:
    deliveries = []
    for line in out.lines:
        if line.get("type") == "produced":
            deliveries.append(
                Delivery(
                    int(line["index"]),
                    int(line["partition"]),
                    int(line["offset"]),
                    int(line["timestamp"]),
                )
            )
        elif line.get("type") == "error" and "index" in line:
            deliveries.append(Delivery(int(line["index"]), error=ClientError.from_json(line)))
    deliveries.sort(key=lambda d: d.index)
    return ProduceResult(deliveries)


def consume_result(out: DriverOutput) -> ConsumeResult:
    records = [ConsumedRecord.from_json(line) for line in out.of_type("record")]
    return ConsumeResult(records, out.errors)


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", "replace")

"""Python side of the Java codec peer (``tests/java/src/rafka/peer/Codec.java``).

:class:`JavaCodec` starts ``java -cp <classpath> rafka.peer.Codec`` once and talks to it with one
JSON object per line each way. Everything it returns was produced by Apache Kafka's own
kafka-clients jar (the release pinned in ``tools/peers.py``), so tests can compare rafka's bytes
with Kafka's byte for byte.

Conventions:

* Protocol messages use the JSON shape of kafka-clients' generated ``*JsonConverter`` classes:
  field names as in the spec with a lowercase first letter (``clientSoftwareName``), int64 as
  numbers, uuids as Kafka's base64 ``Uuid`` strings, bytes and records as base64 strings. For
  convenience :meth:`JavaCodec.encode_message` base64-encodes any ``bytes`` value it is given;
  :meth:`JavaCodec.decode_message` returns the converter's JSON unchanged (bytes stay base64).
* Record batches: keys, values and header values are ``bytes`` (or ``None``) on the Python side
  in both directions.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import itertools
import json
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType, TracebackType
from typing import IO, Any

__all__ = ["JavaCodec", "JavaCodecError", "PeerUnavailable", "build_java", "in_ci"]


def _load_peers_tool() -> ModuleType:
    """``tools/peers.py`` as a module, whether or not the repository root is on sys.path."""
    existing = sys.modules.get("tools.peers")
    if existing is not None:
        return existing
    try:
        from tools import peers  # repository root on sys.path (pytest rootdir, python -m)

        return peers
    except ImportError:
        path = Path(__file__).resolve().parents[2] / "tools" / "peers.py"
        spec = importlib.util.spec_from_file_location("tools.peers", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["tools.peers"] = module
        spec.loader.exec_module(module)
        return module


_peers = _load_peers_tool()

#: Raised when the Java peer cannot be built or started on this machine.
PeerUnavailable: type[Exception] = _peers.PeerUnavailable


def in_ci() -> bool:
    """True when ``CI`` is set: peers must be available, a skip is a failure."""
    return bool(_peers.in_ci())


def build_java() -> str:
    """Fetch and compile the Java peers if needed; return their classpath."""
    return str(_peers.build_java())


def java_classpath() -> str:
    """Classpath of already-built Java peers; :class:`PeerUnavailable` if not built."""
    return str(_peers.java_classpath())


#: JVM options: a small, quick-starting JVM (C1 only, serial GC) suits a test-session helper
#: on a machine with few cores.
DEFAULT_JVM_ARGS: tuple[str, ...] = (
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Dfile.encoding=UTF-8",
)

_EOF = object()


class JavaCodecError(RuntimeError):
    """The Java codec rejected a request (its exception as ``java_class: message``) or died."""

    def __init__(self, message: str, *, java_class: str | None = None) -> None:
        super().__init__(message)
        self.java_class = java_class


def _b64(data: bytes | bytearray | memoryview | str | None) -> str | None:
    """bytes -> base64; a str is taken to be base64 already; None stays None."""
    if data is None or isinstance(data, str):
        return data
    return base64.b64encode(bytes(data)).decode("ascii")


def _unb64(data: str | None) -> bytes | None:
    return None if data is None else base64.b64decode(data)


def _json_default(obj: object) -> object:
    if isinstance(obj, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(obj)).decode("ascii")
    raise TypeError(f"cannot send {type(obj).__name__} to the Java codec")


def _camel(name: str) -> str:
    """``timestamp_type`` -> ``timestampType``; camelCase names pass through."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _headers_to_json(headers: Iterable[Any]) -> list[dict[str, Any]]:
    out = []
    for header in headers:
        if isinstance(header, Mapping):
            key, value = header["key"], header.get("value")
        else:
            key, value = header
        out.append({"key": key, "value": _b64(value)})
    return out


def _record_to_json(record: Mapping[str, Any]) -> dict[str, Any]:
    out = {_camel(k): v for k, v in record.items()}
    for field in ("key", "value"):
        if field in out:
            out[field] = _b64(out[field])
    out["headers"] = _headers_to_json(out.get("headers") or ())
    return out


def _batch_from_json(batch: dict[str, Any]) -> dict[str, Any]:
    for record in batch["records"]:
        record["key"] = _unb64(record["key"])
        record["value"] = _unb64(record["value"])
        for header in record["headers"]:
            header["value"] = _unb64(header["value"])
    return batch


class JavaCodec:
    """One long-running ``rafka.peer.Codec`` JVM; thread-safe, one request at a time.

    ``JavaCodec()`` uses the classpath built by ``tools/peers.py`` (:class:`PeerUnavailable`
    if there is none, or no ``java``). Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        classpath: str | None = None,
        *,
        java: str | None = None,
        jvm_args: Sequence[str] = DEFAULT_JVM_ARGS,
        timeout: float = 60.0,
    ) -> None:
        if classpath is None:
            classpath = java_classpath()
        java = java or shutil.which("java")
        if java is None:
            raise PeerUnavailable("java is not installed")
        self.timeout = timeout
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._replies: queue.Queue[object] = queue.Queue()
        # stderr goes to a file, never a pipe nobody reads; it explains a crash. Closed by
        # close(), which owns the process too.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                [java, *jvm_args, "-cp", classpath, "rafka.peer.Codec"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                text=True,
                encoding="utf-8",
                bufsize=1,
            )
        except OSError as exc:
            self._stderr.close()
            raise PeerUnavailable(f"cannot start {java}: {exc}") from exc
        self._proc: subprocess.Popen[str] | None = proc
        assert proc.stdout is not None
        self._reader = threading.Thread(
            target=self._read_replies, args=(proc.stdout,), name="java-codec-reader", daemon=True
        )
        self._reader.start()

    # -- process plumbing -----------------------------------------------------------------

    def _read_replies(self, stdout: IO[str]) -> None:
        with contextlib.suppress(OSError, ValueError):  # ValueError: closed under us by _kill
            for line in stdout:
                self._replies.put(line)
        self._replies.put(_EOF)

    def _stderr_tail(self, limit: int = 4000) -> str:
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            return self._stderr.read().decode("utf-8", "replace")[-limit:]
        return ""

    def _dead(self, why: str) -> JavaCodecError:
        self._kill()
        tail = self._stderr_tail()
        return JavaCodecError(f"Java codec {why}" + (f"; stderr:\n{tail}" if tail else ""))

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send one raw request; return the reply (``ok`` true) or raise :class:`JavaCodecError`."""
        with self._lock:
            proc = self._proc
            if proc is None or proc.stdin is None:
                raise JavaCodecError("Java codec is closed")
            request_id = next(self._ids)
            line = json.dumps({"op": op, "id": request_id, **fields}, default=_json_default)
            try:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                raise self._dead(f"is gone ({exc})") from None
            while True:
                try:
                    item = self._replies.get(timeout=self.timeout)
                except queue.Empty:
                    raise self._dead(f"did not answer {op} within {self.timeout}s") from None
                if item is _EOF:
                    raise self._dead(f"exited while handling {op}")
                reply: dict[str, Any] = json.loads(str(item))
                if reply.get("id") == request_id:
                    break
        if not reply.get("ok"):
            error = str(reply.get("error"))
            raise JavaCodecError(error, java_class=error.partition(":")[0] or None)
        return reply

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def close(self) -> None:
        """Ask the JVM to quit (kill it if it does not) and release everything."""
        with self._lock:
            proc = self._proc
            if proc is not None and proc.poll() is None and proc.stdin is not None:
                with contextlib.suppress(OSError, ValueError):
                    proc.stdin.write('{"op":"quit"}\n')
                    proc.stdin.flush()
                    proc.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)
            self._kill()
        self._reader.join(timeout=10)
        self._stderr.close()

    def __enter__(self) -> JavaCodec:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- operations -----------------------------------------------------------------------

    def ping(self) -> None:
        self.request("ping")

    def encode_message(self, name: str, version: int, json_obj: Mapping[str, Any]) -> bytes:
        """Kafka's bytes for message ``name`` (``MetadataRequest``, ``RequestHeader``,
        ``ConsumerProtocolSubscription``, ...) at ``version``, built from converter JSON."""
        reply = self.request("encode_message", name=name, version=version, json=json_obj)
        return bytes.fromhex(reply["hex"])

    def decode_message(
        self, name: str, version: int, data: bytes, *, allow_trailing: bool = False
    ) -> dict[str, Any]:
        """Kafka's reading of ``data`` as ``name`` at ``version``, as converter JSON.

        Bytes left over after the message are an error unless ``allow_trailing``.
        """
        reply = self.request(
            "decode_message",
            name=name,
            version=version,
            hex=bytes(data).hex(),
            allowTrailing=allow_trailing,
        )
        result: dict[str, Any] = reply["json"]
        return result

    def message_versions(self, name: str) -> tuple[int, int]:
        """(lowest, highest) version of ``name`` that kafka-clients supports."""
        reply = self.request("message_versions", name=name)
        return int(reply["lowest"]), int(reply["highest"])

    def build_batch(self, **spec: Any) -> bytes:
        """A record batch written by Kafka's ``MemoryRecordsBuilder``.

        Keyword names may be camelCase or snake_case: ``magic`` (2), ``compression``
        (``none|gzip|snappy|lz4|zstd``), ``compression_level``, ``timestamp_type``
        (``create|log_append``, ``none`` for magic 0), ``base_offset``, ``log_append_time``,
        ``producer_id``, ``producer_epoch``, ``base_sequence``, ``transactional``,
        ``partition_leader_epoch`` and ``records``: dicts with ``timestamp``, ``key``,
        ``value`` (bytes or None), ``headers`` (``[{"key": str, "value": bytes | None}]`` or
        ``(key, value)`` pairs) and optionally ``offset`` (explicit, increasing offsets).
        """
        fields = {_camel(k): v for k, v in spec.items()}
        fields["records"] = [_record_to_json(r) for r in fields.get("records") or ()]
        return bytes.fromhex(self.request("build_batch", **fields)["hex"])

    def build_end_txn_marker(
        self,
        *,
        producer_id: int,
        producer_epoch: int,
        commit: bool = True,
        coordinator_epoch: int = 0,
        timestamp: int = 0,
        base_offset: int = 0,
        partition_leader_epoch: int = -1,
    ) -> bytes:
        """A COMMIT/ABORT control batch from ``MemoryRecords.withEndTransactionMarker``."""
        reply = self.request(
            "build_end_txn_marker",
            producerId=producer_id,
            producerEpoch=producer_epoch,
            commit=commit,
            coordinatorEpoch=coordinator_epoch,
            timestamp=timestamp,
            baseOffset=base_offset,
            partitionLeaderEpoch=partition_leader_epoch,
        )
        return bytes.fromhex(reply["hex"])

    def read_batches_with_trailing(self, data: bytes) -> tuple[list[dict[str, Any]], int]:
        """Like :meth:`read_batches`, plus the number of bytes Kafka's reader skipped at the
        end (a truncated final batch, as in a size-limited fetch response)."""
        reply = self.request("read_batches", hex=bytes(data).hex())
        return [_batch_from_json(b) for b in reply["batches"]], int(reply["trailingBytes"])

    def read_batches(self, data: bytes) -> list[dict[str, Any]]:
        """Kafka's reading of record batches (``MemoryRecords.readableRecords``).

        Each batch: ``magic``, ``baseOffset``, ``lastOffset``, ``count``, ``sizeInBytes``,
        ``compression``, ``timestampType`` (``create|log_append|none``), ``producerId``,
        ``producerEpoch``, ``baseSequence``, ``lastSequence``, ``transactional``, ``control``,
        ``partitionLeaderEpoch``, ``maxTimestamp``, ``deleteHorizonMs``, ``crc``, ``crcValid``
        (``ensureValid()``; ``crcError`` when false) and ``records``: ``offset``,
        ``timestamp``, ``key``, ``value`` (bytes or None), ``headers``
        (``[{"key": str, "value": bytes | None}]``), and for control records ``controlType``
        (and ``coordinatorEpoch`` for COMMIT/ABORT). ``recordsError`` is set when the records
        of a batch could not be read.
        """
        return self.read_batches_with_trailing(data)[0]

    def murmur2_hashes(self, keys: Sequence[bytes]) -> list[int]:
        """Kafka's ``Utils.murmur2`` of each key (signed 32-bit)."""
        reply = self.request("murmur2", keys=[_b64(k) for k in keys], numPartitions=1)
        return [int(h) for h in reply["hashes"]]

    def murmur2(self, keys: Sequence[bytes], num_partitions: int) -> list[int]:
        """The partition Kafka's built-in partitioner picks for each key:
        ``toPositive(murmur2(key)) % num_partitions``."""
        reply = self.request("murmur2", keys=[_b64(k) for k in keys], numPartitions=num_partitions)
        return [int(p) for p in reply["partitions"]]

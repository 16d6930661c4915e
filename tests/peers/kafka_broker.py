"""The Apache Kafka reference broker and its command-line tools, run from Maven Central's jars.

:class:`KafkaBroker` formats a fresh data directory and starts a single-node KRaft broker
(combined broker + controller) of the release pinned in ``tools/peers.py`` on free loopback
ports; it is ready once it answers a Metadata request listing itself. :class:`KafkaCli` runs
Kafka's CLI tools (``kafka-topics``, ``kafka-console-producer``, ...) through the same jars::

    with KafkaBroker() as broker:
        cli = KafkaCli()
        result = cli("kafka-topics", "--bootstrap-server", broker.bootstrap_servers, "--list")

Both raise :class:`PeerUnavailable` when Java or the jars (Maven Central) are missing.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, NamedTuple

from tests.peers.java import PeerUnavailable, _peers

__all__ = [
    "CLI_TOOLS",
    "BrokerStartError",
    "CliResult",
    "KafkaBroker",
    "KafkaCli",
    "PeerUnavailable",
    "broker_classpath",
]

#: The Java main class behind each script in Apache Kafka 4.1's ``bin/`` folder that rafka's
#: tests use (checked against the jars: ``kafka_2.13`` for the Scala ones, ``kafka-tools``).
CLI_TOOLS: dict[str, str] = {
    "kafka-topics": "org.apache.kafka.tools.TopicCommand",
    "kafka-console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "kafka-console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "kafka-get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "kafka-configs": "kafka.admin.ConfigCommand",
    "kafka-consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "kafka-dump-log": "kafka.tools.DumpLogSegments",
    "kafka-storage": "kafka.tools.StorageTool",
    "kafka-delete-records": "org.apache.kafka.tools.DeleteRecordsCommand",
    "kafka-log-dirs": "org.apache.kafka.tools.LogDirsCommand",
    "kafka-broker-api-versions": "org.apache.kafka.tools.BrokerApiVersionsCommand",
    "kafka-features": "org.apache.kafka.tools.FeatureCommand",
    "kafka-metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
    "kafka-transactions": "org.apache.kafka.tools.TransactionsCommand",
    "kafka-producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
    "kafka-consumer-perf-test": "org.apache.kafka.tools.ConsumerPerformance",
    "kafka-leader-election": "org.apache.kafka.tools.LeaderElectionCommand",
}

#: The broker's JVM: a modest heap and the serial collector keep it light on a 2-core machine;
#: the JIT stays fully on so throughput comparisons with rafka are fair.
BROKER_JVM_ARGS: tuple[str, ...] = (
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
    "-Dfile.encoding=UTF-8",
)

#: Short-lived tools (storage format, CLI commands): C1 only starts fastest.
TOOL_JVM_ARGS: tuple[str, ...] = (
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
    "-Dfile.encoding=UTF-8",
)

# Log4j 2: the broker logs INFO to a file only; tools log WARN to stderr like Kafka's scripts.
_BROKER_LOG4J = """\
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
"""

_TOOLS_LOG4J = """\
status = warn
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
"""


def _tools_log4j_file() -> Path:
    """The CLI tools' Log4j 2 config, kept next to the broker's jars (written once)."""
    path = Path(_peers.BROKER_DIR) / "tools-log4j2.properties"
    try:
        if path.read_text(encoding="utf-8") == _TOOLS_LOG4J:
            return path
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(_TOOLS_LOG4J, encoding="utf-8")
    tmp.replace(path)
    return path


def broker_classpath() -> str:
    """The reference broker's classpath (fetched from Maven Central on first use)."""
    return str(_peers.broker_classpath())


def _java() -> str:
    java = os.environ.get("RAFKA_JAVA") or shutil.which("java")
    if java is None:
        raise PeerUnavailable("java is not installed")
    return java


def property_value(value: object) -> str:
    """``value`` as written in a ``.properties`` file (booleans as ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kafka_uuid() -> str:
    """A random cluster id as Kafka prints them (URL-safe base64, no padding), never starting
    with ``-`` (command-line parsers would take it for an option)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not text.startswith("-"):
            return text


def _preexec() -> Callable[[], None] | None:
    """A ``preexec_fn`` giving the child SIGKILL when the test process dies (Linux), so a
    session killed outright leaves no broker behind; ``None`` elsewhere.

    PR_SET_PDEATHSIG fires when the forking *thread* exits, so it is only used from the main
    thread. libc is loaded here, in the parent: the child may only make the call.
    """
    if sys.platform != "linux" or threading.current_thread() is not threading.main_thread():
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def die_with_parent() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)

    return die_with_parent


def _metadata_brokers(host: str, port: int, timeout: float) -> int:
    """How many brokers a Metadata v1 request (no topics) to host:port lists.

    A hand-rolled exchange, independent of rafka's own protocol code: request header v1
    (api key 3, version 1, correlation id, client id), body = empty topic array; the response is
    header v0 (correlation id) then the brokers array first.
    """
    client_id = b"rafka-probe"
    body = struct.pack(">hhih", 3, 1, 7, len(client_id)) + client_id + struct.pack(">i", 0)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        head = _recv_exact(sock, 4)
        (size,) = struct.unpack(">i", head)
        data = _recv_exact(sock, size)
    correlation_id, brokers = struct.unpack_from(">ii", data)
    if correlation_id != 7:
        raise ConnectionError(f"unexpected correlation id {correlation_id}")
    return int(brokers)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks += chunk
    return bytes(chunks)


class BrokerStartError(RuntimeError):
    """The broker did not become ready (the message carries the tail of its log)."""


# Brokers still running when the interpreter exits (a session cut short) are stopped then.
_RUNNING: weakref.WeakSet[KafkaBroker] = weakref.WeakSet()


@atexit.register
def _stop_leftovers() -> None:
    for broker in list(_RUNNING):
        with contextlib.suppress(Exception):
            broker.stop(timeout=5)


class KafkaBroker:
    """One Apache Kafka broker (KRaft, combined broker + controller, node id 1) on 127.0.0.1.

    ``overrides`` are extra ``server.properties`` entries (they win over the defaults below);
    ``work_dir`` holds the config, the data (``data/``) and ``server.log`` (a fresh temporary
    folder, removed by :meth:`stop`, when not given). Start with :meth:`start` or ``with``.
    ``startup_seconds`` is the time from starting the storage format to ready.
    """

    NODE_ID = 1

    def __init__(
        self,
        overrides: Mapping[str, object] | None = None,
        *,
        work_dir: Path | str | None = None,
        classpath: str | None = None,
        java: str | None = None,
        jvm_args: Sequence[str] = BROKER_JVM_ARGS,
        start_timeout: float = 120.0,
    ) -> None:
        self.overrides = {k: property_value(v) for k, v in (overrides or {}).items()}
        self._own_dir = work_dir is None
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="rafka-kafka-")).resolve()
        self.classpath = classpath
        self.java = java
        self.jvm_args = tuple(jvm_args)
        self.start_timeout = start_timeout
        self.node_id = self.NODE_ID
        self.port = 0
        self.controller_port = 0
        self.cluster_id = _kafka_uuid()
        self.startup_seconds: float | None = None
        self.format_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdout: IO[bytes] | None = None

    # -- paths and config -----------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self.work_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.work_dir / "server.log"

    @property
    def config_file(self) -> Path:
        return self.work_dir / "server.properties"

    @property
    def bootstrap_servers(self) -> str:
        if not self.port:
            raise RuntimeError("the broker is not started")
        return f"127.0.0.1:{self.port}"

    def properties(self) -> dict[str, str]:
        """The ``server.properties`` this broker runs with."""
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": f"{self.node_id}@127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # KIP-848 members heartbeat at the coordinator's interval (5 s by default): a
            # shorter one keeps consumer-protocol rebalances in tests to a second or so.
            "group.consumer.heartbeat.interval.ms": "500",
            "group.consumer.min.heartbeat.interval.ms": "500",
        }
        props.update(self.overrides)
        return props

    def _write_config(self) -> None:
        lines = [f"{key}={value}" for key, value in self.properties().items()]
        self.config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        log4j = _BROKER_LOG4J.format(log=self.log_file.as_posix())
        (self.work_dir / "log4j2.properties").write_text(log4j, encoding="utf-8")

    # -- lifecycle ------------------------------------------------------------------------

    def _java_cmd(self, main: str, *args: str, jvm_args: Sequence[str]) -> list[str]:
        log4j = self.work_dir / "log4j2.properties"
        return [
            self.java or _java(),
            *jvm_args,
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={self.work_dir}",
            "-cp",
            self.classpath or broker_classpath(),
            main,
            *args,
        ]

    def _format(self) -> None:
        cmd = self._java_cmd(
            CLI_TOOLS["kafka-storage"],
            "format",
            "--config",
            str(self.config_file),
            "--cluster-id",
            self.cluster_id,
            "--ignore-formatted",
            jvm_args=TOOL_JVM_ARGS,
        )
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=self.start_timeout)
        if proc.returncode != 0:
            raise BrokerStartError(f"kafka-storage format failed:\n{proc.stdout}{proc.stderr}")

    def start(self) -> KafkaBroker:
        """Format storage, start the broker and wait until it serves metadata.

        Ports are picked free just before use; if another process grabs one first, the start is
        retried on new ports. Raises :class:`BrokerStartError` (with the log's tail) otherwise.
        """
        if self._proc is not None:
            return self
        if self.classpath is None:
            self.classpath = broker_classpath()
        self.java = self.java or _java()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):
            try:
                self._start_once()
                return self
            except BrokerStartError as exc:
                self.stop(remove=False)
                if "Address already in use" not in str(exc) or attempt == 2:
                    raise
                shutil.rmtree(self.data_dir, ignore_errors=True)
            except BaseException:  # interrupted, or a Java start failure: leave nothing running
                self.stop(remove=False)
                raise
        raise AssertionError("unreachable")

    def _start_once(self) -> None:
        self.port, self.controller_port = free_port(), free_port()
        while self.controller_port == self.port:
            self.controller_port = free_port()
        started = time.monotonic()
        self._write_config()
        self._format()
        self.format_seconds = time.monotonic() - started
        self._launch(started)

    def restart(self, *, kill: bool = False, down_seconds: float = 0.0) -> None:
        """Stop the broker (SIGTERM, or SIGKILL with ``kill``: no clean shutdown) and start it
        again on the same ports and data, so connected clients see the same address come
        back. Returns once it serves metadata again."""
        proc = self._proc
        if kill and proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        self.stop(remove=False)
        time.sleep(down_seconds)
        self._launch(time.monotonic())

    def _launch(self, started: float) -> None:
        self._spawn()
        self._wait_ready(started)
        self.startup_seconds = time.monotonic() - started

    def _spawn(self) -> None:
        """Start the broker's JVM on the config written (returns at once)."""
        cmd = self._java_cmd("kafka.Kafka", str(self.config_file), jvm_args=self.jvm_args)
        # stdout/stderr (JVM crash reports, early errors) go to a file nobody has to drain.
        self._stdout = open(self.work_dir / "stdout.log", "wb")  # noqa: SIM115 (closed by stop)
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=subprocess.STDOUT,
            cwd=self.work_dir,
            preexec_fn=_preexec(),
        )
        _RUNNING.add(self)

    def _wait_ready(self, started: float) -> None:
        deadline = started + self.start_timeout
        while True:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                raise BrokerStartError(f"the Kafka broker exited early:\n{self.log_tail()}")
            try:
                if _metadata_brokers("127.0.0.1", self.port, timeout=2.0) > 0:
                    return
            except (OSError, struct.error):
                pass
            if time.monotonic() > deadline:
                raise BrokerStartError(
                    f"the Kafka broker was not ready within {self.start_timeout}s:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.05)

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def log_tail(self, lines: int = 60) -> str:
        """The end of the broker's log and of its stdout/stderr."""
        parts = []
        for path in (self.log_file, self.work_dir / "stdout.log"):
            with contextlib.suppress(OSError):
                text = path.read_text(encoding="utf-8", errors="replace").splitlines()
                if text:
                    parts.append(f"--- {path.name}\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)

    def stop(self, timeout: float = 20.0, *, remove: bool = True) -> None:
        """SIGTERM (a clean shutdown), SIGKILL after ``timeout`` seconds; idempotent.

        A temporary work directory is removed unless ``remove`` is false.
        """
        proc, self._proc = self._proc, None
        _RUNNING.discard(self)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._stdout is not None:
            self._stdout.close()
            self._stdout = None
        if remove and self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"{self.bootstrap_servers}" if self.is_running() else "stopped"
        return f"<KafkaBroker {state} work_dir={self.work_dir}>"


class CliResult(NamedTuple):
    """What one CLI tool run returned; unpacks as ``code, out, err = kafka_cli(...)``."""

    returncode: int
    stdout: str
    stderr: str

    def check(self) -> CliResult:
        """``self`` if the tool exited 0, else :class:`AssertionError` with its output."""
        if self.returncode != 0:
            raise AssertionError(
                f"exit code {self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"
            )
        return self


class KafkaCli:
    """Runs Apache Kafka's CLI tools by script name (see :data:`CLI_TOOLS`)::

    code, out, err = KafkaCli()("kafka-topics", "--bootstrap-server", bs, "--list")
    """

    def __init__(
        self,
        classpath: str | None = None,
        *,
        java: str | None = None,
        jvm_args: Sequence[str] = TOOL_JVM_ARGS,
        timeout: float = 60.0,
    ) -> None:
        self.classpath = classpath or broker_classpath()
        self.java = java or _java()
        self.jvm_args = tuple(jvm_args)
        self.timeout = timeout
        self._log4j = _tools_log4j_file()

    def command(self, tool: str, *args: str) -> list[str]:
        """The command line running ``tool`` (a script name or a Java main class)."""
        main = CLI_TOOLS.get(tool.removesuffix(".sh"), tool)
        return [
            self.java,
            *self.jvm_args,
            f"-Dlog4j2.configurationFile={self._log4j}",
            "-cp",
            self.classpath,
            main,
            *map(str, args),
        ]

    def __call__(
        self,
        tool: str,
        *args: str | int | os.PathLike[str],
        input: str | None = None,
        timeout: float | None = None,
    ) -> CliResult:
        """Run ``tool`` with ``args`` (and ``input`` on stdin); its exit code and output.

        Raises :class:`subprocess.TimeoutExpired` (after killing it) past ``timeout``.
        """
        cmd = self.command(tool, *map(str, args))
        proc = subprocess.run(
            cmd,
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout if timeout is not None else self.timeout,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    def close(self) -> None:
        """Nothing to release (kept so callers may treat it like the other peers)."""

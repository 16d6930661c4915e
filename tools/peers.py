"""Obtain and cache rafka's peers under ``.peers/`` (ignored by git).

Peers are the real implementations rafka is judged against: Apache Kafka's jars from Maven
Central (message specs, kafka-clients, the broker and its CLI tools), small Java programs built
against them, a Go program built with franz-go, and the Python clients from PyPI.

Usage::

    python tools/peers.py fetch     # everything this machine can provide
    python tools/peers.py specs     # only the pinned release's message specs
    python tools/peers.py java      # only the Java peers; prints their classpath
    python tools/peers.py broker    # only the Apache Kafka broker + CLI jars; prints the classpath
    python tools/peers.py go        # only the franz-go peer; prints the binary's path

Outside CI a missing ``mvn``/``java``/``javac``/``go`` (or Python client) is reported and skipped;
with ``CI=true`` it is an error, because interop tests must run there.

Python API for the test suite: :func:`specs_dir`, :func:`build_java` (fetch and compile if
needed, return the classpath), :func:`java_classpath` (the classpath of an existing build,
:class:`PeerUnavailable` if there is none), :func:`broker_classpath` (fetch the reference broker's
jars if needed, return their classpath), :func:`build_go` (build the franz-go peer if needed,
return the binary) and :func:`check_python_clients`. ``RAFKA_PEERS_DIR`` moves the cache
elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

#: The one Apache Kafka release rafka pins for its specs, reference broker and Java peers.
KAFKA_RELEASE = "4.1.1"

ROOT = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("RAFKA_PEERS_DIR") or ROOT / ".peers").resolve()
M2 = PEERS / "m2"

#: The Maven plugin that copies artifacts; pinned so builds do not drift.
MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"

#: Java peers: sources and the pom listing their dependencies live in the repository, the jars
#: (``lib/``) and compiled classes (``classes/``) under ``.peers/java``.
JAVA_PROJECT = ROOT / "tests" / "java"
JAVA_POM = JAVA_PROJECT / "pom.xml"
JAVA_SRC = JAVA_PROJECT / "src"
JAVA_DIR = PEERS / "java"
JAVA_LIB = JAVA_DIR / "lib"
JAVA_CLASSES = JAVA_DIR / "classes"
#: The Java language level the peers are compiled for (records, HexFormat: 17).
JAVA_RELEASE = "17"
STAMP = ".stamp"

#: Jars carrying spec folders, and the folder layout of ``../shared/kafka-specs`` they map to.
SPEC_JARS: dict[str, dict[str, str]] = {
    "kafka-clients": {"common/message/": "message"},
    "kafka-metadata": {"common/metadata/": "metadata"},
    "kafka-raft": {"common/message/": "raft"},
    "kafka-group-coordinator": {"common/message/": "group-coordinator"},
    "kafka-transaction-coordinator": {"common/message/": "transaction-coordinator"},
    "kafka-share-coordinator": {"common/message/": "share-coordinator"},
    "kafka-streams": {"common/message/": "streams"},
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


class PeerUnavailable(RuntimeError):
    """A peer cannot be obtained on this machine (no mvn, no network to Maven Central, ...)."""


def mvn_copy(coordinate: str, dest: Path) -> Path:
    """Copy one Maven artifact (``group:artifact:version[:packaging[:classifier]]``) to ``dest``."""
    if shutil.which("mvn") is None:
        raise PeerUnavailable("mvn is not installed")
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [
        "mvn",
        "-q",
        "-B",
        f"-Dmaven.repo.local={M2}",
        f"{MAVEN_DEPENDENCY_PLUGIN}:copy",
        f"-Dartifact={coordinate}",
        f"-DoutputDirectory={dest}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PeerUnavailable(f"mvn could not fetch {coordinate}:\n{proc.stdout}{proc.stderr}")
    parts = coordinate.split(":")
    return dest / f"{parts[1]}-{parts[2]}.jar"


def specs_dir(release: str = KAFKA_RELEASE) -> Path:
    """The pinned release's spec folders, extracted from its jars (fetched on first use)."""
    target = PEERS / f"kafka-specs-{release}"
    done = target / ".complete"
    if done.exists():
        return target
    jars = PEERS / "spec-jars"
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for artifact, folders in SPEC_JARS.items():
        jar = mvn_copy(f"org.apache.kafka:{artifact}:{release}", jars)
        with zipfile.ZipFile(jar) as zf:
            for name in zf.namelist():
                for prefix, folder in folders.items():
                    if (
                        name.startswith(prefix)
                        and name.endswith(".json")
                        and "/" not in name[len(prefix) :]
                    ):
                        out = tmp / folder / name[len(prefix) :]
                        out.parent.mkdir(parents=True, exist_ok=True)
                        out.write_bytes(zf.read(name))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    done.write_text(release + "\n")
    return target


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise PeerUnavailable(f"{tool} is not installed (the Java peers need a JDK 17+ and Maven)")
    return path


@contextlib.contextmanager
def _build_lock(folder: Path = JAVA_DIR) -> Iterator[None]:
    """Serialise builds of one peer (its cache ``folder``) between processes (parallel test
    sessions)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        try:
            import fcntl
        except ImportError:  # not POSIX: no locking, builds are still atomic renames
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _java_lib_hash(release: str) -> str:
    """What ``lib/`` depends on: the release and the dependency list."""
    h = hashlib.sha256()
    for part in (release, MAVEN_DEPENDENCY_PLUGIN, JAVA_POM.read_text()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _java_sources() -> list[Path]:
    return sorted(JAVA_SRC.rglob("*.java"))


def _java_classes_hash(release: str) -> str:
    """What ``classes/`` depends on: the jars compiled against and every source file."""
    h = hashlib.sha256()
    h.update(f"{_java_lib_hash(release)}\0{JAVA_RELEASE}\0".encode())
    for src in _java_sources():
        h.update(src.relative_to(JAVA_SRC).as_posix().encode() + b"\0")
        h.update(src.read_bytes() + b"\0")
    return h.hexdigest()


def _stamp_matches(folder: Path, digest: str) -> bool:
    try:
        return (folder / STAMP).read_text().strip() == digest
    except OSError:
        return False


def _replace_dir(tmp: Path, target: Path, digest: str) -> None:
    (tmp / STAMP).write_text(digest + "\n")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def _fetch_java_lib(release: str, digest: str) -> None:
    mvn = _require("mvn")
    tmp = JAVA_LIB.with_name(JAVA_LIB.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cmd = [
        mvn,
        "-q",
        "-B",
        f"-Dmaven.repo.local={M2}",
        "-f",
        str(JAVA_POM),
        f"-Dkafka.version={release}",
        f"{MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies",
        f"-DoutputDirectory={tmp}",
        "-DincludeScope=runtime",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not any(tmp.glob("kafka-clients-*.jar")):
        raise PeerUnavailable(
            f"mvn could not fetch the Java peers' dependencies:\n{proc.stdout}{proc.stderr}"
        )
    _replace_dir(tmp, JAVA_LIB, digest)


def _compile_java(digest: str) -> None:
    javac = _require("javac")
    sources = _java_sources()
    if not sources:
        raise PeerUnavailable(f"no Java sources under {JAVA_SRC}")
    tmp = JAVA_CLASSES.with_name(JAVA_CLASSES.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cmd = [
        javac,
        "--release",
        JAVA_RELEASE,
        "-encoding",
        "UTF-8",
        "-Xlint:all,-options",
        "-d",
        str(tmp),
        "-cp",
        _lib_classpath(),
        *map(str, sources),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        # A compile error is a bug in the repository, not a missing peer: never skip it.
        raise RuntimeError(f"javac failed:\n{proc.stdout}{proc.stderr}")
    _replace_dir(tmp, JAVA_CLASSES, digest)


def _lib_classpath() -> str:
    return os.pathsep.join(str(jar) for jar in sorted(JAVA_LIB.glob("*.jar")))


def build_java(release: str = KAFKA_RELEASE) -> str:
    """Fetch the Java peers' jars and compile their sources when stale; return the classpath.

    Raises :class:`PeerUnavailable` when ``mvn``, ``javac`` or ``java`` is missing or Maven
    Central cannot be reached.
    """
    _require("java")
    lib_digest = _java_lib_hash(release)
    classes_digest = _java_classes_hash(release)
    if not (_stamp_matches(JAVA_LIB, lib_digest) and _stamp_matches(JAVA_CLASSES, classes_digest)):
        with _build_lock():
            # Re-check under the lock: another process may have just built it.
            if not _stamp_matches(JAVA_LIB, lib_digest):
                _fetch_java_lib(release, lib_digest)
            if not _stamp_matches(JAVA_CLASSES, classes_digest):
                _compile_java(classes_digest)
    return java_classpath(release)


def java_classpath(release: str = KAFKA_RELEASE) -> str:
    """The classpath of the built Java peers (classes first, then the jars).

    Raises :class:`PeerUnavailable` when they are not built, or are stale for the current
    sources or release; ``python tools/peers.py fetch`` (or :func:`build_java`) builds them.
    """
    if not (
        _stamp_matches(JAVA_LIB, _java_lib_hash(release))
        and _stamp_matches(JAVA_CLASSES, _java_classes_hash(release))
    ):
        raise PeerUnavailable(
            f"the Java peers for Apache Kafka {release} are not built (or are stale): "
            "run `python tools/peers.py fetch`"
        )
    return os.pathsep.join([str(JAVA_CLASSES), _lib_classpath()])


# -- the Apache Kafka reference broker -------------------------------------------------------

#: The reference broker and its CLI tools: every runtime jar of ``kafka_2.13`` and
#: ``kafka-tools`` plus a Log4j 2 backend, listed by a pom in the repository and copied by Maven
#: into ``.peers/kafka-broker/lib``.
BROKER_POM = JAVA_PROJECT / "broker" / "pom.xml"
BROKER_DIR = PEERS / "kafka-broker"
BROKER_LIB = BROKER_DIR / "lib"


def _broker_lib_hash(release: str) -> str:
    h = hashlib.sha256()
    for part in (release, MAVEN_DEPENDENCY_PLUGIN, BROKER_POM.read_text()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _fetch_broker_lib(release: str, digest: str) -> None:
    mvn = _require("mvn")
    tmp = BROKER_LIB.with_name(BROKER_LIB.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cmd = [
        mvn,
        "-q",
        "-B",
        f"-Dmaven.repo.local={M2}",
        "-f",
        str(BROKER_POM),
        f"-Dkafka.version={release}",
        f"{MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies",
        f"-DoutputDirectory={tmp}",
        "-DincludeScope=runtime",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not any(tmp.glob(f"kafka_2.13-{release}.jar")):
        raise PeerUnavailable(
            f"mvn could not fetch Apache Kafka {release}'s broker jars:\n{proc.stdout}{proc.stderr}"
        )
    _replace_dir(tmp, BROKER_LIB, digest)


def broker_classpath(release: str = KAFKA_RELEASE) -> str:
    """The classpath of Apache Kafka ``release``'s broker and CLI tools (``kafka.Kafka``,
    ``kafka.tools.StorageTool``, ``org.apache.kafka.tools.*``), fetched from Maven Central on
    first use (afterwards a hash check).

    Raises :class:`PeerUnavailable` when ``java`` or ``mvn`` is missing or Maven Central cannot be
    reached.
    """
    _require("java")
    digest = _broker_lib_hash(release)
    if not _stamp_matches(BROKER_LIB, digest):
        with _build_lock(BROKER_DIR):
            if not _stamp_matches(BROKER_LIB, digest):
                _fetch_broker_lib(release, digest)
    return os.pathsep.join(str(jar) for jar in sorted(BROKER_LIB.glob("*.jar")))


# -- the franz-go peer -----------------------------------------------------------------------

#: Go peers: module sources in the repository, the build (and Go's module and build caches, so
#: CI can cache the whole folder) under ``.peers/go``.
GO_PROJECT = ROOT / "tests" / "go"
GO_DIR = PEERS / "go"
#: Go programs built by :func:`build_go`: name -> source folder (a Go module).
GO_PROGRAMS: dict[str, Path] = {"kgo-peer": GO_PROJECT / "kgo-peer"}


def go_env() -> dict[str, str]:
    """The environment ``go`` runs in: caches under ``.peers/go``, the local toolchain only."""
    env = dict(os.environ)
    env.update(
        GOPATH=str(GO_DIR / "path"),
        GOMODCACHE=str(GO_DIR / "mod"),
        GOCACHE=str(GO_DIR / "cache"),
        GOFLAGS="-mod=mod -buildvcs=false",
        GOTOOLCHAIN="local",
        CGO_ENABLED="0",
    )
    return env


def _go_hash(go: str, source: Path) -> str:
    """What a Go build depends on: the toolchain, go.mod/go.sum and every source file."""
    proc = subprocess.run([go, "version"], capture_output=True, text=True, env=go_env())
    h = hashlib.sha256(proc.stdout.encode() + b"\0")
    for path in sorted(source.rglob("*")):
        if path.is_file() and (path.suffix == ".go" or path.name in ("go.mod", "go.sum")):
            h.update(path.relative_to(source).as_posix().encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def _build_go_program(go: str, name: str, source: Path, digest: str) -> None:
    env = go_env()
    # Downloading modules is the step that needs the network: its failure means "unavailable".
    proc = subprocess.run(
        [go, "mod", "download"], cwd=source, capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        raise PeerUnavailable(
            f"go could not download {name}'s modules:\n{proc.stdout}{proc.stderr}"
        )
    tmp = GO_DIR / f"{name}.tmp"
    tmp.unlink(missing_ok=True)
    cmd = [go, "build", "-trimpath", "-o", str(tmp), "."]
    proc = subprocess.run(cmd, cwd=source, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        # A compile error is a bug in the repository, not a missing peer: never skip it.
        raise RuntimeError(f"go build of {name} failed:\n{proc.stdout}{proc.stderr}")
    tmp.replace(GO_DIR / name)
    (GO_DIR / f"{name}{STAMP}").write_text(digest + "\n")


def build_go(name: str = "kgo-peer") -> Path:
    """Build the Go peer ``name`` (``tests/go/<name>``) when stale; return the binary's path.

    Raises :class:`PeerUnavailable` when ``go`` is missing or the Go module proxy cannot be
    reached.
    """
    go = shutil.which("go")
    if go is None:
        raise PeerUnavailable("go is not installed (the franz-go peer needs a Go toolchain)")
    source = GO_PROGRAMS[name]
    binary = GO_DIR / name
    digest = _go_hash(go, source)
    stamp = GO_DIR / f"{name}{STAMP}"

    def fresh() -> bool:
        try:
            return binary.exists() and stamp.read_text().strip() == digest
        except OSError:
            return False

    if not fresh():
        with _build_lock(GO_DIR):
            if not fresh():
                _build_go_program(go, name, source, digest)
    return binary


# -- Python clients --------------------------------------------------------------------------

#: Python client libraries the interop tests drive: import name -> PyPI name.
PYTHON_CLIENTS: dict[str, str] = {
    "confluent_kafka": "confluent-kafka",
    "kafka": "kafka-python",
    "aiokafka": "aiokafka",
}


def check_python_clients() -> str:
    """The installed Python clients' versions; :class:`PeerUnavailable` names missing ones."""
    import importlib.metadata
    import importlib.util

    found, missing = [], []
    for module, dist in PYTHON_CLIENTS.items():
        try:
            if importlib.util.find_spec(module) is None:
                raise ImportError(module)
            found.append(f"{dist} {importlib.metadata.version(dist)}")
        except (ImportError, importlib.metadata.PackageNotFoundError):
            missing.append(dist)
    if missing:
        raise PeerUnavailable(
            f"Python clients not installed: {', '.join(missing)} (pip install {' '.join(missing)})"
        )
    return ", ".join(found)


def fetch_all() -> int:
    """Fetch every peer this machine can provide; fail in CI when one is missing."""
    steps: list[tuple[str, Callable[[], object]]] = [
        ("message specs", specs_dir),
        ("java peers", build_java),
        ("kafka broker", broker_classpath),
        ("franz-go peer", build_go),
        ("python clients", check_python_clients),
    ]
    failed = False
    for what, step in steps:
        started = time.monotonic()
        try:
            step()
            print(f"peers: {what}: ok ({time.monotonic() - started:.1f}s)")
        except PeerUnavailable as exc:
            failed = True
            print(f"peers: {what}: unavailable: {exc}", file=sys.stderr)
    if failed and in_ci():
        print("peers: CI=true and a peer is missing: failing", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "fetch"
    if cmd == "fetch":
        return fetch_all()
    if cmd == "specs":
        print(specs_dir())
        return 0
    single = {"java": build_java, "broker": broker_classpath, "go": build_go}
    if cmd in single:
        try:
            print(single[cmd]())
        except PeerUnavailable as exc:
            print(f"peers: {cmd}: unavailable: {exc}", file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Obtain and cache rafka's peers under ``.peers/`` (ignored by git).

Peers are the real implementations rafka is judged against: Apache Kafka's jars from Maven
Central (message specs, kafka-clients, the broker and its CLI tools), small Java programs built
against them, and later Go programs built with franz-go.

Usage::

    python tools/peers.py fetch     # everything this machine can provide
    python tools/peers.py specs     # only the pinned release's message specs
    python tools/peers.py java      # only the Java peers; prints their classpath

Outside CI a missing ``mvn``/``java``/``javac`` is reported and skipped; with ``CI=true`` it is an
error, because interop tests must run there.

Python API for the test suite: :func:`specs_dir`, :func:`build_java` (fetch and compile if
needed, return the classpath) and :func:`java_classpath` (the classpath of an existing build,
:class:`PeerUnavailable` if there is none). ``RAFKA_PEERS_DIR`` moves the cache elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
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
def _build_lock() -> Iterator[None]:
    """Serialise builds of the Java peers between processes (parallel test sessions)."""
    JAVA_DIR.mkdir(parents=True, exist_ok=True)
    with open(JAVA_DIR / ".lock", "w") as fh:
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


def fetch_all() -> int:
    """Fetch every peer this machine can provide; fail in CI when one is missing."""
    steps = [("message specs", specs_dir), ("java peers", build_java)]
    failed = False
    for what, step in steps:
        try:
            step()
            print(f"peers: {what}: ok")
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
    if cmd == "java":
        try:
            print(build_java())
        except PeerUnavailable as exc:
            print(f"peers: java peers: unavailable: {exc}", file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The Java client peer: kafka-clients' Producer, Consumer and Admin behind a command line.

:class:`JavaClients` runs ``java -cp <peers classpath> rafka.peer.Clients <command> ...``
(``tests/java/src/rafka/peer/Clients.java``, compiled by ``tools/peers.py``) once per operation;
its options and JSON lines are documented there and in :mod:`tests.peers.clients`::

    java = JavaClients()
    java.create_topic(bootstrap, "t", partitions=3)
    java.produce(bootstrap, "t", generated_records(10, keyed=True)).check()
    records = java.consume(bootstrap, "t", count=10).check().records
    java.run("list-offsets", bootstrap=bootstrap, topic="t", spec="max-timestamp")
    with java.start("group-consume", bootstrap=bootstrap, topic="t", group="g") as member:
        member.wait_for(lambda lines: any(l["type"] == "committed" for l in lines))
        member.stop()

Options only this driver has: ``produce --sequential`` (each record waits for the previous
one's acknowledgement: one Produce request per record) and ``--metric NAME`` (``produce``,
``consume``: ``metric`` lines with the client's metrics of that name, e.g.
``produce-throttle-time-max``).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence

from tests.peers.clients import DriverClient
from tests.peers.java import PeerUnavailable, build_java, java_classpath

__all__ = ["CLIENT_JVM_ARGS", "JavaClients"]

#: A short-lived client JVM: C1 only and the serial collector start fastest.
CLIENT_JVM_ARGS: tuple[str, ...] = (
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Dfile.encoding=UTF-8",
)


class JavaClients(DriverClient):
    """kafka-clients (the pinned Apache Kafka release) as a :class:`PeerClient`.

    ``build=True`` fetches and compiles the Java peers first when needed; otherwise an existing
    build is required. Raises :class:`PeerUnavailable` without Java or a build.
    """

    name = "java"

    def __init__(
        self,
        classpath: str | None = None,
        *,
        build: bool = True,
        java: str | None = None,
        jvm_args: Sequence[str] = CLIENT_JVM_ARGS,
        timeout: float = 60.0,
    ) -> None:
        if classpath is None:
            classpath = build_java() if build else java_classpath()
        java = java or shutil.which("java")
        if java is None:
            raise PeerUnavailable("java is not installed")
        super().__init__([java, *jvm_args, "-cp", classpath, "rafka.peer.Clients"], timeout=timeout)

"""pytest fixtures handing out rafka's peers (registered from ``tests/conftest.py``).

``java_codec``: one :class:`~tests.peers.java.JavaCodec` JVM for the whole session. Outside CI a
machine that cannot build the Java peer (no JDK/Maven, no Maven Central) skips the test with the
reason; with ``CI=true`` that is a failure. Tests using it carry the ``java`` marker, so
``-m "not java"`` deselects them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.peers.java import JavaCodec, PeerUnavailable, build_java, in_ci


def _start_java_codec() -> JavaCodec | str:
    """A running codec, or the reason there cannot be one on this machine."""
    try:
        return JavaCodec(build_java())  # build_java is a hash check when already built
    except PeerUnavailable as exc:
        return str(exc)


@pytest.fixture(scope="session")
def java_codec() -> Iterator[JavaCodec]:
    """Apache Kafka's serializers (kafka-clients at the pinned release) in one JVM."""
    codec = _start_java_codec()
    if isinstance(codec, str):
        if in_ci():
            pytest.fail(f"CI=true and the Java peer is unavailable: {codec}", pytrace=False)
        pytest.skip(f"Java peer unavailable: {codec}")
    try:
        codec.ping()
        yield codec
    finally:
        codec.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "java_codec" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.java)

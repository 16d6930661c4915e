"""Fixtures of the fault tests: ``target``, each single-broker scenario on rafka and on Apache
Kafka behind rafka's fault proxy; ``cluster``, each multi-broker scenario on three rafka brokers
and on three Apache Kafka nodes behind fault proxies (see targets.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.targets import (
    ClusterTarget,
    FaultTarget,
    KafkaClusterTarget,
    KafkaTarget,
    RafkaClusterTarget,
    RafkaTarget,
)
from tests.peers.java import PeerUnavailable
from tests.peers.kafka_cluster import KafkaCluster
from tests.peers.kafka_fixtures import STARTED_CLUSTERS, unavailable


@pytest.fixture(params=["rafka", "kafka"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FaultTarget]:
    """The cluster a side-by-side scenario runs on: a one-broker rafka cluster, or the
    session's Kafka broker behind the fault proxy (same plans, same journal queries)."""
    made: FaultTarget
    if request.param == "rafka":
        made = RafkaTarget(str(tmp_path / "rafka"))
    else:
        made = KafkaTarget(request.getfixturevalue("kafka_fault_proxy"))
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="package")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """Three Apache Kafka nodes (KRaft, each broker and controller), each behind its own
    :class:`~tests.peers.fault_proxy.FaultProxy`, shared by this package's tests and stopped
    after them (idle, the three JVMs still cost some CPU)."""
    cluster = KafkaCluster(tmp_path_factory.mktemp("kafka-cluster"))
    try:
        try:
            cluster.start()
        except PeerUnavailable as exc:
            unavailable("the Apache Kafka reference broker", exc)
        STARTED_CLUSTERS.append(cluster)
        yield cluster
    finally:
        cluster.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "on_disk: the rafka side of a multi-broker fault scenario keeps its logs on disk (a "
        "killed broker recovers them when it starts again; Kafka's are always on disk)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The Kafka side of a side-by-side scenario needs Java: give it the ``java`` marker (its
    Kafka fixture is asked for at run time, where tests/peers/kafka_fixtures.py cannot see it)."""
    here = Path(__file__).parent
    for item in items:
        params = getattr(item, "callspec", None)
        if params is None or here not in item.path.parents:
            continue
        if "kafka" in (params.params.get("target"), params.params.get("cluster")):
            item.add_marker(pytest.mark.java)


@pytest.fixture(params=["rafka", "kafka"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClusterTarget]:
    """The three brokers a side-by-side multi-broker scenario runs on: a rafka cluster (in
    memory, on disk for tests marked ``on_disk``), or the package's Kafka cluster behind its
    fault proxies (every broker running and healed, fresh journals)."""
    made: ClusterTarget
    if request.param == "rafka":
        on_disk = request.node.get_closest_marker("on_disk") is not None
        made = RafkaClusterTarget(str(tmp_path / "rafka") if on_disk else None)
    else:
        made = KafkaClusterTarget(request.getfixturevalue("kafka_cluster"))
    try:
        yield made
    finally:
        made.close()

"""rafka's pytest plugin: Kafka clusters, topics and clients as fixtures.

Registered through the ``pytest11`` entry point ``rafka`` (disable with ``-p no:rafka``).
Importing it imports nothing of rafka: clusters start on first use.

Fixtures (see ``docs/testing.md``):

=========================  =========  ====================================================
``rafka_session_cluster``  session    one in-memory :class:`rafka.Cluster` per process
                                      (per xdist worker), listening on a free loopback port
``rafka_cluster``          function   this test's cluster: its own when the test carries
                                      ``@pytest.mark.rafka(...)``, else the session one
``kafka_bootstrap``        function   ``rafka_cluster.bootstrap_servers``
``rafka_topic``            function   a new topic named after the test, deleted afterwards
``rafka_group``            function   a group id no other test uses
``rafka_producer`` ...     function   rafka's sync Producer/Consumer/Admin, in process
``async_rafka_producer``   function   rafka's async clients over TCP (any event loop: anyio's
   ...                                plugin on asyncio or trio, pytest-asyncio)
=========================  =========  ====================================================

Markers: ``@pytest.mark.rafka(brokers=3, config={...}, faults=[...], **cluster_kwargs)`` gives
the test a cluster of its own; ``@pytest.mark.rafka_topic(partitions=3, replication_factor=1,
config={...})`` (or indirect parametrization of ``rafka_topic``) shapes its topic.

On a failing test the plugin adds a "rafka" section to the report: the topics and groups the
test touched and, when the cluster keeps a request journal, its recent requests
(``--rafka-report=off`` turns it off).
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from typing import TYPE_CHECKING, Any

import attrs
import pytest

if TYPE_CHECKING:
    from rafka.clients.admin import AsyncAdmin
    from rafka.clients.consumer import AsyncConsumer
    from rafka.clients.consumer.sync import Consumer
    from rafka.clients.producer import AsyncProducer
    from rafka.clients.sync import Admin, Producer
    from rafka.cluster.snapshot import ClusterSnapshot
    from rafka.embedded import Cluster

__all__ = ["DEFAULT_BROKER_CONFIG"]

#: Broker settings of the plugin's clusters unless overridden (as Kafka test harnesses do:
#: groups form without the 3 s initial rebalance delay; one offsets partition is enough).
DEFAULT_BROKER_CONFIG: dict[str, Any] = {
    "group.initial.rebalance.delay.ms": 0,
    "offsets.topic.num.partitions": 1,
}

_MARKERS = (
    "rafka(brokers=1, config=None, faults=None, **cluster_kwargs): give the test a cluster of "
    "its own (an in-memory rafka.Cluster listening on a free loopback port)",
    "rafka_topic(partitions=1, replication_factor=-1, config=None): shape the rafka_topic "
    "fixture's topic",
)
_TOUCHED = pytest.StashKey["_Touched"]()
_SESSION = pytest.StashKey["_SessionCluster"]()
_names = itertools.count(1)


@attrs.define
class _Touched:
    """What a test used of a cluster, for the failure report."""

    cluster: Cluster
    topics_before: set[str]
    groups_before: set[str]
    topics: list[str] = attrs.Factory(list)


@attrs.define
class _SessionCluster:
    cluster: Cluster
    baseline: ClusterSnapshot | None = None


# ------------------------------------------------------------------------------------ hooks


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rafka", "rafka (in-process Kafka clusters)")
    group.addoption(
        "--rafka-report",
        choices=("failures", "off"),
        default="failures",
        help="add the topics, groups and requests a failing test touched to its report "
        "(default: failures)",
    )
    parser.addini("rafka_brokers", "brokers of the session cluster (default 1)", default="1")
    parser.addini(
        "rafka_broker_config",
        "broker settings of the plugin's clusters, one key=value per line",
        type="linelist",
        default=[],
    )
    parser.addini(
        "rafka_reset",
        "restore the session cluster to its starting snapshot after every test using it",
        type="bool",
        default=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    for marker in _MARKERS:
        config.addinivalue_line("markers", marker)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    touched = item.stash.get(_TOUCHED, None)
    if touched is not None and report.when == "call" and report.failed:
        from rafka.testing.report import failure_report

        text = failure_report(
            touched.cluster, touched.topics_before, touched.groups_before, touched.topics
        )
        report.sections.append(("rafka", text))
    return report


# --------------------------------------------------------------------------------- clusters


def _broker_config(config: pytest.Config, overrides: dict[str, Any] | None) -> dict[str, Any]:
    settings = dict(DEFAULT_BROKER_CONFIG)
    for line in config.getini("rafka_broker_config"):
        key, sep, value = str(line).partition("=")
        if not sep:
            raise pytest.UsageError(f"rafka_broker_config: expected key=value, got {line!r}")
        settings[key.strip()] = value.strip()
    settings.update(overrides or {})
    return settings


@pytest.fixture(scope="session")
def rafka_session_cluster(pytestconfig: pytest.Config) -> Iterator[Cluster]:
    """One in-memory cluster for the whole session (one per xdist worker), listening on a
    free loopback port."""
    import rafka

    brokers = int(pytestconfig.getini("rafka_brokers"))
    config = _broker_config(pytestconfig, None)
    with rafka.Cluster(brokers, listen=True, config=config) as cluster:
        pytestconfig.stash[_SESSION] = _SessionCluster(cluster)
        try:
            yield cluster
        finally:
            del pytestconfig.stash[_SESSION]


@pytest.fixture
def rafka_cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """This test's cluster: its own with ``@pytest.mark.rafka(...)``, else the session's."""
    marker = request.node.get_closest_marker("rafka")
    if marker is None:
        session_cluster: Cluster = request.getfixturevalue("rafka_session_cluster")
        yield from _use(request, session_cluster, reset=request.config.getini("rafka_reset"))
        return
    if marker.args:
        raise pytest.UsageError("@pytest.mark.rafka takes keyword arguments only")
    import rafka

    kwargs = dict(marker.kwargs)
    faults = kwargs.pop("faults", None) or []
    kwargs["config"] = _broker_config(request.config, kwargs.get("config"))
    kwargs.setdefault("listen", True)
    with rafka.Cluster(**kwargs) as cluster:
        if faults:
            plans = getattr(cluster, "faults", None)
            if plans is None:
                pytest.fail(
                    "@pytest.mark.rafka(faults=...) needs fault plans (cluster.faults), which "
                    "this version of rafka does not have",
                    pytrace=False,
                )
            for plan in faults:
                plans.add(plan)
        yield from _use(request, cluster, reset=False)


def _use(request: pytest.FixtureRequest, cluster: Cluster, *, reset: bool) -> Iterator[Cluster]:
    session = request.config.stash.get(_SESSION, None)
    if reset and session is not None and session.baseline is None:
        session.baseline = cluster.snapshot()
    if request.config.getoption("rafka_report") != "off":
        request.node.stash[_TOUCHED] = _Touched(
            cluster,
            set(cluster.list_topics(include_internal=True)),
            set(cluster.list_groups()),
        )
        journal = getattr(cluster, "journal", None)
        if journal is not None:  # each test starts with an empty, recording request journal
            cluster.portal.call(journal.clear)
            if not journal.recording:
                cluster.portal.call(journal.start)
    yield cluster
    if reset and session is not None and session.baseline is not None:
        cluster.restore(session.baseline)


@pytest.fixture
def kafka_bootstrap(rafka_cluster: Cluster) -> str:
    """``host:port,...`` of this test's cluster, for any Kafka client."""
    return rafka_cluster.bootstrap_servers


# ------------------------------------------------------------------------- topics and groups

_ILLEGAL = re.compile(r"[^a-zA-Z0-9._-]+")


def unique_name(request: pytest.FixtureRequest, prefix: str) -> str:
    """A legal topic or group name made of the test's name and a unique suffix."""
    base = _ILLEGAL.sub("-", request.node.name).strip("-._")[:100] or "test"
    return f"{prefix}{base}-{next(_names)}-{uuid.uuid4().hex[:8]}"


def _topic_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker("rafka_topic")
    if marker is not None:
        if marker.args:
            raise pytest.UsageError("@pytest.mark.rafka_topic takes keyword arguments only")
        options.update(marker.kwargs)
    param = getattr(request, "param", None)
    if isinstance(param, int):
        options["partitions"] = param
    elif isinstance(param, dict):
        options.update(param)
    elif param is not None:
        raise pytest.UsageError(
            f"rafka_topic parameters are a partition count or a dict, not {param!r}"
        )
    unknown = set(options) - {"partitions", "replication_factor", "config", "name"}
    if unknown:
        raise pytest.UsageError(f"unknown rafka_topic options: {', '.join(sorted(unknown))}")
    return options


@pytest.fixture
def rafka_topic(request: pytest.FixtureRequest, rafka_cluster: Cluster) -> Iterator[str]:
    """A new topic (1 partition unless shaped by ``@pytest.mark.rafka_topic`` or indirect
    parametrization), deleted after the test."""
    from rafka.testing import _topics

    options = _topic_options(request)
    name = str(options.get("name") or unique_name(request, ""))
    _topics.create_topic(
        rafka_cluster,
        name,
        partitions=int(options.get("partitions", 1)),
        replication_factor=int(options.get("replication_factor", -1)),
        config=options.get("config"),
    )
    touched = request.node.stash.get(_TOUCHED, None)
    if touched is not None:
        touched.topics.append(name)
    yield name
    _topics.delete_topic(rafka_cluster, name)


@pytest.fixture
def rafka_group(request: pytest.FixtureRequest) -> str:
    """A consumer group id no other test uses."""
    return unique_name(request, "group-")


# --------------------------------------------------------------------------------- clients


@pytest.fixture
def rafka_producer(rafka_cluster: Cluster) -> Iterator[Producer]:
    """rafka's sync Producer, in process (closed after the test)."""
    with rafka_cluster.producer() as producer:
        yield producer


@pytest.fixture
def rafka_consumer(rafka_cluster: Cluster, rafka_group: str) -> Iterator[Consumer]:
    """rafka's sync Consumer, in process, in group ``rafka_group``, reading from the earliest
    offset when the group has none (closed after the test)."""
    with rafka_cluster.consumer(group_id=rafka_group, auto_offset_reset="earliest") as consumer:
        yield consumer


@pytest.fixture
def rafka_admin(rafka_cluster: Cluster) -> Iterator[Admin]:
    """rafka's sync Admin, in process (closed after the test)."""
    with rafka_cluster.admin() as admin:
        yield admin


@pytest.fixture
async def async_rafka_producer(kafka_bootstrap: str) -> AsyncIterator[AsyncProducer]:
    """rafka's AsyncProducer over TCP to this test's cluster, on the test's event loop."""
    import rafka

    async with rafka.AsyncProducer(bootstrap_servers=kafka_bootstrap) as producer:
        yield producer


@pytest.fixture
async def async_rafka_consumer(
    kafka_bootstrap: str, rafka_group: str
) -> AsyncIterator[AsyncConsumer]:
    """rafka's AsyncConsumer over TCP, in group ``rafka_group``, from the earliest offset."""
    import rafka

    async with rafka.AsyncConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=rafka_group, auto_offset_reset="earliest"
    ) as consumer:
        yield consumer


@pytest.fixture
async def async_rafka_admin(kafka_bootstrap: str) -> AsyncIterator[AsyncAdmin]:
    """rafka's AsyncAdmin over TCP to this test's cluster."""
    import rafka

    async with rafka.AsyncAdmin(bootstrap_servers=kafka_bootstrap) as admin:
        yield admin

"""pytest fixtures for the interop harness (registered from ``tests/conftest.py``).

* ``kafka_broker`` (session): an Apache Kafka broker of the pinned release
  (:class:`~tests.peers.kafka_broker.KafkaBroker`), started the first time a test asks for it
  and stopped at the end of the session. ``kafka_broker.bootstrap_servers``.
* ``kafka_broker_factory`` (session): ``kafka_broker_factory({"auto.create.topics.enable":
  "false"})`` starts (once per distinct set of overrides) another broker with those
  ``server.properties`` overrides, for behaviour that needs a static broker config.
* ``kafka_fault_proxy`` (session): a broker of its own behind a fault-injecting proxy
  (:class:`~tests.peers.fault_proxy.FaultProxy`) that applies rafka's fault plans to it.
* ``kafka_cli`` (session): :class:`~tests.peers.kafka_broker.KafkaCli`, Kafka's CLI tools by
  script name: ``code, out, err = kafka_cli("kafka-topics", "--bootstrap-server", bs, "--list")``.
* ``java_clients`` / ``go_clients`` (session): the kafka-clients and franz-go drivers.
* ``peer_client`` (session): a factory, ``peer_client("aiokafka")``, for any of
  :data:`CLIENT_NAMES`, so scenario tests parametrize over client names.

Outside CI a peer this machine cannot provide (no Java/Maven/Go, no registry, a Python client
not installed) skips the test with the reason; with ``CI=true`` that is a failure (fixtures
elsewhere, such as tests/faults' three-node ``kafka_cluster``, do the same with
:func:`unavailable`). Tests using a Java-backed fixture get the ``java`` marker, those using
``go_clients`` the ``go`` marker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import NoReturn

import pytest

from tests.peers.clients import PeerClient
from tests.peers.fault_proxy import FaultProxy
from tests.peers.java import PeerUnavailable, in_ci
from tests.peers.kafka_broker import KafkaBroker, KafkaCli, property_value
from tests.peers.kafka_cluster import KafkaCluster

__all__ = ["CLIENT_NAMES", "STARTED_CLUSTERS", "unavailable"]

#: Every client peer, by the name ``peer_client`` knows it under.
CLIENT_NAMES: tuple[str, ...] = ("java", "franz-go", "confluent-kafka", "kafka-python", "aiokafka")

_JAVA_FIXTURES = frozenset(
    {
        "kafka_broker",
        "own_kafka_broker",
        "kafka_broker_factory",
        "kafka_cli",
        "java_clients",
        "kafka_fault_proxy",
        "kafka_cluster",
    }
)

#: Start-up figures of the session's reference broker, for the terminal summary.
_STARTED: list[KafkaBroker] = []
#: The same for multi-node clusters (tests/peers/kafka_cluster.py) started in the session.
STARTED_CLUSTERS: list[KafkaCluster] = []


def unavailable(what: str, reason: object) -> NoReturn:
    """Skip the test because ``what`` is unavailable (fail it when ``CI=true``)."""
    if in_ci():
        pytest.fail(f"CI=true and {what} is unavailable: {reason}", pytrace=False)
    pytest.skip(f"{what} unavailable: {reason}")


def _make_client(name: str) -> PeerClient:
    if name == "java":
        from tests.peers.java_clients import JavaClients

        return JavaClients()
    if name == "franz-go":
        from tests.peers.go_clients import GoClients

        return GoClients()
    from tests.peers.python_clients import python_client

    return python_client(name)


@pytest.fixture(scope="session")
def peer_client() -> Callable[[str], PeerClient]:
    """``peer_client(name)``: the client peer ``name`` (one of :data:`CLIENT_NAMES`), built on
    first use; skips (fails in CI) when this machine cannot provide it."""
    cache: dict[str, PeerClient | str] = {}

    def get(name: str) -> PeerClient:
        if name not in CLIENT_NAMES:
            raise ValueError(f"unknown client peer {name!r}; known: {CLIENT_NAMES}")
        if name not in cache:
            try:
                cache[name] = _make_client(name)
            except PeerUnavailable as exc:
                cache[name] = str(exc)
        client = cache[name]
        if isinstance(client, str):
            unavailable(f"the {name} client peer", client)
        return client

    return get


@pytest.fixture(scope="session")
def java_clients(peer_client: Callable[[str], PeerClient]) -> PeerClient:
    """The kafka-clients driver (:class:`~tests.peers.java_clients.JavaClients`)."""
    return peer_client("java")


@pytest.fixture(scope="session")
def go_clients(peer_client: Callable[[str], PeerClient]) -> PeerClient:
    """The franz-go driver (:class:`~tests.peers.go_clients.GoClients`)."""
    return peer_client("franz-go")


@pytest.fixture(scope="session")
def kafka_cli() -> Iterator[KafkaCli]:
    """Apache Kafka's CLI tools (``kafka-topics``, ``kafka-get-offsets``, ...)."""
    try:
        cli = KafkaCli()
    except PeerUnavailable as exc:
        unavailable("Apache Kafka's CLI tools", exc)
    try:
        yield cli
    finally:
        cli.close()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """One Apache Kafka broker (KRaft, single node, 127.0.0.1, free ports) for the session."""
    work_dir: Path = tmp_path_factory.mktemp("kafka-broker")
    broker = KafkaBroker(work_dir=work_dir)
    try:
        try:
            broker.start()
        except PeerUnavailable as exc:
            unavailable("the Apache Kafka reference broker", exc)
        _STARTED.append(broker)
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def own_kafka_broker(tmp_path: Path) -> Iterator[KafkaBroker]:
    """A broker of this test's own (it may stop or restart it: :meth:`KafkaBroker.restart`)."""
    broker = KafkaBroker(work_dir=tmp_path / "kafka-broker")
    try:
        try:
            broker.start()
        except PeerUnavailable as exc:
            unavailable("the Apache Kafka reference broker", exc)
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_fault_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultProxy]:
    """An Apache Kafka broker of its own behind a :class:`~tests.peers.fault_proxy.FaultProxy`
    (the broker advertises the proxy's address): rafka's fault plans on a real cluster.
    Reset (no plans, empty journal, no connections) before each use with ``reset()``."""
    proxy = FaultProxy()
    broker = KafkaBroker(
        {
            "advertised.listeners": f"PLAINTEXT://{proxy.address}",
            # a killed broker restarts once its old session has expired: make that quick
            "broker.session.timeout.ms": 2000,
            "broker.heartbeat.interval.ms": 500,
        },
        work_dir=tmp_path_factory.mktemp("kafka-behind-proxy"),
    )
    try:
        try:
            broker.start()
        except PeerUnavailable as exc:
            unavailable("the Apache Kafka reference broker", exc)
        proxy.upstream = ("127.0.0.1", broker.port)
        proxy.broker = broker
        _STARTED.append(broker)
        yield proxy
    finally:
        proxy.close()
        broker.stop()


@pytest.fixture(scope="session")
def kafka_broker_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[Mapping[str, object]], KafkaBroker]]:
    """``kafka_broker_factory(overrides)``: a broker started with those ``server.properties``
    overrides, shared by every test asking for the same overrides; all stop with the session."""
    brokers: dict[frozenset[tuple[str, str]], KafkaBroker] = {}

    def get(overrides: Mapping[str, object]) -> KafkaBroker:
        key = frozenset((k, property_value(v)) for k, v in overrides.items())
        if key not in brokers:
            broker = KafkaBroker(overrides, work_dir=tmp_path_factory.mktemp("kafka-broker"))
            try:
                broker.start()
            except PeerUnavailable as exc:
                unavailable("the Apache Kafka reference broker", exc)
            brokers[key] = broker
            _STARTED.append(broker)
        return brokers[key]

    try:
        yield get
    finally:
        for broker in brokers.values():
            broker.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "go: needs the franz-go peer (Go and the Go module proxy)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & _JAVA_FIXTURES:
            item.add_marker(pytest.mark.java)
        if "go_clients" in names:
            item.add_marker(pytest.mark.go)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for broker in _STARTED:
        terminalreporter.write_line(
            f"Apache Kafka reference broker: ready in {broker.startup_seconds:.2f}s "
            f"(storage format {broker.format_seconds:.2f}s, then start until it serves metadata)"
            + (f" with {broker.overrides}" if broker.overrides else "")
        )
    for cluster in STARTED_CLUSTERS:
        terminalreporter.write_line(
            f"Apache Kafka {cluster.size}-node cluster: ready in {cluster.startup_seconds:.2f}s "
            "(storage formats, then start until every node lists every other)"
        )

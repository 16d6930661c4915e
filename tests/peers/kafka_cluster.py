"""A three-node Apache Kafka cluster behind rafka's fault proxies, driven like ``rafka.Cluster``.

:class:`KafkaCluster` runs ``size`` KRaft nodes of the pinned release, each its own JVM and
each broker *and* controller (``controller.quorum.voters`` lists them all), formatted with one
cluster id and started together. Every node has three listeners on 127.0.0.1::

    PLAINTEXT  clients    advertised as its FaultProxy's address: every client request of the
                          scenario (bootstrap, leader, coordinator) goes through the proxy
    INTERNAL   brokers    replication, and this module's own control requests: unproxied, so
                          isolating a node cuts its clients off but not its followers
    CONTROLLER the quorum

The cluster answers the calls the fault scenarios make on a rafka cluster, with the same names
and meanings (``rafka/faults.py``): :meth:`stop_broker` (SIGTERM: Kafka's controlled shutdown,
then the proxy refuses connections), :meth:`kill_broker` (SIGKILL), :meth:`start_broker` (same
ports, same data), :meth:`isolate_broker` / :meth:`heal_broker` and :meth:`set_latency` (the
proxy), :meth:`leader_of`, :meth:`move_leader` (a reassignment putting the new leader first,
then a preferred leader election), :meth:`move_coordinator` (the same for the group's
``__consumer_offsets`` partition) and :meth:`requests` (the proxies' journals, merged in time
order). Where rafka acts at once and Kafka takes a moment to spread metadata to every broker,
the call returns once every running broker agrees (a stopped broker gone from their metadata, a
started one back, a moved leader known); a killed broker is noticed by the controller only
after ``broker.session.timeout.ms``, as in production, and that is left to the caller.

Control requests (metadata, topic creation, reassignment, election) are hand-built with
rafka's generated messages and sent straight to a node's INTERNAL listener: they never reach
the journal.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import shutil
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from rafka.cluster.groups.topic import partition_for
from rafka.protocol import framing
from rafka.protocol._message import Message
from rafka.protocol.messages.alter_partition_reassignments import (
    AlterPartitionReassignmentsRequest,
)
from rafka.protocol.messages.create_topics import CreateTopicsRequest
from rafka.protocol.messages.elect_leaders import ElectLeadersRequest
from rafka.protocol.messages.metadata import MetadataRequest, MetadataResponse
from rafka.protocol.messages.request_header import RequestHeader
from tests.peers.fault_proxy import FaultProxy, ProxyEntry, TopicNames
from tests.peers.kafka_broker import (
    BrokerStartError,
    KafkaBroker,
    _java,
    _recv_exact,
    broker_classpath,
    free_port,
    property_value,
)

__all__ = ["CLUSTER_JVM_ARGS", "KafkaCluster", "KafkaNode"]

#: Three brokers share two cores: a smaller heap than a lone broker's, C1 only (the scenarios
#: move a few records; starting fast matters more than peak throughput).
CLUSTER_JVM_ARGS: tuple[str, ...] = (
    "-Xms128m",
    "-Xmx384m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
    "-Dfile.encoding=UTF-8",
)

#: What every node runs with besides its addresses (``overrides`` win over these).
CLUSTER_SETTINGS: dict[str, object] = {
    "default.replication.factor": 3,
    "offsets.topic.replication.factor": 3,
    "offsets.topic.num.partitions": 3,
    "transaction.state.log.replication.factor": 3,
    "transaction.state.log.min.isr": 2,
    "transaction.state.log.num.partitions": 3,
    "share.coordinator.state.topic.replication.factor": 3,
    "share.coordinator.state.topic.min.isr": 2,
    # a killed broker is fenced (leaves the ISRs, loses its leaderships) once its heartbeats
    # have been missing for the session timeout: ClusterControlManager / BrokerHeartbeatManager
    "broker.session.timeout.ms": 2000,
    "broker.heartbeat.interval.ms": 500,
    # leaders move only when a test moves them (no periodic preferred-leader election)
    "auto.leader.rebalance.enable": False,
    # the compacting cleaner allocates its dedupe buffer up front (128 MiB by default)
    "log.cleaner.dedupe.buffer.size": 8 * 1024 * 1024,
    "num.network.threads": 2,
    "num.io.threads": 2,
}

_API_VERSIONS = {"Metadata": 12, "CreateTopics": 7, "Reassign": 0, "Elect": 2}
_ELECTION_NOT_NEEDED = 84
_PREFERRED = 0
_correlation = itertools.count(1)


class KafkaNode(KafkaBroker):
    """One node of a :class:`KafkaCluster` (its ports and config are the cluster's to set)."""

    def __init__(self, node_id: int, proxy: FaultProxy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.node_id = node_id
        self.proxy = proxy
        self.internal_port = 0

    @property
    def internal_address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.internal_port)

    def prepare(self, cluster_id: str, settings: Mapping[str, str]) -> None:
        """Write this node's config and format its storage (the cluster chose the ports)."""
        self.cluster_id = cluster_id
        self.overrides = dict(settings)
        shutil.rmtree(self.data_dir, ignore_errors=True)  # a fresh start (or a retry)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        self._format()

    def spawn(self) -> None:
        """Start the JVM (returns at once; :meth:`wait_ready` waits for it to serve)."""
        self._spawn()

    def wait_ready(self, started: float) -> None:
        self._wait_ready(started)
        self.startup_seconds = time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL: no controlled shutdown, nothing flushed."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        self.stop(remove=False)


class KafkaCluster:
    """``size`` Apache Kafka KRaft nodes (ids 1..size), each behind a :class:`FaultProxy`.

    ``overrides`` are extra ``server.properties`` entries for every node; node ``n`` lives in
    ``work_dir/node-n``. Start with :meth:`start` or ``with``; :meth:`stop` stops everything.
    """

    def __init__(
        self,
        work_dir: Path | str,
        *,
        size: int = 3,
        overrides: Mapping[str, object] | None = None,
        jvm_args: Sequence[str] = CLUSTER_JVM_ARGS,
        start_timeout: float = 120.0,
        settle_timeout: float = 30.0,
    ) -> None:
        self.work_dir = Path(work_dir).resolve()
        self.size = size
        self.overrides = {k: property_value(v) for k, v in (overrides or {}).items()}
        self.settle_timeout = settle_timeout
        self.proxies: dict[int, FaultProxy] = {}
        self.nodes: dict[int, KafkaNode] = {}
        #: Topic ids to names, for every proxy's journal (Produce and Fetch name topics by id).
        self.topic_names = TopicNames()
        for node_id in range(1, size + 1):
            proxy = FaultProxy(node_id=node_id, topics=self.topic_names)
            self.proxies[node_id] = proxy
            self.nodes[node_id] = KafkaNode(
                node_id,
                proxy,
                work_dir=self.work_dir / f"node-{node_id}",
                jvm_args=jvm_args,
                start_timeout=start_timeout,
            )
        self.startup_seconds: float | None = None

    # -------------------------------------------------------------------------- lifecycle

    @property
    def bootstrap_servers(self) -> str:
        """Every node's proxy: what clients bootstrap with."""
        return ",".join(proxy.address for proxy in self.proxies.values())

    def start(self) -> KafkaCluster:
        """Format every node, start them together, and return once each serves metadata
        listing all of them. Raises :class:`BrokerStartError` (with the logs' tails)."""
        started = time.monotonic()
        for attempt in range(3):
            try:
                self._start_once(started)
                break
            except BrokerStartError as exc:
                self.stop_nodes()
                if "Address already in use" not in str(exc) or attempt == 2:
                    raise
            except BaseException:
                self.stop_nodes()
                raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _start_once(self, started: float) -> None:
        classpath, java = broker_classpath(), _java()  # PeerUnavailable without them
        ports: set[int] = set()
        while len(ports) < 3 * self.size:
            ports.add(free_port())
        free = iter(sorted(ports))
        for node in self.nodes.values():
            node.port, node.internal_port, node.controller_port = next(free), next(free), next(free)
            node.proxy.upstream = ("127.0.0.1", node.port)
            node.classpath, node.java = classpath, java
        cluster_id = self.nodes[1].cluster_id
        voters = ",".join(f"{n}@127.0.0.1:{node.controller_port}" for n, node in self.nodes.items())
        with concurrent.futures.ThreadPoolExecutor(self.size) as pool:
            formats = [
                pool.submit(node.prepare, cluster_id, self._settings(node, voters))
                for node in self.nodes.values()
            ]
            for future in formats:
                future.result()
        for node in self.nodes.values():
            node.spawn()  # from this thread: the JVMs die with the test process
        for node in self.nodes.values():
            node.wait_ready(started)
        self._settle(lambda brokers, _: set(brokers) == set(self.nodes), "every node to register")

    def _settings(self, node: KafkaNode, voters: str) -> dict[str, str]:
        settings: dict[str, object] = {
            **CLUSTER_SETTINGS,
            "node.id": node.node_id,
            "controller.quorum.voters": voters,
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{node.port},INTERNAL://127.0.0.1:{node.internal_port},"
                f"CONTROLLER://127.0.0.1:{node.controller_port}"
            ),
            "advertised.listeners": (
                f"PLAINTEXT://{node.proxy.address},INTERNAL://127.0.0.1:{node.internal_port}"
            ),
            "inter.broker.listener.name": "INTERNAL",
            "listener.security.protocol.map": (
                "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
            ),
            **self.overrides,
        }
        return {k: property_value(v) for k, v in settings.items()}

    def stop_nodes(self) -> None:
        """Kill every node's JVM at once (a clean shutdown of the last nodes would wait for a
        quorum that is gone); the data stays on disk."""
        for node in self.nodes.values():
            node.kill()

    def stop(self) -> None:
        """Kill every node and close the proxies."""
        self.stop_nodes()
        for proxy in self.proxies.values():
            proxy.close()

    def __enter__(self) -> KafkaCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def reset(self) -> None:
        """Between tests: every node running and registered everywhere, every partition fully
        replicated again, the proxies reset (no plans, healed, empty journals, no
        connections)."""
        for node_id in self.nodes:
            self.proxies[node_id].reset()
            if not self.broker_running(node_id):
                self.start_broker(node_id)
        self._settle(lambda brokers, _: set(brokers) == set(self.nodes), "every node to register")

        def replicated(_: object, meta: MetadataResponse) -> bool:
            return all(
                set(p.isr_nodes) == set(p.replica_nodes) and p.leader_id >= 0
                for t in meta.topics
                for p in t.partitions
            )

        self._settle(replicated, "every partition to be fully replicated", topics=None)
        for proxy in self.proxies.values():
            proxy.reset()

    # ----------------------------------------------------------------------------- brokers

    def broker_running(self, node_id: int) -> bool:
        return self.nodes[node_id].is_running()

    def stop_broker(self, node_id: int) -> None:
        """SIGTERM: Kafka's controlled shutdown (its leaderships move to in-sync replicas, it
        leaves the ISRs, it is fenced), then the proxy refuses connections. Returns once every
        running broker has dropped it from its metadata."""
        node = self.nodes[node_id]
        if not node.is_running():
            return
        node.stop(timeout=self.settle_timeout, remove=False)
        self.proxies[node_id].isolate("refuse")
        self._settle(lambda brokers, _: node_id not in brokers, f"broker {node_id} to be gone")

    def kill_broker(self, node_id: int) -> None:
        """SIGKILL (no clean shutdown, nothing flushed), then the proxy refuses connections.
        The controller fences the broker only once ``broker.session.timeout.ms`` has passed
        without a heartbeat: until then it still leads its partitions."""
        node = self.nodes[node_id]
        if not node.is_running():
            return
        node.kill()
        self.proxies[node_id].isolate("refuse")

    def start_broker(self, node_id: int) -> None:
        """Start a stopped or killed broker on its ports and data (a killed one recovers its
        logs); returns once it serves and every running broker lists it."""
        node = self.nodes[node_id]
        if node.is_running():
            raise RuntimeError(f"broker {node_id} is running")
        node.spawn()
        try:
            node.wait_ready(time.monotonic())
        except BaseException:
            node.stop(remove=False)
            raise
        self.proxies[node_id].heal()
        self._settle(lambda brokers, _: node_id in brokers, f"broker {node_id} to be back")

    def isolate_broker(self, node_id: int, mode: str = "refuse") -> None:
        """Cut clients off a running broker (it keeps leading and replicating): ``"refuse"``
        or ``"hang"``, as :meth:`FaultProxy.isolate`."""
        if not self.broker_running(node_id):
            raise RuntimeError(f"broker {node_id} is not running")
        self.proxies[node_id].isolate(mode)

    def heal_broker(self, node_id: int) -> None:
        self.proxies[node_id].heal()

    def set_latency(self, node_id: int, seconds: float | None) -> None:
        self.proxies[node_id].set_latency(seconds)

    # -------------------------------------------------------------------------- the journal

    def requests(
        self, api: str | None = None, *, topic: str | None = None, client_id: str | None = None
    ) -> list[ProxyEntry]:
        """The proxies' journal entries matching every criterion given, oldest first."""
        entries = [
            entry
            for proxy in self.proxies.values()
            for entry in proxy.requests(api, topic=topic, client_id=client_id)
        ]
        return sorted(entries, key=lambda entry: entry.start)

    # -------------------------------------------------------------------- topics and leaders

    def create_topic(
        self,
        name: str,
        partitions: int = 1,
        replication_factor: int = 3,
        configs: Mapping[str, str] | None = None,
    ) -> None:
        """Create a topic; returns once every running broker knows its leaders."""
        C = CreateTopicsRequest
        topic = C.CreatableTopic(
            name=name,
            num_partitions=partitions,
            replication_factor=replication_factor,
            configs=[C.CreatableTopicConfig(k, v) for k, v in (configs or {}).items()],
        )
        response: Any = self._request(
            C(topics=[topic], timeout_ms=30_000), _API_VERSIONS["CreateTopics"]
        )
        for result in response.topics:
            if result.error_code:
                raise RuntimeError(f"creating {name}: error {result.error_code}: {result}")
        self._settle(
            lambda _, meta: (
                _partitions(meta, name) is not None
                and all(p.leader_id >= 0 for p in _partitions(meta, name) or ())
            ),
            f"{name} to have leaders",
            topics=[name],
        )

    def leader_of(self, topic: str, partition: int) -> int:
        """The partition's leader (-1: none), as the running broker with the newest metadata
        of it (the highest leader epoch) knows it."""
        known = self._partition_views(topic, partition)
        if not known:
            return -1
        newest = max(known, key=lambda p: p.leader_epoch)
        return int(newest.leader_id)

    def in_sync(self, topic: str, partition: int, node_id: int) -> bool:
        """Whether ``node_id`` is in the partition's ISR (as any running broker has learnt it
        from the controller)."""
        return any(node_id in p.isr_nodes for p in self._partition_views(topic, partition))

    def move_leader(self, topic: str, partition: int, *, to: int) -> None:
        """Make broker ``to`` (an in-sync replica) the partition's leader: reassign the same
        replicas with ``to`` first (its preferred replica), then elect the preferred leader.
        Returns once every running broker knows the new leader."""
        views = self._partition_views(topic, partition)
        if not views:
            raise ValueError(f"no partition {topic}-{partition}")
        part = max(views, key=lambda p: p.leader_epoch)
        replicas = list(part.replica_nodes)
        if to not in replicas:
            raise ValueError(f"broker {to} holds no replica of {topic}-{partition}: {replicas}")
        if part.leader_id != to:
            R = AlterPartitionReassignmentsRequest
            target = [to, *(r for r in replicas if r != to)]
            request = R(
                topics=[
                    R.ReassignableTopic(
                        name=topic, partitions=[R.ReassignablePartition(partition, target)]
                    )
                ],
                timeout_ms=30_000,
            )
            response: Any = self._request(request, _API_VERSIONS["Reassign"])
            codes = [response.error_code] + [
                p.error_code for t in response.responses for p in t.partitions
            ]
            if any(codes):
                raise RuntimeError(f"reassigning {topic}-{partition} to {target}: {response}")
            E = ElectLeadersRequest
            elect: Any = self._request(
                E(
                    election_type=_PREFERRED,
                    topic_partitions=[E.TopicPartitions(topic, [partition])],
                    timeout_ms=30_000,
                ),
                _API_VERSIONS["Elect"],
            )
            codes = [elect.error_code] + [
                p.error_code for t in elect.replica_election_results for p in t.partition_result
            ]
            if any(code not in (0, _ELECTION_NOT_NEEDED) for code in codes):
                raise ValueError(f"electing {to} leader of {topic}-{partition}: {elect}")

        def moved(_: object, meta: MetadataResponse) -> bool:
            parts = _partitions(meta, topic) or []
            return any(p.partition_index == partition and p.leader_id == to for p in parts)

        self._settle(moved, f"{to} to lead {topic}-{partition}", topics=[topic])

    def move_coordinator(self, group_id: str, *, to: int) -> int:
        """Make broker ``to`` the coordinator of ``group_id``: the leader of its partition of
        ``__consumer_offsets`` (Kafka's ``abs(groupId.hashCode()) % partitions``); returns
        that partition."""
        meta = self._metadata(["__consumer_offsets"])
        parts = _partitions(meta, "__consumer_offsets")
        if not parts:
            raise ValueError("__consumer_offsets does not exist yet")
        index = partition_for(group_id, len(parts))
        self.move_leader("__consumer_offsets", index, to=to)
        return index

    # ---------------------------------------------------------------------------- internals

    def _running(self) -> list[KafkaNode]:
        return [node for node in self.nodes.values() if node.is_running()]

    def _request(self, message: Message, version: int, node: KafkaNode | None = None) -> Message:
        """Send ``message`` to a running node's INTERNAL listener; its decoded answer."""
        target = node or self._running()[0]
        api_key: int = message.API_KEY  # type: ignore[attr-defined]
        header = RequestHeader(api_key, version, next(_correlation), "rafka-control")
        frame = bytes(framing.encode_request(header, message))
        with socket.create_connection(target.internal_address, timeout=30) as sock:
            sock.sendall(frame)
            (size,) = _recv_size(sock)
            answer = _recv_exact(sock, size)
        return framing.decode_response(answer, api_key, version)[1]

    def _metadata(
        self, topics: Iterable[str] | None, node: KafkaNode | None = None
    ) -> MetadataResponse:
        R = MetadataRequest
        request = R(
            topics=None if topics is None else [R.MetadataRequestTopic(name=t) for t in topics],
            allow_auto_topic_creation=False,
        )
        response = self._request(request, _API_VERSIONS["Metadata"], node)
        assert isinstance(response, MetadataResponse)
        self.topic_names.learn(response)
        return response

    def _partition_views(self, topic: str, partition: int) -> list[Any]:
        views = []
        for node in self._running():
            with contextlib.suppress(OSError):
                for p in _partitions(self._metadata([topic], node), topic) or ():
                    if p.partition_index == partition:
                        views.append(p)
        return views

    def _settle(
        self,
        condition: Callable[[set[int], MetadataResponse], bool],
        what: str,
        *,
        topics: Sequence[str] | None = (),
    ) -> None:
        """Wait until ``condition(live broker ids, metadata)`` holds on every running node."""
        deadline = time.monotonic() + self.settle_timeout
        while True:
            try:
                metas = [self._metadata(topics, node) for node in self._running()]
                if all(condition({b.node_id for b in m.brokers}, m) for m in metas):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"Kafka cluster: timed out waiting for {what}")
            time.sleep(0.02)

    def __repr__(self) -> str:
        running = [n for n in self.nodes if self.broker_running(n)]
        return f"<KafkaCluster {self.bootstrap_servers} running={running}>"


def _partitions(meta: MetadataResponse, topic: str) -> list[Any] | None:
    for t in meta.topics:
        if t.name == topic and t.error_code == 0:
            return list(t.partitions)
    return None


def _recv_size(sock: socket.socket) -> tuple[int]:
    data = _recv_exact(sock, 4)
    return (int.from_bytes(data, "big", signed=True),)

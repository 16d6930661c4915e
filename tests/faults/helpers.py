"""Shared pieces of the fault tests: a listening cluster with a topic, confluent-kafka
(librdkafka) producing and consuming with delivery reports, and waiting on conditions (a new
leader after a failover among them)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import rafka
from rafka.clients.admin import NewTopic

if TYPE_CHECKING:
    from tests.faults.targets import ClusterTarget

#: librdkafka tuned for tests: quick backoffs and reconnects, quiet logs.
FAST_LIBRDKAFKA: dict[str, Any] = {
    "log_level": 2,
    "log.connection.close": False,
    "retry.backoff.ms": 50,
    "retry.backoff.max.ms": 200,
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 300,
    "topic.metadata.refresh.fast.interval.ms": 50,
}


@contextlib.contextmanager
def cluster_with_topic(
    topic: str = "t",
    *,
    brokers: int = 1,
    partitions: int = 1,
    replication_factor: int | None = None,
    configs: dict[str, str] | None = None,
    **kwargs: Any,
) -> Iterator[rafka.Cluster]:
    """A listening cluster (seeded, journal off) holding ``topic``."""
    kwargs.setdefault("seed", 1234)
    with rafka.Cluster(brokers, listen=True, **kwargs) as cluster:
        with cluster.admin() as admin:
            admin.create_topics(
                NewTopic(
                    topic,
                    partitions,
                    replication_factor or brokers,
                    configs=configs or {},
                )
            )
        yield cluster


def wait_until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll ``condition`` until it is truthy; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(0.02)


def new_leader(cluster: ClusterTarget, topic: str, old: int, *, partition: int = 0) -> int:
    """The partition's leader once it is neither ``old`` nor none: at once after a controlled
    shutdown (leaderships are handed over first); after a crash, once the controller has fenced
    the crashed broker (rafka fences at once; Kafka once ``broker.session.timeout.ms`` has
    passed without a heartbeat from it, ``BrokerHeartbeatManager``)."""

    def elected() -> int:
        leader = cluster.leader_of(topic, partition)
        return 0 if leader in (old, -1) else leader  # node ids start at 1

    return int(wait_until(elected, 30.0, what=f"a leader of {topic}-{partition} but {old}"))


class ConfluentProducer:
    """A confluent-kafka producer that remembers every delivery report."""

    def __init__(self, bootstrap: str, **config: Any) -> None:
        import confluent_kafka

        conf = {"bootstrap.servers": bootstrap, **FAST_LIBRDKAFKA, **config}
        self.producer = confluent_kafka.Producer(conf)
        self.reports: list[tuple[str | None, int]] = []  # (error name or None, offset)

    def report(self, err: Any, msg: Any) -> None:
        offset = msg.offset()
        self.reports.append((None if err is None else err.name(), -1 if offset is None else offset))

    def send(
        self, topic: str, values: list[bytes], *, partition: int = 0, timeout: float = 30.0
    ) -> list[tuple[str | None, int]]:
        """Produce ``values`` and wait for their delivery reports (in order of arrival)."""
        start = len(self.reports)
        for value in values:
            self.producer.produce(topic, value=value, partition=partition, on_delivery=self.report)
        self.producer.poll(0)
        left = self.producer.flush(timeout)
        assert left == 0, f"{left} message(s) still undelivered after {timeout}s"
        return self.reports[start:]

    def close(self) -> None:
        self.producer.flush(5)


def consume_values(
    bootstrap: str, topic: str, count: int, *, partition: int = 0, timeout: float = 20.0
) -> list[bytes]:
    """``count`` values from the start of ``topic``-``partition`` (confluent-kafka)."""
    import confluent_kafka

    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "fault-tests-reader",
            "enable.auto.commit": False,
            **FAST_LIBRDKAFKA,
        }
    )
    try:
        consumer.assign(
            [confluent_kafka.TopicPartition(topic, partition, confluent_kafka.OFFSET_BEGINNING)]
        )
        values: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(values) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            values.append(msg.value())
        # anything beyond `count` would be a duplicate: read a little longer to see it
        extra_until = time.monotonic() + 0.3
        while time.monotonic() < extra_until:
            msg = consumer.poll(0.1)
            if msg is not None and msg.error() is None:
                values.append(msg.value())
        return values
    finally:
        consumer.close()


def numbered(prefix: str, n: int, start: int = 0) -> list[bytes]:
    return [f"{prefix}-{i}".encode() for i in range(start, start + n)]

"""Hostile input over TCP: 10,000+ malformed, truncated, oversized and random frames.

Every offending connection must get an answer or be closed (never hang), the listener must
end up with no connection left open, memory must stay bounded, and a well-behaved client
producing and consuming on other connections meanwhile must lose nothing.
"""

from __future__ import annotations

import os
import random
import resource
import socket
import struct
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition

import rafka
from rafka.protocol import framing
from rafka.protocol.messages import (
    ApiVersionsRequest,
    FetchRequest,
    MetadataRequest,
    ProduceRequest,
    RequestHeader,
)
from rafka.protocol.records import encode_batch

FRAMES = int(os.environ.get("RAFKA_FUZZ_FRAMES", "10000"))


def _valid_frames() -> list[bytes]:
    batch = encode_batch([(0, b"k", b"v", ())])
    produce = ProduceRequest(
        acks=1,
        timeout_ms=1000,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name="fuzz", partition_data=[ProduceRequest.PartitionProduceData(0, batch)]
            )
        ],
    )
    fetch = FetchRequest(
        max_wait_ms=0,
        topics=[FetchRequest.FetchTopic(topic="fuzz", partitions=[FetchRequest.FetchPartition()])],
    )
    out = []
    for key, version, body in [
        (18, 3, ApiVersionsRequest("fuzz", "1")),
        (3, 12, MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name="fuzz")])),
        (0, 9, produce),
        (0, 3, produce),
        (1, 12, fetch),
        (1, 4, fetch),
    ]:
        out.append(bytes(framing.encode_request(RequestHeader(key, version, 7, "fuzz"), body)))
    return out


def _malformed(rng: random.Random, valid: list[bytes]) -> bytes:
    """A hostile frame. Mutations that happen to form a legitimate long-poll fetch (which
    Kafka too would hold for max_wait_ms) are drawn again: they are not hostile input."""
    while True:
        frame = _mutate(rng, valid)
        try:
            _, request = framing.decode_request(frame[4:])
        except Exception:
            return frame
        if not (
            isinstance(request, FetchRequest) and request.max_wait_ms > 500 and request.min_bytes
        ):
            return frame


def _mutate(rng: random.Random, valid: list[bytes]) -> bytes:
    kind = rng.randrange(7)
    base = rng.choice(valid)
    payload = base[4:]
    if kind == 0:  # random bytes with a truthful size
        body = rng.randbytes(rng.randrange(0, 200))
        return struct.pack(">i", len(body)) + body
    if kind == 1:  # a valid request cut short, size adjusted
        body = payload[: rng.randrange(0, len(payload))]
        return struct.pack(">i", len(body)) + body
    if kind == 2:  # bit flips anywhere in the body
        body = bytearray(payload)
        for _ in range(rng.randrange(1, 4)):
            body[rng.randrange(len(body))] ^= 1 << rng.randrange(8)
        return struct.pack(">i", len(body)) + bytes(body)
    if kind == 3:  # a size far over socket.request.max.bytes
        return struct.pack(">i", rng.choice([2**31 - 1, 2**30, 10**8])) + payload[:20]
    if kind == 4:  # a negative size
        return struct.pack(">i", -rng.randrange(1, 2**31)) + payload[:20]
    if kind == 5:  # an unknown API key or version
        body = bytearray(payload)
        body[0:4] = struct.pack(">hh", rng.choice([-1, 999, 32767]), rng.randrange(-5, 100))
        return struct.pack(">i", len(body)) + bytes(body)
    # a valid header with a hostile array count in the body
    body = bytearray(payload)
    if len(body) > 20:
        pos = rng.randrange(10, len(body) - 4)
        body[pos : pos + 4] = struct.pack(">i", rng.choice([2**31 - 1, -2, 2**24]))
    return struct.pack(">i", len(body)) + bytes(body)


PROBE_ID = 2**31 - 1
PROBE = bytes(
    framing.encode_request(RequestHeader(18, 3, PROBE_ID, "probe"), ApiVersionsRequest("p", "1"))
)


def _read_frame(sock: socket.socket) -> bytes | None:
    try:
        head = sock.recv(4)
        while head and len(head) < 4:
            more = sock.recv(4 - len(head))
            if not more:
                return None
            head += more
    except ConnectionResetError:
        return None
    if not head:
        return None
    size = struct.unpack(">i", head)[0]
    data = b""
    while len(data) < size:
        try:
            chunk = sock.recv(min(65536, size - len(data)))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def _answered_or_closed(sock: socket.socket) -> str:
    """After a frame, a probe request on the same connection: responses come in order, so the
    probe's answer proves the frame was served (answered, or legitimately unanswered like
    acks=0 produce); EOF means the broker closed it. A hang fails the socket timeout."""
    sock.sendall(PROBE)
    answered = "served"
    while True:
        frame = _read_frame(sock)
        if frame is None:
            return "closed"
        if struct.unpack(">i", frame[:4])[0] == PROBE_ID:
            return answered
        answered = "answered"


class _GoodClient(threading.Thread):
    """Produces numbered records all along; checks afterwards that every one is there."""

    def __init__(self, bootstrap: str) -> None:
        super().__init__(daemon=True)
        self.bootstrap = bootstrap
        self.stop = threading.Event()
        self.acked: list[int] = []
        self.failures: list[str] = []

    def run(self) -> None:
        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "linger.ms": 1})
        i = 0

        def done(err: object, msg: object, n: int) -> None:
            if err is None:
                self.acked.append(n)
            else:
                self.failures.append(str(err))

        while not self.stop.is_set():
            producer.produce("good", value=b"%d" % i, on_delivery=lambda e, m, n=i: done(e, m, n))
            producer.poll(0)
            i += 1
            time.sleep(0.002)
        producer.flush(10)


def test_hostile_frames(tmp_path: object) -> None:
    rng = random.Random(20261128)
    config = {"socket.request.max.bytes": 1024 * 1024, "auto.create.topics.enable": True}
    with rafka.Cluster(listen=True, config=config) as cluster:
        good = _GoodClient(cluster.bootstrap_servers)
        good.start()
        try:
            _fuzz(cluster, good, rng)
        finally:
            good.stop.set()
            good.join(30)


def _fuzz(cluster: rafka.Cluster, good: _GoodClient, rng: random.Random) -> None:
    host, port = cluster.bootstrap_servers.split(":")
    valid = _valid_frames()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes = {"answered": 0, "served": 0, "closed": 0}
    sent = 0
    sock: socket.socket | None = None
    while sent < FRAMES:
        if sock is None:
            sock = socket.create_connection((host, int(port)), timeout=10)
        sock.sendall(_malformed(rng, valid))
        sent += 1
        outcome = _answered_or_closed(sock)
        outcomes[outcome] += 1
        if outcome == "closed":
            sock.close()
            sock = None
    if sock is not None:
        sock.close()
    good.stop.set()
    good.join(30)
    rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024

    print("outcomes", outcomes, "rss growth MB", round(rss_growth_mb))
    assert outcomes["closed"] > FRAMES // 3
    assert rss_growth_mb < 200, f"memory grew by {rss_growth_mb:.0f} MB"
    listener = cluster.async_cluster.listeners[1]
    deadline = time.monotonic() + 5
    while listener.connection_count > 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listener.connection_count <= 2  # the good producer's and its consumer's, if any

    assert not good.failures
    assert len(good.acked) > 50
    consumer = Consumer(
        {
            "bootstrap.servers": cluster.bootstrap_servers,
            "group.id": "x",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition("good", 0, 0)])
    seen: set[int] = set()
    deadline = time.monotonic() + 20
    while len(seen) < len(good.acked) and time.monotonic() < deadline:
        for msg in consumer.consume(1000, 0.5):
            assert not msg.error()
            seen.add(int(msg.value()))
    consumer.close()
    assert set(good.acked) <= seen

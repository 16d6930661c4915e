"""OffsetForLeaderEpoch: epoch end offsets from the leader, fencing, and the wire over TCP."""

from __future__ import annotations

import socket
import struct

import anyio
import pytest

import rafka
from rafka import errors
from rafka.protocol import framing
from rafka.protocol.messages import OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse
from rafka.protocol.messages.request_header import RequestHeader
from tests.cluster.handlers.conftest import call, create_topic, leader_of, produce

pytestmark = pytest.mark.anyio

O = OffsetForLeaderEpochRequest  # noqa: E741
NOT_LEADER = errors.NotLeaderOrFollowerError.code


def request(topic: str, partition: int, epoch: int, current: int = -1, replica: int = -1) -> O:
    return O(
        replica_id=replica,
        topics=[
            O.OffsetForLeaderTopic(topic, [O.OffsetForLeaderPartition(partition, current, epoch)])
        ],
    )


async def ask(
    broker: rafka.cluster.broker.Broker, req: O, version: int = 4
) -> tuple[int, int, int]:
    response = await call(broker, req, version)
    (result,) = response.topics[0].partitions
    return result.error_code, result.leader_epoch, result.end_offset


async def wait_replicated(cluster: rafka.AsyncCluster, topic: str, end: int) -> None:
    with anyio.fail_after(10):
        while True:
            ends = [
                b.replica_manager.partitions[(topic, 0)].log.log_end_offset
                for b in cluster.brokers.values()
                if (topic, 0) in b.replica_manager.partitions
            ]
            if all(e == end for e in ends):
                return
            await anyio.sleep(0.01)


async def test_epochs_across_a_leader_change(cluster: rafka.AsyncCluster) -> None:
    await create_topic(cluster.brokers[1], "ep", 1, 3)
    await produce(cluster, "ep", 5)
    await wait_replicated(cluster, "ep", 5)
    first = leader_of(cluster, "ep")
    assert await ask(first, request("ep", 0, 0)) == (0, 0, 5)
    cluster.core.controller.fence_broker(first.node_id)
    leader = leader_of(cluster, "ep")
    assert leader is not first
    await produce(cluster, "ep", 3)
    for version in (2, 3, 4):
        assert await ask(leader, request("ep", 0, 0), version) == (0, 0, 5)
        assert await ask(leader, request("ep", 0, 1, current=1), version) == (0, 1, 8)
        assert await ask(leader, request("ep", 0, 7), version) == (0, -1, -1)
        assert await ask(leader, request("ep", 0, 0, current=0), version) == (
            errors.FencedLeaderEpochError.code,
            -1,
            -1,
        )
        assert await ask(leader, request("ep", 0, 0, current=2), version) == (
            errors.UnknownLeaderEpochError.code,
            -1,
            -1,
        )
    part = cluster.core.controller.image.partition("ep", 0)
    assert part is not None
    follower = cluster.brokers[next(r for r in part.isr if r != leader.node_id)]
    # followers and consumers alike must ask the leader (KRaft); fencing is checked first
    for replica in (-1, follower.node_id):
        assert await ask(follower, request("ep", 0, 1, replica=replica), 3) == (NOT_LEADER, -1, -1)
    assert await ask(follower, request("ep", 0, 1, current=0)) == (
        errors.FencedLeaderEpochError.code,
        -1,
        -1,
    )


async def test_unknown_and_unhosted(cluster: rafka.AsyncCluster) -> None:
    await create_topic(cluster.brokers[1], "one", 1, 1)
    leader = leader_of(cluster, "one")
    outsider = next(b for b in cluster.brokers.values() if b is not leader)
    assert await ask(leader, request("one", 0, 0), 2) == (0, 0, 0)
    assert await ask(outsider, request("one", 0, 0)) == (NOT_LEADER, -1, -1)
    assert await ask(leader, request("one", 1, 0)) == (
        errors.UnknownTopicOrPartitionError.code,
        -1,
        -1,
    )
    assert await ask(leader, request("nope", 0, 0)) == (
        errors.UnknownTopicOrPartitionError.code,
        -1,
        -1,
    )


@pytest.mark.parametrize("version", [2, 3, 4])
def test_over_tcp(tcp_cluster: rafka.Cluster, version: int) -> None:
    """Kafka's framing through the listener, at every version (no admin client sends this)."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=tcp_cluster.bootstrap_servers)
    try:
        if "tcp-ep" not in admin.list_topics():
            admin.create_topics([NewTopic("tcp-ep", 1, 1)])
        (described,) = admin.describe_topics(["tcp-ep"])
        leader = described["partitions"][0]["leader_id"]
    finally:
        admin.close()
    port = tcp_cluster.async_cluster.listeners[leader].port
    header = RequestHeader(O.API_KEY, version, 42, "raw")
    frame = framing.encode_request(header, request("tcp-ep", 0, 0, current=0))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(frame)
        size = struct.unpack(">i", _recv(sock, 4))[0]
        _, response = framing.decode_response(_recv(sock, size), O.API_KEY, version)
    assert isinstance(response, OffsetForLeaderEpochResponse)
    (result,) = response.topics[0].partitions
    assert (result.error_code, result.leader_epoch, result.end_offset) == (0, 0, 0)


def _recv(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "connection closed"
        data += chunk
    return data

"""Shared fixtures: an in-process cluster, and ``call`` that sends a request to a broker through
the wire codec (encoded at the requested version and decoded again, both ways), as the listener
does."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import rafka
from rafka.cluster.broker import Broker
from rafka.cluster.request import RequestContext
from rafka.protocol import framing
from rafka.protocol._message import Message
from rafka.protocol.messages import CreateTopicsRequest, ProduceRequest
from rafka.protocol.messages.request_header import RequestHeader
from rafka.protocol.records.builder import encode_batch

_correlation = itertools.count(1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def cluster() -> AsyncIterator[rafka.AsyncCluster]:
    async with rafka.AsyncCluster(brokers=3, seed=7) as c:
        yield c


@pytest.fixture(scope="module")
def tcp_cluster() -> Iterator[rafka.Cluster]:
    """A listening 3-broker cluster shared by a module's real-client tests."""
    with rafka.Cluster(brokers=3, listen=True, seed=11) as c:
        yield c


async def call(broker: Broker, request: Message, version: int) -> Any:
    """Send ``request`` at ``version`` to ``broker`` through the codec; the decoded response."""
    correlation_id = next(_correlation)
    header = RequestHeader(request.API_KEY, version, correlation_id, "test")
    frame = framing.encode_request(header, request, size_prefix=False)
    header, decoded = framing.decode_request(bytes(frame))
    ctx = RequestContext(request.API_KEY, version, correlation_id, header.client_id)
    response = await broker.handle(ctx, decoded)
    assert response is not None
    out = framing.encode_response(
        request.API_KEY, version, correlation_id, response, size_prefix=False
    )
    return framing.decode_response(bytes(out), request.API_KEY, version)[1]


async def create_topic(
    broker: Broker, name: str, partitions: int = 1, rf: int = 1, **configs: str
) -> None:
    T = CreateTopicsRequest
    request = T(
        topics=[
            T.CreatableTopic(
                name=name,
                num_partitions=partitions,
                replication_factor=rf,
                assignments=[],
                configs=[
                    T.CreatableTopicConfig(k.replace("_", "."), v) for k, v in configs.items()
                ],
            )
        ],
        timeout_ms=5000,
    )
    response = await call(broker, request, 7)
    assert response.topics[0].error_code == 0, response


def leader_of(cluster: rafka.AsyncCluster, topic: str, partition: int = 0) -> Broker:
    part = cluster.core.controller.image.partition(topic, partition)
    assert part is not None
    return cluster.brokers[part.leader]


async def produce(cluster: rafka.AsyncCluster, topic: str, count: int, partition: int = 0) -> int:
    """Produce ``count`` records (acks=1) to the partition's leader; the base offset."""
    now = int(time.time() * 1000)
    batch = encode_batch([(now, b"k%d" % i, b"v%d" % i, []) for i in range(count)])
    P = ProduceRequest
    request = P(
        acks=1,
        timeout_ms=5000,
        topic_data=[
            P.TopicProduceData(
                name=topic, partition_data=[P.PartitionProduceData(index=partition, records=batch)]
            )
        ],
    )
    response = await call(leader_of(cluster, topic, partition), request, 9)
    result = response.responses[0].partition_responses[0]
    assert result.error_code == 0, result
    return int(result.base_offset)

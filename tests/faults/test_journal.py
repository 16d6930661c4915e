"""The request journal: off by default and out of the way, then every request with its
decoded bodies, ids, connection and timing, for rafka's clients in process and for
confluent-kafka over TCP; queries by API, client, topic and broker; JSON lines export."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import anyio
import pytest

import rafka
from rafka.clients.admin import NewTopic
from rafka.protocol.messages import ProduceRequest, ProduceResponse
from tests.faults.helpers import ConfluentProducer, cluster_with_topic

TOPIC = "journal"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_off_by_default_and_out_of_the_way() -> None:
    async with rafka.AsyncCluster(seed=1) as cluster:
        assert not cluster.journal.recording
        assert all(b.interceptor is None for b in cluster.brokers.values())
        async with cluster.admin() as admin:
            await admin.create_topics(NewTopic(TOPIC, 1, 1))
        assert cluster.requests() == []
        with cluster.journal:
            assert all(b.interceptor is not None for b in cluster.brokers.values())
            async with cluster.admin() as admin:
                await admin.list_topics()
        assert all(b.interceptor is None for b in cluster.brokers.values())
        assert {e.api for e in cluster.requests()} >= {"Metadata"}
        cluster.journal.clear()
        assert len(cluster.journal) == 0


@pytest.mark.anyio
async def test_rafka_clients_in_process() -> None:
    async with rafka.AsyncCluster(2, seed=1, journal=True) as cluster:
        async with cluster.admin() as admin:
            await admin.create_topics(NewTopic(TOPIC, 2, 2))
        async with cluster.producer() as producer:
            for partition in (0, 1):
                await (await producer.send(TOPIC, key=b"k", value=b"v", partition=partition))
        produces = cluster.requests("Produce", client_id="rafka", topic=TOPIC)
        assert len(produces) == 2
        leaders = {cluster.leader_of(TOPIC, p) for p in (0, 1)}
        assert {e.broker for e in produces} == leaders
        for entry in produces:
            assert isinstance(entry.request, ProduceRequest)
            assert isinstance(entry.response, ProduceResponse)
            assert entry.api == "Produce" and entry.api_key == 0
            assert entry.outcome == "response"
            assert entry.connection_id.startswith("in-process-")
            assert entry.end is not None and entry.duration is not None
            assert entry.end >= entry.start and entry.duration >= 0
            assert isinstance(entry.request.topic_data[0].partition_data[0].records, bytes)
        one_broker = cluster.requests("Produce", broker=produces[0].broker)
        assert one_broker == [produces[0]] or len(leaders) == 1
        assert cluster.requests("Produce", topic="other") == []
        assert cluster.requests("Produce", topic="jour*") == produces
        correlations = [e.correlation_id for e in cluster.requests(client_id="rafka")]
        assert correlations == sorted(correlations)  # one transport, one counter


def test_confluent_over_tcp_and_jsonl(tmp_path: Path) -> None:
    with cluster_with_topic(TOPIC, journal=True) as cluster:
        ConfluentProducer(cluster.bootstrap_servers, **{"client.id": "ck"}).send(
            TOPIC, [b"one", b"two"]
        )
        entries = cluster.requests(client_id="ck")
        apis = [e.api for e in entries]
        assert apis[0] == "ApiVersions"
        assert "Metadata" in apis and "Produce" in apis
        produce = cluster.requests("Produce", client_id="ck", topic=TOPIC)[-1]
        host, _, port = produce.peer.rpartition(":")
        assert host == "127.0.0.1" and int(port) > 0
        assert produce.connection_id.count("-") >= 2
        assert produce.api_version >= 3

        path = tmp_path / "journal.jsonl"
        count = cluster.journal.to_jsonl(path)
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert len(lines) == count == len(cluster.journal)
        produced = [
            line for line in lines if line["api"] == "Produce" and line["client_id"] == "ck"
        ]
        records = produced[-1]["request"]["topic_data"][0]["partition_data"][0]["records"]
        assert records["records"] >= 1 and records["batches"] >= 1 and records["bytes"] > 61
        assert produced[-1]["response"]["responses"][0]["partition_responses"][0]["error_code"] == 0

        out = io.StringIO()
        cluster.journal.to_jsonl(out, records="base64")
        raw = [json.loads(line) for line in out.getvalue().splitlines()]
        batch = raw[[e["api"] for e in raw].index("Produce")]["request"]["topic_data"][0]
        assert base64.b64decode(batch["partition_data"][0]["records"])[16] == 2  # magic v2


def test_faults_show_in_the_journal() -> None:
    with cluster_with_topic(TOPIC, journal=True) as cluster:
        cluster.faults.add(
            {"api": "Produce", "error": "NOT_LEADER_OR_FOLLOWER", "once": True, "name": "nl"}
        )
        ConfluentProducer(cluster.bootstrap_servers).send(TOPIC, [b"x"])
        produces = cluster.requests("Produce")
        assert [e.faults for e in produces] == [["nl"], []]
        assert "faults: nl" in repr(produces[0])
        codes = [e.response.responses[0].partition_responses[0].error_code for e in produces]
        assert codes == [6, 0]


def test_sync_cluster_journal_from_the_start() -> None:
    with rafka.Cluster(seed=1, journal=True) as cluster:
        with cluster.admin() as admin:
            admin.create_topics(NewTopic(TOPIC, 1, 1))
        with cluster.producer() as producer:
            producer.send(TOPIC, value=b"v").result(10)
        assert [e.api for e in cluster.requests(client_id="rafka-admin")][-1] == "CreateTopics"
        assert cluster.requests("Produce")[0].response is not None


def test_limit_keeps_the_newest() -> None:
    from rafka.cluster.journal import Journal

    journal = Journal(lambda _: None, limit=2).start()

    async def serve_three() -> None:
        from types import SimpleNamespace

        from rafka.cluster.request import RequestContext
        from rafka.protocol.messages import MetadataRequest

        async def call(*_: object) -> None:
            return None

        broker = SimpleNamespace(node_id=1)
        for i in range(3):
            ctx = RequestContext(3, 12, i, "c")
            await journal.record(broker, ctx, MetadataRequest(), call)  # type: ignore[arg-type]

    anyio.run(serve_three)
    assert [e.correlation_id for e in journal] == [1, 2]
    assert [e.outcome for e in journal] == ["no response", "no response"]

"""rafka's pytest plugin, driven through pytester: sample test files run in a pytest of their
own (in this process, or with pytest-xdist workers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_importing_the_plugin_imports_nothing_of_rafka_but_itself() -> None:
    code = (
        "import sys, rafka.testing.pytest_plugin as p; "
        "print(sorted(m for m in sys.modules if m.startswith('rafka')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [
        "['rafka',",
        "'rafka._version',",
        "'rafka.testing',",
        "'rafka.testing.pytest_plugin']",
    ]


def test_fixtures_and_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_topic_and_clients(rafka_cluster, rafka_topic, rafka_producer, rafka_consumer,
                                   rafka_admin, kafka_bootstrap):
            assert kafka_bootstrap == rafka_cluster.bootstrap_servers
            assert rafka_topic in rafka_admin.list_topics()
            rafka_producer.send(rafka_topic, b"v", key=b"k").result(10)
            rafka_consumer.assign([(rafka_topic, 0)])
            assert [r.value for r in rafka_consumer.poll(10)] == [b"v"]
            assert rafka_cluster.describe_partition(rafka_topic).high_watermark == 1

        def test_topics_are_new_and_deleted_afterwards(rafka_cluster, rafka_topic, request):
            assert rafka_cluster.describe_partition(rafka_topic).log_end_offset == 0
            previous = getattr(request.config, "previous_topic", None)
            if previous is not None:
                assert previous not in rafka_cluster.list_topics()
            request.config.previous_topic = rafka_topic

        def test_again(rafka_cluster, rafka_topic, request):
            test_topics_are_new_and_deleted_afterwards(rafka_cluster, rafka_topic, request)

        def test_the_session_cluster_is_shared(rafka_cluster, rafka_session_cluster):
            assert rafka_cluster is rafka_session_cluster
            assert len(rafka_cluster.brokers) == 1

        @pytest.mark.rafka(brokers=3, config={"default.replication.factor": 3})
        def test_a_cluster_of_its_own(rafka_cluster, rafka_session_cluster, rafka_topic):
            assert rafka_cluster is not rafka_session_cluster
            assert len(rafka_cluster.brokers) == 3
            assert rafka_cluster.describe_partition(rafka_topic).isr == (1, 2, 3) or sorted(
                rafka_cluster.describe_partition(rafka_topic).isr) == [1, 2, 3]

        @pytest.mark.rafka_topic(partitions=3, config={"cleanup.policy": "compact"})
        def test_topic_marker(rafka_cluster, rafka_topic):
            topic = rafka_cluster.describe_topic(rafka_topic)
            assert len(topic.partitions) == 3
            assert topic.configs == {"cleanup.policy": "compact"}

        @pytest.mark.parametrize("rafka_topic", [2, {"partitions": 4, "name": "named"}],
                                 indirect=True)
        def test_indirect(rafka_cluster, rafka_topic):
            assert len(rafka_cluster.describe_topic(rafka_topic).partitions) in (2, 4)

        def test_groups_are_unique(rafka_group, rafka_topic):
            assert rafka_group.startswith("group-test_groups_are_unique")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=9)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_async_fixtures_with_anyio(pytester: pytest.Pytester, backend: str) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.fixture
        def anyio_backend():
            return {backend!r}

        @pytest.mark.anyio
        async def test_async_clients(async_rafka_producer, async_rafka_consumer,
                                     async_rafka_admin, rafka_topic, rafka_group, rafka_cluster):
            await async_rafka_producer.send_and_wait(rafka_topic, b"a")
            async_rafka_consumer.subscribe([rafka_topic])
            records = []
            while not records:
                records = await async_rafka_consumer.poll(1.0)
            assert [r.value for r in records] == [b"a"]
            groups = await async_rafka_admin.list_groups()
            assert rafka_group in [g.group_id for g in groups]
            assert rafka_cluster.describe_group(rafka_group).state == "Stable"
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_failing_test_reports_what_it_touched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_fails(rafka_cluster, rafka_topic, rafka_producer, rafka_consumer):
            rafka_producer.send(rafka_topic, b"the-value").result(10)
            rafka_consumer.subscribe([rafka_topic])
            while not rafka_consumer.poll(1.0):
                pass
            rafka_consumer.commit()
            assert False, "on purpose"

        def test_passes(rafka_topic):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- rafka -*",
            "topic test_fails-* (id *, 1 partitions)",
            "  partition 0: leader 1 (epoch 0), * high watermark 1, *",
            "    offset 0: key=None value=b'the-value'",
            "group group-test_fails-* (classic, Stable, consumer/*",
            "  member * test_fails-*-0",
            "  committed: test_fails-*-0=1",
        ]
    )
    import rafka

    if hasattr(rafka.Cluster, "requests"):  # the request journal
        result.stdout.fnmatch_lines(["requests: *", "  <broker 1 Produce v* from *"])
    assert "test_passes" not in result.stdout.str().split("- rafka -")[-1]

    quiet = pytester.runpytest("-p", "no:cacheprovider", "--rafka-report=off")
    quiet.assert_outcomes(passed=1, failed=1)
    assert "- rafka -" not in quiet.stdout.str()


def test_faults_need_fault_plans_or_are_applied(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.rafka(faults=[{"api": "Produce", "error": "TOPIC_AUTHORIZATION_FAILED"}])
        def test_faulty(rafka_cluster, rafka_topic, rafka_producer):
            with pytest.raises(Exception, match="TOPIC_AUTHORIZATION_FAILED|uthorization"):
                rafka_producer.send(rafka_topic, b"x").result(10)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    import rafka

    with rafka.Cluster() as cluster:
        has_faults = hasattr(cluster, "faults")
    if has_faults:
        result.assert_outcomes(passed=1)
    else:
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*needs fault plans (cluster.faults)*"])


def test_reset_restores_the_session_cluster_after_each_test(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        rafka_reset = true
        rafka_broker_config =
            num.partitions = 2
        """
    )
    pytester.makepyfile(
        """
        def test_leaves_a_topic_behind(rafka_cluster, rafka_producer):
            rafka_producer.send("left-behind", b"x").result(10)
            assert "left-behind" in rafka_cluster.list_topics()
            assert len(rafka_cluster.describe_topic("left-behind").partitions) == 2

        def test_finds_a_clean_cluster(rafka_cluster):
            assert rafka_cluster.list_topics() == []
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2)


def test_xdist_workers_get_clusters_of_their_own(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(
        """
        import os
        import pytest

        @pytest.mark.parametrize("i", range(8))
        def test_many(i, rafka_cluster, rafka_topic, rafka_producer, kafka_bootstrap,
                      tmp_path_factory):
            rafka_producer.send(rafka_topic, b"%d" % i).result(10)
            assert rafka_cluster.describe_partition(rafka_topic).high_watermark == 1
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            out = tmp_path_factory.getbasetemp().parent / f"{worker}-{i}"
            out.write_text(kafka_bootstrap)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=8)
    written = list(pytester.path.parent.rglob("gw*-*")) or list(
        Path(str(pytester.path)).rglob("gw*-*")
    )
    by_worker: dict[str, set[str]] = {}
    for path in written:
        by_worker.setdefault(path.name.split("-")[0], set()).add(path.read_text())
    assert len(by_worker) == 2, written
    bootstraps = [next(iter(b)) for b in by_worker.values()]
    assert all(len(b) == 1 for b in by_worker.values())  # one cluster per worker
    assert bootstraps[0] != bootstraps[1]


def test_the_client_examples_pass_under_xdist(pytester: pytest.Pytester) -> None:
    """The examples of the four client libraries (rafka's, confluent-kafka, kafka-python,
    aiokafka) as one suite, spread over two xdist workers."""
    pytest.importorskip("xdist")
    examples = sorted(EXAMPLES.glob("pytest_*.py"))
    assert len(examples) == 4
    pytester.makepyfile(**{f"test_{p.stem}": p.read_text() for p in examples})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 9, result.stdout.str()
    assert outcomes.get("failed", 0) == outcomes.get("errors", 0) == 0, result.stdout.str()

"""The consumer group protocol's driver (KIP-848) against a scripted coordinator.

The conformance suite (``tests/conformance/test_consumer_protocol.py``) runs the protocol
against real brokers; these tests script what a real broker rarely does on cue: fencing a
member, refusing a commit for a stale epoch, lacking the API.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest

from rafka import errors
from rafka.clients.consumer import AsyncConsumer
from rafka.clients.consumer.consumer_group import ConsumerGroupMember
from rafka.clients.consumer.fetcher import Fetcher
from rafka.clients.consumer.membership import MemberState
from rafka.clients.consumer.subscription import SubscriptionState
from rafka.clients.metadata import MetadataManager
from rafka.clients.transport import Node
from rafka.clients.types import TopicPartition
from rafka.protocol._message import Message
from rafka.protocol.messages import (
    ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
    MetadataRequest,
    MetadataResponse,
    OffsetCommitRequest,
    OffsetCommitResponse,
    OffsetFetchRequest,
    OffsetFetchResponse,
)

pytestmark = pytest.mark.anyio

TOPIC, TOPIC_ID = "t", uuid.UUID(int=7)
H = ConsumerGroupHeartbeatResponse


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Coordinator:
    """A transport whose one broker (node 1) is the group's coordinator, answering as the
    test scripts it: ``assignment`` (partitions of topic "t") goes to the member whenever it
    changes, ``errors`` are answered to the next heartbeats, ``commit_error`` to commits."""

    def __init__(self) -> None:
        self.versions: dict[int, tuple[int, int]] = {3: (0, 12), 8: (2, 9), 9: (1, 9), 10: (0, 4)}
        self.versions[68] = (0, 1)
        self.assignment: list[int] = [0, 1, 2, 3]
        self.errors: list[int] = []
        self.commit_error = 0
        self.epoch = 0
        self.heartbeats: list[ConsumerGroupHeartbeatRequest] = []
        self.commits: list[OffsetCommitRequest] = []
        self.log: list[tuple[str, Any]] = []  # commits and callbacks, in order
        self._sent: list[int] | None = None

    def bootstrap_nodes(self) -> list[int]:
        return [-1]

    def update_nodes(self, nodes: list[Node]) -> None:
        pass

    async def api_versions(self, node_id: int) -> dict[int, tuple[int, int]]:
        return self.versions

    async def close(self) -> None:
        pass

    async def request(
        self,
        node_id: int,
        request: Message,
        *,
        version: int | None = None,
        expect_response: bool = True,
        timeout: float = 30.0,
    ) -> Message | None:
        await anyio.sleep(0)
        if isinstance(request, FindCoordinatorRequest):
            found = FindCoordinatorResponse.Coordinator(key="g", node_id=1, host="h", port=1)
            return FindCoordinatorResponse(coordinators=[found])
        if isinstance(request, MetadataRequest):
            return self._metadata()
        if isinstance(request, ConsumerGroupHeartbeatRequest):
            return self._heartbeat(request)
        if isinstance(request, OffsetCommitRequest):
            self.commits.append(request)
            self.log.append(("commit", request.generation_id_or_member_epoch))
            return OffsetCommitResponse(
                topics=[
                    OffsetCommitResponse.OffsetCommitResponseTopic(
                        name=t.name,
                        partitions=[
                            OffsetCommitResponse.OffsetCommitResponsePartition(
                                p.partition_index, self.commit_error
                            )
                            for p in t.partitions
                        ],
                    )
                    for t in request.topics
                ]
            )
        if isinstance(request, OffsetFetchRequest):
            return OffsetFetchResponse(groups=[OffsetFetchResponse.OffsetFetchResponseGroup("g")])
        raise AssertionError(f"unexpected request {request}")

    def _metadata(self) -> MetadataResponse:
        M = MetadataResponse
        partitions = [M.MetadataResponsePartition(0, p, 1, 0, [1], [1]) for p in range(4)]
        return M(
            brokers=[M.MetadataResponseBroker(1, "h", 1)],
            topics=[M.MetadataResponseTopic(0, TOPIC, TOPIC_ID, False, partitions)],
        )

    def _heartbeat(self, request: ConsumerGroupHeartbeatRequest) -> H:
        self.heartbeats.append(request)
        if self.errors:
            return H(error_code=self.errors.pop(0), error_message="scripted")
        if request.member_epoch < 0:
            return H(member_id=request.member_id, member_epoch=request.member_epoch)
        if request.member_epoch == 0:
            self._sent = None
        assignment = None
        if self.assignment != self._sent:
            self.epoch += 1
            self._sent = list(self.assignment)
            assignment = H.Assignment([H.TopicPartitions(TOPIC_ID, self._sent)])
        return H(
            member_id=request.member_id,
            member_epoch=self.epoch,
            heartbeat_interval_ms=20,
            assignment=assignment,
        )


@pytest.fixture
def coordinator() -> Coordinator:
    return Coordinator()


def make_member(coordinator: Coordinator, **overrides: Any) -> ConsumerGroupMember:
    metadata = MetadataManager(coordinator, retry_backoff_ms=10)
    subscriptions = SubscriptionState("earliest")
    fetcher = Fetcher(
        coordinator,
        metadata,
        subscriptions,
        min_bytes=1,
        max_bytes=1 << 20,
        max_wait_ms=100,
        partition_max_bytes=1 << 20,
        read_committed=False,
        request_timeout_s=5,
        retry_backoff_s=0.01,
    )
    settings: dict[str, Any] = {
        "group_id": "g",
        "instance_id": None,
        "rebalance_timeout_ms": 60_000,
        "server_assignor": None,
        "auto_commit": True,
        "auto_commit_interval_ms": 60_000,
        "request_timeout_s": 5.0,
        "retry_backoff_s": 0.01,
        "retry_backoff_max_s": 0.05,
        "client_id": "test",
    }
    settings.update(overrides)
    member = ConsumerGroupMember(coordinator, metadata, subscriptions, fetcher, **settings)

    def record(kind: str) -> Callable[[list[TopicPartition]], None]:
        return lambda ps: coordinator.log.append((kind, sorted(p.partition for p in ps)))

    member.on_assign, member.on_revoke = record("assign"), record("revoke")
    return member


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.005)


@pytest.fixture
async def running(coordinator: Coordinator) -> AsyncIterator[Callable[..., ConsumerGroupMember]]:
    """Start members (``running(**settings)``) that run until the test ends."""
    async with anyio.create_task_group() as tg:

        def start(**overrides: Any) -> ConsumerGroupMember:
            member = make_member(coordinator, **overrides)
            tg.start_soon(member.run)
            return member

        yield start
        tg.cancel_scope.cancel()


def owned(member: ConsumerGroupMember) -> list[int]:
    return sorted(tp.partition for tp in member.subs.assignment)


async def test_revocation_commits_first_and_gives_up_only_what_moves(
    coordinator: Coordinator, running: Callable[..., ConsumerGroupMember]
) -> None:
    member = running()
    member.subscribe([TOPIC], None)
    await until(
        lambda: member.membership.state is MemberState.STABLE and owned(member) == [0, 1, 2, 3]
    )
    join = coordinator.heartbeats[0]
    assert (join.member_epoch, join.subscribed_topic_names, join.topic_partitions) == (
        0,
        [TOPIC],
        [],
    )
    assert join.rebalance_timeout_ms == 60_000
    for tp in list(member.subs.assignment):
        member.subs.seek(tp, 5)
    coordinator.log.clear()
    coordinator.assignment = [0, 1]
    await until(lambda: member.membership.state is MemberState.STABLE and owned(member) == [0, 1])
    # commit every position (auto-commit) with the current epoch, then revoke what moves
    assert coordinator.log == [("commit", coordinator.epoch), ("revoke", [2, 3]), ("assign", [])]
    commit = coordinator.commits[-1]
    assert commit.member_id == member.membership.member_id
    assert {
        (t.name, p.partition_index, p.committed_offset) for t in commit.topics for p in t.partitions
    } == {(TOPIC, p, 5) for p in range(4)}
    # the acknowledgement names what the member owns now
    ack = next(h for h in reversed(coordinator.heartbeats) if h.topic_partitions is not None)
    assert [(tp.topic_id, tp.partitions) for tp in ack.topic_partitions or []] == [
        (TOPIC_ID, [0, 1])
    ]
    assert ack.subscribed_topic_names is None  # unchanged fields are not sent again


async def test_a_fenced_member_loses_its_partitions_and_joins_again(
    coordinator: Coordinator, running: Callable[..., ConsumerGroupMember]
) -> None:
    member = running()
    member.subscribe([TOPIC], None)
    await until(lambda: member.membership.state is MemberState.STABLE)
    coordinator.log.clear()
    coordinator.errors = [errors.FencedMemberEpochError.code]
    await until(lambda: len([e for e in coordinator.log if e[0] == "assign"]) == 1)
    # lost (no commit), then joined again as epoch 0 with nothing owned
    assert coordinator.log == [("revoke", [0, 1, 2, 3]), ("assign", [0, 1, 2, 3])]
    (rejoin,) = [h for h in coordinator.heartbeats[1:] if h.member_epoch == 0]
    assert rejoin.topic_partitions == [] and rejoin.subscribed_topic_names == [TOPIC]
    assert rejoin.member_id == coordinator.heartbeats[0].member_id  # the id is for life
    assert owned(member) == [0, 1, 2, 3] and not coordinator.commits


async def test_a_commit_with_a_stale_epoch_fails_typed(
    coordinator: Coordinator, running: Callable[..., ConsumerGroupMember]
) -> None:
    member = running()
    member.subscribe([TOPIC], None)
    await until(lambda: member.membership.state is MemberState.STABLE)
    coordinator.commit_error = errors.StaleMemberEpochError.code
    with pytest.raises(errors.CommitFailedError) as failed:
        await member.commit({TopicPartition(TOPIC, 0): 3})
    assert isinstance(failed.value.__cause__, errors.StaleMemberEpochError)
    commit = coordinator.commits[-1]
    assert (commit.generation_id_or_member_epoch, commit.member_id) == (
        member.membership.member_epoch,
        member.membership.member_id,
    )
    coordinator.commit_error = errors.UnknownMemberIdError.code
    with pytest.raises(errors.CommitFailedError):
        await member.commit({TopicPartition(TOPIC, 0): 3})


@pytest.mark.parametrize(("instance_id", "epoch"), [(None, -1), ("static-1", -2)])
async def test_leaving_revokes_then_says_so(
    coordinator: Coordinator,
    running: Callable[..., ConsumerGroupMember],
    instance_id: str | None,
    epoch: int,
) -> None:
    member = running(instance_id=instance_id)
    member.subscribe([TOPIC], None)
    await until(lambda: member.membership.state is MemberState.STABLE)
    coordinator.log.clear()
    await member.revoke_and_leave()
    assert coordinator.log == [("revoke", [0, 1, 2, 3])]
    leave = coordinator.heartbeats[-1]
    assert (leave.member_epoch, leave.instance_id) == (epoch, instance_id)
    assert member.membership.state is MemberState.UNSUBSCRIBED and not owned(member)


async def test_a_late_poll_leaves_and_the_next_poll_rejoins(
    coordinator: Coordinator, running: Callable[..., ConsumerGroupMember]
) -> None:
    member = running(rebalance_timeout_ms=300)
    member.subscribe([TOPIC], None)
    member.polled()
    await until(
        lambda: (
            member.membership.state is MemberState.STALE
            and ("revoke", [0, 1, 2, 3]) in coordinator.log
        )
    )
    assert coordinator.heartbeats[-1].member_epoch == -1 and not owned(member)
    assert not coordinator.commits  # lost partitions are not committed
    member.polled()
    await until(lambda: owned(member) == [0, 1, 2, 3])
    assert any(h.member_epoch == 0 for h in coordinator.heartbeats[2:])


async def test_a_cluster_without_the_protocol_is_a_clear_error(
    coordinator: Coordinator, running: Callable[..., ConsumerGroupMember]
) -> None:
    del coordinator.versions[68]
    member = running()
    member.subscribe([TOPIC], None)
    await until(lambda: member.failure is not None)
    assert isinstance(member.failure, errors.UnsupportedVersionError)
    assert "group.protocol=classic" in str(member.failure)
    assert member.membership.state is MemberState.FATAL and not coordinator.heartbeats


async def test_a_pattern_needs_a_coordinator_that_matches_patterns(
    coordinator: Coordinator, running: Callable[..., ConsumerGroupMember]
) -> None:
    coordinator.versions[68] = (0, 0)
    member = running()
    member.subscribe([], "t.*")
    await until(lambda: member.failure is not None)
    assert isinstance(member.failure, errors.UnsupportedVersionError)
    assert "version >= 1" in str(member.failure)


async def test_settings_of_the_other_protocol_are_refused() -> None:
    for name in ("session.timeout.ms", "heartbeat.interval.ms", "partition.assignment.strategy"):
        value = "range" if name == "partition.assignment.strategy" else 6000
        with pytest.raises(
            errors.ConfigError,
            match=rf"{re.escape(name)} cannot be set when group\.protocol=CONSUMER",
        ):
            AsyncConsumer({name: value}, bootstrap_servers="h:1", group_protocol="consumer")
    with pytest.raises(
        errors.ConfigError,
        match=r"^partition\.assignment\.strategy, session\.timeout\.ms cannot be set",
    ):
        AsyncConsumer(
            bootstrap_servers="h:1",
            group_id="g",
            group_protocol="consumer",
            session_timeout_ms=45000,  # even at its default: Java refuses any value
            partition_assignment_strategy="range",
        )
    with pytest.raises(
        errors.ConfigError,
        match=r"group\.remote\.assignor cannot be set when group\.protocol=CLASSIC",
    ):
        AsyncConsumer(bootstrap_servers="h:1", group_id="g", group_remote_assignor="uniform")
    consumer = AsyncConsumer(
        bootstrap_servers="h:1",
        group_id="g",
        group_protocol="consumer",
        group_remote_assignor="range",
    )
    assert isinstance(consumer.coordinator, ConsumerGroupMember)
    assert consumer.coordinator.membership.server_assignor == "range"


@pytest.mark.parametrize("group_protocol", ["classic", "consumer"])
async def test_no_record_of_a_new_partition_before_on_assign_ran(group_protocol: str) -> None:
    """As Java's consumer: ``poll`` returns a newly assigned partition's records only once
    ``on_assign`` has run for it, even when the callback takes its time."""
    import rafka

    config = {"group.initial.rebalance.delay.ms": 0, "num.partitions": 2}
    async with rafka.AsyncCluster(config=config) as cluster:
        async with cluster.producer() as producer:
            for i in range(10):
                await producer.send(TOPIC, b"%d" % i, partition=i % 2)
        events: list[str] = []
        async with cluster.consumer(
            group_id="g", group_protocol=group_protocol, auto_offset_reset="earliest"
        ) as consumer:

            async def on_assign(partitions: list[TopicPartition]) -> None:
                events.append(f"assign {sorted(tp.partition for tp in partitions)}")
                await anyio.sleep(0.3)  # records are fetched meanwhile, but not returned
                events.append("assigned")

            consumer.subscribe([TOPIC], on_assign=on_assign)
            got = 0
            with anyio.fail_after(20):
                while got < 10:
                    records = await consumer.poll(0.05)
                    if records and events[-1:] != ["assigned"]:
                        events.append(f"records before on_assign ended: {records}")
                    got += len(records)
        assert events == ["assign [0, 1]", "assigned"]

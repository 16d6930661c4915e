"""Lookup stages: which node answers each key of an admin call (see :mod:`.routing`).

- :func:`any_broker` / :func:`controller`: one node for every key (KRaft brokers forward
  controller-bound requests, so "the controller" is whichever broker metadata names, or any);
- :func:`fixed_nodes`: the key names its node (broker configs, log dirs, per-broker listing);
- :func:`partition_leaders`: a Metadata request for the keys' topics, then each partition's
  leader; an unknown topic or partition fails the key, a partition without a leader waits;
- :func:`group_coordinators`: FindCoordinator for group ids, batched from v4.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import TypeVar

from rafka import errors
from rafka.clients.admin.routing import Answer, Deadline, Lookup, Router, classify
from rafka.clients.transport import Node
from rafka.clients.types import TopicPartition
from rafka.protocol import messages as m

__all__ = [
    "any_broker",
    "controller",
    "fixed_nodes",
    "group_coordinators",
    "partition_leaders",
]

K = TypeVar("K", bound=Hashable)

FIND_COORDINATOR = 10
GROUP_KEY = 0
BATCHED_COORDINATORS = 4  # FindCoordinator v4+ takes many keys
_COORDINATOR_RETRY = {
    errors.CoordinatorNotAvailableError.code,
    errors.CoordinatorLoadInProgressError.code,
    errors.NotCoordinatorError.code,
}


def any_broker(router: Router) -> Lookup[K]:
    async def lookup(keys: list[K], deadline: Deadline) -> Answer[K, int]:
        node = router.any_node()
        return Answer(done=dict.fromkeys(keys, node))

    return lookup


def controller(router: Router) -> Lookup[K]:
    async def lookup(keys: list[K], deadline: Deadline) -> Answer[K, int]:
        node = router.controller()
        return Answer(done=dict.fromkeys(keys, node))

    return lookup


def fixed_nodes(router: Router, node_of: Callable[[K], int | None]) -> Lookup[K]:
    """Keys whose node ``node_of(key)`` names (None: any broker). A node the cluster's
    metadata does not list is waited for (a restarting broker) until the deadline."""

    async def lookup(keys: list[K], deadline: Deadline) -> Answer[K, int]:
        wanted = {key: node_of(key) for key in keys}
        if any(n is not None and n not in router.brokers for n in wanted.values()):
            await router.metadata([], deadline)
        answer: Answer[K, int] = Answer()
        for key, node in wanted.items():
            if node is None:
                answer.done[key] = router.any_node()
            elif node in router.brokers:
                answer.done[key] = node
            else:
                answer.retry[key] = errors.BrokerNotAvailableError(
                    f"broker {node} is not in the cluster's metadata"
                )
        return answer

    return lookup


def partition_leaders(router: Router) -> Lookup[TopicPartition]:
    async def lookup(keys: list[TopicPartition], deadline: Deadline) -> Answer[TopicPartition, int]:
        topics = sorted({tp.topic for tp in keys})
        response = await router.metadata(topics, deadline)
        by_name = {t.name: t for t in response.topics}
        answer: Answer[TopicPartition, int] = Answer()
        for tp in keys:
            topic = by_name.get(tp.topic)
            if topic is None:
                answer.retry[tp] = errors.UnknownTopicOrPartitionError(
                    f"the metadata response left out {tp.topic!r}"
                )
                continue
            if topic.error_code:
                classify(
                    answer,
                    tp,
                    topic.error_code,
                    f"topic {tp.topic!r}",
                    retry={errors.LeaderNotAvailableError.code},
                )
                continue
            part = next((p for p in topic.partitions if p.partition_index == tp.partition), None)
            if part is None:
                answer.failed[tp] = errors.UnknownTopicOrPartitionError(
                    f"{tp.topic!r} has no partition {tp.partition}"
                )
            elif part.leader_id < 0 or part.leader_id not in router.brokers:
                answer.retry[tp] = errors.LeaderNotAvailableError(
                    f"{tp.topic}-{tp.partition} has no leader right now"
                )
            else:
                answer.done[tp] = part.leader_id
        return answer

    return lookup


def group_coordinators(router: Router) -> Lookup[str]:
    async def lookup(keys: list[str], deadline: Deadline) -> Answer[str, int]:
        node = router.any_node()
        version = await router.version(node, FIND_COORDINATOR, min_version=1)
        answer: Answer[str, int] = Answer()
        if version >= BATCHED_COORDINATORS:
            response = await router.send(
                node,
                FIND_COORDINATOR,
                lambda v: m.FindCoordinatorRequest(key_type=GROUP_KEY, coordinator_keys=keys),
                deadline,
                min_version=1,
            )
            assert isinstance(response, m.FindCoordinatorResponse)
            for c in response.coordinators:
                _found(router, answer, c.key, c.error_code, c.error_message, c)
            return answer
        for key in keys:  # v1-3: one key per request
            response = await router.send(
                node,
                FIND_COORDINATOR,
                functools.partial(_single_key, key),
                deadline,
                min_version=1,
            )
            assert isinstance(response, m.FindCoordinatorResponse)
            _found(router, answer, key, response.error_code, response.error_message, response)
        return answer

    return lookup


def _single_key(key: str, version: int) -> m.FindCoordinatorRequest:
    return m.FindCoordinatorRequest(key=key, key_type=GROUP_KEY)


def _found(
    router: Router,
    answer: Answer[str, int],
    key: str,
    code: int,
    message: str | None,
    where: m.FindCoordinatorResponse | m.FindCoordinatorResponse.Coordinator,
) -> None:
    if code:
        classify(answer, key, code, f"group {key!r}: {message}", retry=_COORDINATOR_RETRY)
        return
    router.transport.update_nodes([Node(where.node_id, where.host, where.port)])
    answer.done[key] = where.node_id

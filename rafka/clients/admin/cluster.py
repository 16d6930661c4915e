"""Cluster-wide questions: describe the cluster (DescribeCluster, else Metadata) and each
broker's log directories (DescribeLogDirs, asked of each broker)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import overload

from rafka import errors
from rafka.clients.admin.base import AdminBase, unique
from rafka.clients.admin.lookups import any_broker, fixed_nodes
from rafka.clients.admin.results import ClusterDescription, LogDirDescription, ReplicaInfo, Results
from rafka.clients.admin.routing import Answer, Deadline, classify
from rafka.clients.transport import Node
from rafka.clients.types import TopicPartition
from rafka.protocol import messages as m

__all__ = ["ClusterMixin"]

METADATA = 3
DESCRIBE_LOG_DIRS = 35
DESCRIBE_CLUSTER = 60
BROKER_ENDPOINTS = 1  # DescribeCluster v1+ endpoint type: brokers (2 would be controllers)


class ClusterMixin(AdminBase):
    """Cluster operations of :class:`~rafka.clients.admin.AsyncAdmin`."""

    async def describe_cluster(self, *, timeout: float | None = None) -> ClusterDescription:
        """The cluster id, the controller's id as the brokers report it, and the brokers."""
        router = self._router

        async def fulfil(
            node: int, keys: list[str], deadline: Deadline
        ) -> Answer[str, ClusterDescription]:
            if await router.serves(node, DESCRIBE_CLUSTER):
                response = await router.send(
                    node,
                    DESCRIBE_CLUSTER,
                    lambda v: m.DescribeClusterRequest(endpoint_type=BROKER_ENDPOINTS),
                    deadline,
                )
                assert isinstance(response, m.DescribeClusterResponse)
                if response.error_code:
                    raise errors.for_code(response.error_code)(response.error_message)
                brokers = tuple(
                    Node(b.broker_id, b.host, b.port, b.rack)
                    for b in sorted(response.brokers, key=lambda b: b.broker_id)
                )
                found = ClusterDescription(
                    response.cluster_id,
                    None if response.controller_id < 0 else response.controller_id,
                    brokers,
                )
            else:
                meta = await router.send(
                    node,
                    METADATA,
                    lambda v: m.MetadataRequest(topics=[], allow_auto_topic_creation=False),
                    deadline,
                    min_version=1,
                )
                assert isinstance(meta, m.MetadataResponse)
                router.learn(meta)
                found = ClusterDescription(
                    meta.cluster_id,
                    None if meta.controller_id < 0 else meta.controller_id,
                    tuple(router.brokers[n] for n in sorted(router.brokers)),
                )
            return Answer(done=dict.fromkeys(keys, found))

        return await self._whole("describe_cluster", any_broker(router), fulfil, timeout)

    @overload
    async def describe_log_dirs(
        self, brokers: int, *, timeout: float | None = None
    ) -> dict[str, LogDirDescription]: ...

    @overload
    async def describe_log_dirs(
        self, brokers: Iterable[int] | None = None, *, timeout: float | None = None
    ) -> Results[int, dict[str, LogDirDescription]]: ...

    async def describe_log_dirs(
        self, brokers: int | Iterable[int] | None = None, *, timeout: float | None = None
    ) -> dict[str, LogDirDescription] | Results[int, dict[str, LogDirDescription]]:
        """Each broker's log directories by path, with the replicas in each (size, lag).
        ``brokers`` None asks every broker of the cluster."""
        router = self._router
        single = isinstance(brokers, int)
        if brokers is None:
            deadline = self._deadline(timeout)
            ids = await self._all_brokers(timeout)
            timeout = deadline.remaining()
        else:
            ids = unique([brokers] if single else list(brokers))  # type: ignore[list-item, arg-type]

        async def fulfil(
            node: int, batch: list[int], deadline: Deadline
        ) -> Answer[int, dict[str, LogDirDescription]]:
            response = await router.send(
                node, DESCRIBE_LOG_DIRS, lambda v: m.DescribeLogDirsRequest(topics=None), deadline
            )
            assert isinstance(response, m.DescribeLogDirsResponse)
            answer: Answer[int, dict[str, LogDirDescription]] = Answer()
            if response.error_code:
                for key in batch:
                    classify(answer, key, response.error_code, f"broker {node}")
                return answer
            dirs = {r.log_dir: _log_dir(r) for r in response.results}
            answer.done = dict.fromkeys(batch, dirs)
            return answer

        return await self._each(  # type: ignore[no-any-return]
            "describe_log_dirs", ids, single, fixed_nodes(router, lambda b: b), fulfil, timeout
        )


def _log_dir(result: m.DescribeLogDirsResponse.DescribeLogDirsResult) -> LogDirDescription:
    replicas = {
        TopicPartition(t.name, p.partition_index): ReplicaInfo(
            p.partition_size, p.offset_lag, p.is_future_key
        )
        for t in result.topics
        for p in t.partitions
    }
    return LogDirDescription(
        result.log_dir,
        errors.for_code(result.error_code)() if result.error_code else None,
        replicas,
        None if result.total_bytes < 0 else result.total_bytes,
        None if result.usable_bytes < 0 else result.usable_bytes,
    )

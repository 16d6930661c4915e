"""Topic administration: create, delete, list and describe topics, add partitions.

Creating, deleting and growing topics go to the controller (any broker forwards them in
KRaft); NOT_CONTROLLER sends them elsewhere. Describing uses DescribeTopicPartitions (v0,
paginated) where the broker serves it, else Metadata; listing uses Metadata.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, overload

from rafka import errors
from rafka.clients.admin.base import AdminBase, unique
from rafka.clients.admin.lookups import any_broker, controller
from rafka.clients.admin.results import (
    ConfigEntry,
    CreatedTopic,
    PartitionDescription,
    Results,
    TopicDescription,
    TopicListing,
)
from rafka.clients.admin.routing import Answer, Deadline, classify
from rafka.clients.admin.types import ConfigSource, NewPartitions, NewTopic
from rafka.protocol import messages as m

__all__ = ["TopicsMixin"]

METADATA = 3
CREATE_TOPICS = 19
DELETE_TOPICS = 20
CREATE_PARTITIONS = 37
DESCRIBE_TOPIC_PARTITIONS = 75
DELETE_BY_ID = 6  # DeleteTopics v6+ names topics by id
ZERO_UUID = uuid.UUID(int=0)
_TO_CONTROLLER = {errors.NotControllerError.code}

TopicKey = str | uuid.UUID


def _ms(deadline: Deadline, cap: float) -> int:
    """A request's own ``timeout_ms``: what is left of the call, at most ``cap`` seconds."""
    return max(1, int(min(deadline.remaining(), cap) * 1000))


def _topic_id(value: uuid.UUID) -> uuid.UUID | None:
    return None if value == ZERO_UUID else value


class TopicsMixin(AdminBase):
    """Topic operations of :class:`~rafka.clients.admin.AsyncAdmin`."""

    # ------------------------------------------------------------------------------ create

    @overload
    async def create_topics(  # type: ignore[overload-overlap]
        self,
        topics: NewTopic | str,
        *,
        validate_only: bool = False,
        timeout: float | None = None,
    ) -> CreatedTopic: ...

    @overload
    async def create_topics(
        self,
        topics: Iterable[NewTopic | str],
        *,
        validate_only: bool = False,
        timeout: float | None = None,
    ) -> Results[str, CreatedTopic]: ...

    async def create_topics(
        self,
        topics: NewTopic | str | Iterable[NewTopic | str],
        *,
        validate_only: bool = False,
        timeout: float | None = None,
    ) -> CreatedTopic | Results[str, CreatedTopic]:
        """Create topics (a name alone takes the broker's defaults for everything).

        ``validate_only`` checks the request (name, counts, assignment, configs) and creates
        nothing. Each topic's answer is a :class:`CreatedTopic`; failures are typed, e.g.
        :class:`~rafka.errors.TopicAlreadyExistsError`,
        :class:`~rafka.errors.InvalidReplicationFactorError`,
        :class:`~rafka.errors.InvalidConfigError`.
        """
        single = isinstance(topics, (NewTopic, str))
        items = [topics] if single else list(topics)  # type: ignore[arg-type]
        wanted: dict[str, NewTopic] = {}
        for item in items:
            new = NewTopic(item) if isinstance(item, str) else item
            if not isinstance(new, NewTopic):
                raise TypeError(f"create_topics takes NewTopic or str items, not {new!r}")
            if new.name in wanted and wanted[new.name] != new:
                raise ValueError(f"topic {new.name!r} is given twice, differently")
            wanted[new.name] = new
        router = self._router

        async def fulfil(node: int, names: list[str], deadline: Deadline) -> Answer[str, Any]:
            request = m.CreateTopicsRequest(
                topics=[_creatable(wanted[name]) for name in names],
                timeout_ms=_ms(deadline, router.request_timeout),
                validate_only=validate_only,
            )
            response = await router.send(node, CREATE_TOPICS, lambda v: request, deadline)
            assert isinstance(response, m.CreateTopicsResponse)
            answer: Answer[str, Any] = Answer()
            for result in response.topics:
                if result.name not in wanted:
                    continue
                if result.error_code:
                    classify(
                        answer,
                        result.name,
                        result.error_code,
                        result.error_message,
                        remap=_TO_CONTROLLER,
                    )
                else:
                    answer.done[result.name] = _created(result)
            return answer

        return await self._each(  # type: ignore[no-any-return]
            "create_topics", list(wanted), single, controller(router), fulfil, timeout
        )

    # ------------------------------------------------------------------------------ delete

    @overload
    async def delete_topics(  # type: ignore[overload-overlap]
        self, topics: str | uuid.UUID, *, timeout: float | None = None
    ) -> None: ...

    @overload
    async def delete_topics(
        self, topics: Iterable[str | uuid.UUID], *, timeout: float | None = None
    ) -> Results[TopicKey, None]: ...

    async def delete_topics(
        self,
        topics: str | uuid.UUID | Iterable[str | uuid.UUID],
        *,
        timeout: float | None = None,
    ) -> Results[TopicKey, None] | None:
        """Delete topics by name or by topic id (ids need a broker serving DeleteTopics v6+).

        Unknown names fail with :class:`~rafka.errors.UnknownTopicOrPartitionError`, unknown
        ids with :class:`~rafka.errors.UnknownTopicIdError`.
        """
        single = isinstance(topics, (str, uuid.UUID))
        keys: list[TopicKey] = unique(
            [topics] if single else list(topics)  # type: ignore[list-item, arg-type]
        )
        for key in keys:
            if not isinstance(key, (str, uuid.UUID)):
                raise TypeError(f"delete_topics takes topic names or ids, not {key!r}")
        router = self._router

        async def fulfil(
            node: int, batch: list[TopicKey], deadline: Deadline
        ) -> Answer[TopicKey, None]:
            version = await router.version(node, DELETE_TOPICS)
            answer: Answer[TopicKey, None] = Answer()
            if version < DELETE_BY_ID:
                for key in batch:
                    if isinstance(key, uuid.UUID):
                        answer.failed[key] = errors.UnsupportedVersionError(
                            f"node {node} cannot delete topics by id (DeleteTopics v{version})"
                        )
                batch = [k for k in batch if isinstance(k, str)]
                if not batch:
                    return answer
            request = m.DeleteTopicsRequest(timeout_ms=_ms(deadline, router.request_timeout))
            if version >= DELETE_BY_ID:
                request.topics = [
                    m.DeleteTopicsRequest.DeleteTopicState(name=k, topic_id=ZERO_UUID)
                    if isinstance(k, str)
                    else m.DeleteTopicsRequest.DeleteTopicState(name=None, topic_id=k)
                    for k in batch
                ]
            else:
                request.topic_names = [k for k in batch if isinstance(k, str)]
            response = await router.send(
                node, DELETE_TOPICS, lambda v: request, deadline, wanted_max=version
            )
            assert isinstance(response, m.DeleteTopicsResponse)
            by_name = {k: k for k in batch if isinstance(k, str)}
            by_id = {k: k for k in batch if isinstance(k, uuid.UUID)}
            for result in response.responses:
                found: TopicKey | None = None
                if result.topic_id != ZERO_UUID and result.topic_id in by_id:
                    found = by_id[result.topic_id]
                elif result.name is not None and result.name in by_name:
                    found = by_name[result.name]
                if found is None:
                    continue
                if result.error_code:
                    classify(
                        answer,
                        found,
                        result.error_code,
                        result.error_message,
                        remap=_TO_CONTROLLER,
                    )
                else:
                    answer.done[found] = None
            return answer

        return await self._each(  # type: ignore[no-any-return]
            "delete_topics", keys, single, controller(router), fulfil, timeout
        )

    # -------------------------------------------------------------------------------- list

    async def list_topics(
        self, *, include_internal: bool = False, timeout: float | None = None
    ) -> dict[str, TopicListing]:
        """Every topic of the cluster by name (internal ones such as ``__consumer_offsets``
        only with ``include_internal``), in name order."""
        router = self._router

        async def fulfil(
            node: int, keys: list[str], deadline: Deadline
        ) -> Answer[str, dict[str, TopicListing]]:
            response = await router.send(
                node,
                METADATA,
                lambda v: m.MetadataRequest(topics=None, allow_auto_topic_creation=False),
                deadline,
                min_version=1,
            )
            assert isinstance(response, m.MetadataResponse)
            router.learn(response)
            listing = {
                t.name: TopicListing(t.name, _topic_id(t.topic_id), t.is_internal)
                for t in sorted(response.topics, key=lambda t: t.name or "")
                if t.name is not None and (include_internal or not t.is_internal)
            }
            return Answer(done=dict.fromkeys(keys, listing))

        return await self._whole("list_topics", any_broker(router), fulfil, timeout)

    # ---------------------------------------------------------------------------- describe

    @overload
    async def describe_topics(  # type: ignore[overload-overlap]
        self, topics: str, *, timeout: float | None = None
    ) -> TopicDescription: ...

    @overload
    async def describe_topics(
        self, topics: Iterable[str], *, timeout: float | None = None
    ) -> Results[str, TopicDescription]: ...

    async def describe_topics(
        self, topics: str | Iterable[str], *, timeout: float | None = None
    ) -> TopicDescription | Results[str, TopicDescription]:
        """Describe topics: id, internal flag, and each partition's leader, replicas and ISR.

        A topic that does not exist fails with
        :class:`~rafka.errors.UnknownTopicOrPartitionError`.
        """
        single = isinstance(topics, str)
        names: list[str] = unique([topics] if single else list(topics))  # type: ignore[list-item]
        router = self._router

        async def fulfil(
            node: int, batch: list[str], deadline: Deadline
        ) -> Answer[str, TopicDescription]:
            if await router.serves(node, DESCRIBE_TOPIC_PARTITIONS):
                return await _describe_paginated(self, node, batch, deadline)
            return await _describe_by_metadata(self, node, batch, deadline)

        return await self._each(  # type: ignore[no-any-return]
            "describe_topics", names, single, any_broker(router), fulfil, timeout
        )

    # -------------------------------------------------------------------------- partitions

    async def create_partitions(
        self,
        partitions: Mapping[str, NewPartitions | int],
        *,
        validate_only: bool = False,
        timeout: float | None = None,
    ) -> Results[str, None]:
        """Grow topics to a new total partition count: ``{"orders": NewPartitions(6)}`` (or
        ``{"orders": 6}``). A count that is not an increase fails with
        :class:`~rafka.errors.InvalidPartitionsError`."""
        wanted = {
            name: spec if isinstance(spec, NewPartitions) else NewPartitions(int(spec))
            for name, spec in partitions.items()
        }
        router = self._router

        async def fulfil(node: int, names: list[str], deadline: Deadline) -> Answer[str, None]:
            request = m.CreatePartitionsRequest(
                topics=[
                    m.CreatePartitionsRequest.CreatePartitionsTopic(
                        name=name,
                        count=wanted[name].total_count,
                        assignments=None
                        if wanted[name].assignments is None
                        else [
                            m.CreatePartitionsRequest.CreatePartitionsAssignment(
                                broker_ids=list(replicas)
                            )
                            for replicas in wanted[name].assignments or ()
                        ],
                    )
                    for name in names
                ],
                timeout_ms=_ms(deadline, router.request_timeout),
                validate_only=validate_only,
            )
            response = await router.send(node, CREATE_PARTITIONS, lambda v: request, deadline)
            assert isinstance(response, m.CreatePartitionsResponse)
            answer: Answer[str, None] = Answer()
            for result in response.results:
                if result.name not in wanted:
                    continue
                if result.error_code:
                    classify(
                        answer,
                        result.name,
                        result.error_code,
                        result.error_message,
                        remap=_TO_CONTROLLER,
                    )
                else:
                    answer.done[result.name] = None
            return answer

        return await self._each(  # type: ignore[no-any-return]
            "create_partitions", list(wanted), False, controller(router), fulfil, timeout
        )


# ------------------------------------------------------------------------------- helpers


def _creatable(topic: NewTopic) -> m.CreateTopicsRequest.CreatableTopic:
    return m.CreateTopicsRequest.CreatableTopic(
        name=topic.name,
        num_partitions=topic.num_partitions,
        replication_factor=topic.replication_factor,
        assignments=[
            m.CreateTopicsRequest.CreatableReplicaAssignment(
                partition_index=partition, broker_ids=list(replicas)
            )
            for partition, replicas in sorted((topic.assignments or {}).items())
        ],
        configs=[
            m.CreateTopicsRequest.CreatableTopicConfig(name=name, value=value)
            for name, value in topic.configs.items()
        ],
    )


def _created(result: m.CreateTopicsResponse.CreatableTopicResult) -> CreatedTopic:
    return CreatedTopic(
        result.name,
        _topic_id(result.topic_id),
        result.num_partitions,
        result.replication_factor,
        {
            c.name: ConfigEntry(
                c.name,
                c.value,
                _source(c.config_source),
                is_read_only=c.read_only,
                is_sensitive=c.is_sensitive,
            )
            for c in result.configs or ()
        },
    )


def _source(code: int) -> ConfigSource:
    try:
        return ConfigSource(code)
    except ValueError:
        return ConfigSource.UNKNOWN


def _partition(
    index: int,
    leader: int,
    replicas: list[int],
    isr: list[int],
    epoch: int,
    offline: list[int],
) -> PartitionDescription:
    return PartitionDescription(
        index, None if leader < 0 else leader, tuple(replicas), tuple(isr), epoch, tuple(offline)
    )


_TOPIC_RETRY = {errors.LeaderNotAvailableError.code}


def _page(
    names: list[str], cursor: m.DescribeTopicPartitionsRequest.Cursor | None, version: int
) -> m.DescribeTopicPartitionsRequest:
    return m.DescribeTopicPartitionsRequest(
        topics=[m.DescribeTopicPartitionsRequest.TopicRequest(name=n) for n in names],
        cursor=cursor,
    )


async def _describe_paginated(
    admin: AdminBase, node: int, names: list[str], deadline: Deadline
) -> Answer[str, TopicDescription]:
    router = admin._router
    found: dict[
        str,
        tuple[
            m.DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponseTopic,
            list[PartitionDescription],
        ],
    ] = {}
    answer: Answer[str, TopicDescription] = Answer()
    cursor: m.DescribeTopicPartitionsRequest.Cursor | None = None
    while True:
        response = await router.send(
            node, DESCRIBE_TOPIC_PARTITIONS, functools.partial(_page, names, cursor), deadline
        )
        assert isinstance(response, m.DescribeTopicPartitionsResponse)
        for topic in response.topics:
            name = topic.name
            if name is None or name not in names:
                continue
            if topic.error_code:
                classify(answer, name, topic.error_code, f"topic {name!r}", retry=_TOPIC_RETRY)
                continue
            _, parts = found.setdefault(name, (topic, []))
            parts.extend(
                _partition(
                    p.partition_index,
                    p.leader_id,
                    p.replica_nodes,
                    p.isr_nodes,
                    p.leader_epoch,
                    p.offline_replicas,
                )
                for p in topic.partitions
            )
        nxt = response.next_cursor
        if nxt is None:
            break
        cursor = m.DescribeTopicPartitionsRequest.Cursor(
            topic_name=nxt.topic_name, partition_index=nxt.partition_index
        )
    for name, (topic, parts) in found.items():
        answer.done[name] = TopicDescription(
            name,
            _topic_id(topic.topic_id),
            topic.is_internal,
            tuple(sorted(parts, key=lambda p: p.partition)),
        )
    return answer


async def _describe_by_metadata(
    admin: AdminBase, node: int, names: list[str], deadline: Deadline
) -> Answer[str, TopicDescription]:
    router = admin._router
    response = await router.send(
        node,
        METADATA,
        lambda v: m.MetadataRequest(
            topics=[m.MetadataRequest.MetadataRequestTopic(name=n) for n in names],
            allow_auto_topic_creation=False,
        ),
        deadline,
        min_version=1,
    )
    assert isinstance(response, m.MetadataResponse)
    router.learn(response)
    answer: Answer[str, TopicDescription] = Answer()
    for topic in response.topics:
        name = topic.name
        if name is None or name not in names:
            continue
        if topic.error_code:
            classify(answer, name, topic.error_code, f"topic {name!r}", retry=_TOPIC_RETRY)
            continue
        parts = [
            _partition(
                p.partition_index,
                p.leader_id,
                p.replica_nodes,
                p.isr_nodes,
                p.leader_epoch,
                p.offline_replicas,
            )
            for p in sorted(topic.partitions, key=lambda p: p.partition_index)
        ]
        answer.done[name] = TopicDescription(
            name, _topic_id(topic.topic_id), topic.is_internal, tuple(parts)
        )
    return answer

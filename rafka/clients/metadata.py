"""The cluster as a client sees it: brokers, topics, partitions and their leaders.

:class:`MetadataCache` is plain data updated from Metadata responses (no I/O).
:class:`MetadataManager` refreshes it through a transport: when asked for topics it does not
know, when a caller marks it stale (after NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION,
a broken connection, ...), and every ``metadata.max.age.ms``. Concurrent refreshes are merged.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import anyio
import attrs

from rafka import errors
from rafka.clients.transport import Node, Transport, TransportError, choose_version
from rafka.protocol.messages import MetadataRequest, MetadataResponse

__all__ = ["MetadataCache", "MetadataManager", "PartitionInfo", "TopicInfo"]

ZERO_UUID = uuid.UUID(int=0)


@attrs.frozen
class PartitionInfo:
    partition: int
    leader: int
    leader_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    error_code: int = 0


@attrs.frozen
class TopicInfo:
    name: str
    topic_id: uuid.UUID
    partitions: dict[int, PartitionInfo]
    is_internal: bool = False
    error_code: int = 0

    @property
    def partition_count(self) -> int:
        return len(self.partitions)


@attrs.define
class MetadataCache:
    cluster_id: str | None = None
    controller_id: int = -1
    brokers: dict[int, Node] = attrs.Factory(dict)
    topics: dict[str, TopicInfo] = attrs.Factory(dict)
    errors: dict[str, int] = attrs.Factory(dict)  #: topic -> last error code
    updated_at: float = -1.0

    def update(self, response: MetadataResponse, asked: set[str] | None, now: float) -> None:
        self.cluster_id = response.cluster_id
        self.controller_id = response.controller_id
        self.brokers = {
            b.node_id: Node(b.node_id, b.host, b.port, b.rack) for b in response.brokers
        }
        if asked is None:
            self.topics = {}
        for t in response.topics:
            if t.name is None:
                continue
            if t.error_code and t.error_code != errors.LeaderNotAvailableError.code:
                self.errors[t.name] = t.error_code
                self.topics.pop(t.name, None)
                continue
            self.errors.pop(t.name, None)
            self.topics[t.name] = TopicInfo(
                t.name,
                t.topic_id,
                {
                    p.partition_index: PartitionInfo(
                        p.partition_index,
                        p.leader_id,
                        p.leader_epoch,
                        tuple(p.replica_nodes),
                        tuple(p.isr_nodes),
                        p.error_code,
                    )
                    for p in t.partitions
                },
                t.is_internal,
                t.error_code,
            )
        self.updated_at = now

    def topic_name(self, topic_id: uuid.UUID) -> str | None:
        """The name of the topic with this id, if the cache knows it."""
        for name, info in self.topics.items():
            if info.topic_id == topic_id:
                return name
        return None

    def leader(self, topic: str, partition: int) -> int | None:
        info = self.topics.get(topic)
        part = None if info is None else info.partitions.get(partition)
        if part is None or part.leader < 0 or part.leader not in self.brokers:
            return None
        return part.leader


class MetadataManager:
    """Keeps a :class:`MetadataCache` fresh through a transport."""

    def __init__(
        self,
        transport: Transport,
        *,
        max_age_ms: int = 300_000,
        allow_auto_create: bool = True,
        request_timeout: float = 30.0,
        retry_backoff_ms: int = 100,
    ) -> None:
        self.transport = transport
        self.cache = MetadataCache()
        self.max_age = max_age_ms / 1000
        self.allow_auto_create = allow_auto_create
        self.request_timeout = request_timeout
        self.retry_backoff = retry_backoff_ms / 1000
        self._wanted: set[str] = set()
        self._stale = True
        self._refreshing: anyio.Event | None = None
        self._last_error: BaseException | None = None
        self._refresh_cancelled = False

    def want(self, topics: Iterable[str]) -> None:
        """Keep these topics in the cache from now on."""
        new = set(topics) - self._wanted
        if new:
            self._wanted |= new
            self._stale = True

    def mark_stale(self) -> None:
        self._stale = True

    @property
    def needs_refresh(self) -> bool:
        age = anyio.current_time() - self.cache.updated_at
        return self._stale or self.cache.updated_at < 0 or age > self.max_age

    async def refresh(self, *, all_topics: bool = False) -> MetadataCache:
        """Fetch metadata now (joining a refresh already under way)."""
        while self._refreshing is not None:
            await self._refreshing.wait()
            if self._refresh_cancelled:
                continue  # that caller gave up: refresh for this one
            if self._last_error is not None and self.cache.updated_at < 0:
                raise self._last_error
            return self.cache
        done = self._refreshing = anyio.Event()
        self._refresh_cancelled = False
        try:
            await self._refresh_once(all_topics)
            self._last_error = None
        except anyio.get_cancelled_exc_class():
            # the caller was cancelled, not the refresh failed: waiters must not see this
            self._refresh_cancelled = True
            raise
        except Exception as exc:
            self._last_error = exc
            raise
        finally:
            self._refreshing = None
            done.set()
        return self.cache

    def _candidates(self) -> list[int]:
        known = sorted(self.cache.brokers)
        return (
            known + self.transport.bootstrap_nodes()
            if known
            else (self.transport.bootstrap_nodes())
        )

    async def _refresh_once(self, all_topics: bool) -> None:
        topics = None if all_topics else sorted(self._wanted)
        request = MetadataRequest(
            topics=None
            if topics is None
            else [MetadataRequest.MetadataRequestTopic(name=t) for t in topics],
            allow_auto_topic_creation=self.allow_auto_create,
        )
        last: BaseException | None = None
        for node_id in self._candidates():
            try:
                response = await self.transport.request(
                    node_id, request, timeout=self.request_timeout
                )
            except (TransportError, errors.RequestTimedOutError) as exc:
                last = exc
                continue
            assert isinstance(response, MetadataResponse)
            self.cache.update(
                response, None if topics is None else set(topics), anyio.current_time()
            )
            self.transport.update_nodes(list(self.cache.brokers.values()))
            self._stale = False
            return
        raise TransportError(f"no broker answered a metadata request: {last}")

    async def resolve_topic_ids(self, topic_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Learn the names of topics known by id (a consumer group's assignment names topics by
        id): a Metadata request by topic id (v12+), or a listing of every topic from a broker
        too old for that. Returns the ids resolved; the names join the cache."""
        wanted = set(topic_ids)
        last: BaseException | None = None
        for node_id in self._candidates():
            try:
                versions = await self.transport.api_versions(node_id)
                version = choose_version(MetadataRequest.API_KEY, versions.get(3), None)
                if version >= 12:
                    request = MetadataRequest(
                        topics=[
                            MetadataRequest.MetadataRequestTopic(topic_id=t, name=None)
                            for t in sorted(wanted)
                        ],
                        allow_auto_topic_creation=False,
                    )
                    response = await self.transport.request(
                        node_id, request, version=version, timeout=self.request_timeout
                    )
                    assert isinstance(response, MetadataResponse)
                    refreshed_at = self.cache.updated_at  # the wanted topics were not asked
                    self.cache.update(response, set(), anyio.current_time())
                    self.cache.updated_at = refreshed_at
                else:
                    await self.refresh(all_topics=True)
            except (TransportError, errors.RequestTimedOutError) as exc:
                last = exc
                continue
            found = {t: self.cache.topic_name(t) for t in wanted}
            return {t: name for t, name in found.items() if name is not None}
        raise TransportError(f"no broker answered a metadata request: {last}")

    async def topic(self, name: str, timeout: float) -> TopicInfo:
        """The topic's metadata, refreshing (and waiting for auto-creation) up to ``timeout``."""
        self.want([name])
        unreachable: BaseException | None = None
        with anyio.move_on_after(timeout):
            while True:
                info = self.cache.topics.get(name)
                if info is not None and not self._stale:
                    return info
                try:
                    await self.refresh()
                    unreachable = None
                except (TransportError, errors.RequestTimedOutError) as exc:
                    unreachable = exc
                    await anyio.sleep(self.retry_backoff)
                    continue
                info = self.cache.topics.get(name)
                if info is not None:
                    return info
                code = self.cache.errors.get(name)
                if code is not None and code not in (
                    errors.UnknownTopicOrPartitionError.code,
                    errors.LeaderNotAvailableError.code,
                ):
                    raise errors.for_code(code)(f"topic {name!r}")
                await anyio.sleep(self.retry_backoff)
        if unreachable is not None:
            raise errors.ClientTimeoutError(
                f"topic {name!r} not present in metadata after {timeout:.1f} s: no broker "
                f"answered ({unreachable}); check bootstrap_servers and that the cluster is up"
            )
        code = self.cache.errors.get(name, errors.UnknownTopicOrPartitionError.code)
        raise errors.for_code(code)(f"topic {name!r} not present in metadata after {timeout:.1f} s")

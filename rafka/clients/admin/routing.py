"""Where admin requests go, and how a call on many items is driven to its answers.

An admin call is a set of *keys* (topics, partitions, config resources, groups) answered by
some node each. :func:`drive` runs Kafka's two stages until every key is answered or the
call's deadline passes:

1. *lookup*: find each key's node: any broker or the controller (topic and config admin),
   one broker (its own configs and log dirs), the partition's leader (from a Metadata
   request), the group's coordinator (FindCoordinator, batched from v4);
2. *fulfil*: send one request per node for all of that node's keys, at the highest version
   both sides serve, and sort the per-key answers: done, failed, retry later (the same node),
   or look up again (the node no longer owns the key: NOT_LEADER_OR_FOLLOWER,
   NOT_COORDINATOR, NOT_CONTROLLER ...).

Between rounds the driver backs off exponentially from ``retry.backoff.ms`` to
``retry.backoff.max.ms``. A node that cannot be reached (:class:`TransportError`) or does not
answer in ``request.timeout.ms`` has its keys looked up again, avoiding it for a while. When the
deadline passes, keys still open fail with :class:`~rafka.errors.ClientTimeoutError` naming the
last problem seen.

Decision code (:class:`Answer`, :func:`classify`) never awaits; only the driver and the
:class:`Router`'s senders do.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable, Collection, Hashable, Iterable
from typing import Any, Generic, TypeVar

import anyio
import attrs

from rafka import errors
from rafka.clients.transport import Node, Transport, TransportError, choose_version
from rafka.protocol import messages as m
from rafka.protocol._message import Message
from rafka.protocol.messages import API_SPECS

__all__ = ["Answer", "Deadline", "Router", "classify", "drive"]

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

METADATA = 3
#: How long a node that failed is avoided when another one can answer (seconds).
AVOID_FAILED_NODE = 5.0


class Deadline:
    """The moment an admin call gives up (``default.api.timeout.ms`` or the call's
    ``timeout=``), on the event loop's clock."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = anyio.current_time() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - anyio.current_time())

    @property
    def expired(self) -> bool:
        return anyio.current_time() >= self.at


@attrs.define
class Answer(Generic[K, T]):
    """What one request (or lookup) said about each of its keys."""

    done: dict[K, T] = attrs.Factory(dict)
    failed: dict[K, BaseException] = attrs.Factory(dict)
    retry: dict[K, BaseException] = attrs.Factory(dict)  #: ask the same node again later
    remap: dict[K, BaseException] = attrs.Factory(dict)  #: find the key's node again first


def classify(
    answer: Answer[K, Any],
    key: K,
    code: int,
    message: str | None,
    *,
    retry: Collection[int] = (),
    remap: Collection[int] = (),
) -> None:
    """Record a non-zero error ``code`` for ``key``: in ``remap`` codes the key's node is
    looked up again, in ``retry`` codes it is asked again, any other code fails the key."""
    error = errors.for_code(code)(message or None)
    if code in remap:
        answer.remap[key] = error
    elif code in retry:
        answer.retry[key] = error
    else:
        answer.failed[key] = error


Lookup = Callable[[list[K], Deadline], Awaitable[Answer[K, int]]]
Fulfil = Callable[[int, list[K], Deadline], Awaitable[Answer[K, T]]]


class Router:
    """Sends requests to nodes for the admin client and keeps what it learns about brokers.

    Versions are picked per node from its ApiVersions answer (``choose_version``), requests
    are built for that version by the caller's ``build(version)``, and each request's timeout
    is ``request.timeout.ms`` or what is left of the call's deadline, whichever is shorter.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        request_timeout: float,
        retry_backoff: float,
        retry_backoff_max: float,
    ) -> None:
        self.transport = transport
        self.request_timeout = request_timeout
        self.backoff_range = (retry_backoff, retry_backoff_max)
        self.brokers: dict[int, Node] = {}
        self.controller_id = -1
        self.cluster_id: str | None = None
        self._failed_at: dict[int, float] = {}
        self._turn = 0
        self._rng = random.Random()

    # ------------------------------------------------------------------------------- nodes

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before round ``attempt`` (1, 2, ...), with 20% jitter."""
        lo, hi = self.backoff_range
        delay: float = min(hi, lo * 2 ** max(attempt - 1, 0))
        return delay * self._rng.uniform(0.8, 1.2)

    def node_failed(self, node_id: int) -> None:
        """Avoid ``node_id`` for a while (and stop taking it for the controller)."""
        self._failed_at[node_id] = anyio.current_time()
        if node_id == self.controller_id:
            self.controller_id = -1

    def _healthy(self, nodes: list[int]) -> list[int]:
        now = anyio.current_time()
        ok = [n for n in nodes if now - self._failed_at.get(n, -math.inf) > AVOID_FAILED_NODE]
        return ok or nodes

    def candidates(self) -> list[int]:
        """Nodes to try for a request any broker can answer, best first: known brokers not
        failing lately (taking turns), then the bootstrap servers."""
        known = self._healthy(sorted(self.brokers))
        if known:
            self._turn += 1
            i = self._turn % len(known)
            known = known[i:] + known[:i]
        return known + self._healthy(self.transport.bootstrap_nodes())

    def any_node(self) -> int:
        return self.candidates()[0]

    def controller(self) -> int:
        """The controller as metadata names it, else any broker (KRaft brokers forward
        controller requests)."""
        if self.controller_id in self.brokers:
            return self.controller_id
        return self.any_node()

    # ---------------------------------------------------------------------------- requests

    async def version(
        self, node_id: int, api_key: int, *, wanted_max: int | None = None, min_version: int = 0
    ) -> int:
        """The version to speak ``api_key`` to ``node_id`` at (raises
        UnsupportedVersionError when the node does not serve it, or only below
        ``min_version``)."""
        versions = await self.transport.api_versions(node_id)
        broker = versions.get(api_key)
        name = API_SPECS[api_key].name
        if broker is None:
            raise errors.UnsupportedVersionError(f"node {node_id} does not serve {name}")
        version = choose_version(api_key, broker, wanted_max)
        if version < min_version:
            raise errors.UnsupportedVersionError(
                f"node {node_id} serves {name} up to v{broker[1]}; this call needs "
                f"v{min_version} or later"
            )
        return version

    async def serves(self, node_id: int, api_key: int) -> bool:
        versions = await self.transport.api_versions(node_id)
        return api_key in versions

    async def send(
        self,
        node_id: int,
        api_key: int,
        build: Callable[[int], Message],
        deadline: Deadline,
        *,
        wanted_max: int | None = None,
        min_version: int = 0,
    ) -> Any:
        """Send ``build(version)`` to the node and return its response."""
        version = await self.version(
            node_id, api_key, wanted_max=wanted_max, min_version=min_version
        )
        timeout = max(min(self.request_timeout, deadline.remaining()), 0.001)
        return await self.transport.request(
            node_id, build(version), version=version, timeout=timeout
        )

    async def metadata(self, topics: list[str] | None, deadline: Deadline) -> m.MetadataResponse:
        """A Metadata response for ``topics`` (None: every topic) from any broker that answers,
        never creating topics; what it says about the brokers is kept."""

        def build(version: int) -> m.MetadataRequest:
            names = None
            if topics is not None:
                names = [m.MetadataRequest.MetadataRequestTopic(name=t) for t in topics]
            return m.MetadataRequest(topics=names, allow_auto_topic_creation=False)

        last: BaseException | None = None
        for node in self.candidates():
            try:
                response = await self.send(node, METADATA, build, deadline, min_version=1)
            except (TransportError, errors.RequestTimedOutError) as exc:
                self.node_failed(node)
                last = exc
                continue
            assert isinstance(response, m.MetadataResponse)
            self.learn(response)
            return response
        raise TransportError(f"no broker answered a Metadata request: {last}")

    def learn(self, response: m.MetadataResponse) -> None:
        self.brokers = {
            b.node_id: Node(b.node_id, b.host, b.port, b.rack) for b in response.brokers
        }
        self.controller_id = response.controller_id
        self.cluster_id = response.cluster_id
        self.transport.update_nodes(list(self.brokers.values()))
        for node in self.brokers:
            self._failed_at.pop(node, None)

    async def ensure_brokers(self, deadline: Deadline) -> None:
        """Learn the brokers if no Metadata answer has named them yet."""
        if not self.brokers:
            await self.metadata([], deadline)


def _problem(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def _lookup(lookup: Lookup[K], keys: list[K], deadline: Deadline) -> Answer[K, int]:
    """Run a lookup stage; problems reaching the cluster leave the keys to retry."""
    found: Answer[K, int] = Answer()
    with anyio.move_on_after(deadline.remaining()):
        try:
            found = await lookup(keys, deadline)
        except (TransportError, errors.RequestTimedOutError) as exc:
            found.retry = dict.fromkeys(keys, exc)
        except errors.KafkaError as exc:
            if exc.retriable:
                found.retry = dict.fromkeys(keys, exc)
            else:
                found.failed = dict.fromkeys(keys, exc)
    return found


async def _fulfil(
    router: Router,
    fulfil: Fulfil[K, T],
    node: int,
    batch: list[K],
    deadline: Deadline,
    out: list[tuple[list[K], Answer[K, T]]],
) -> None:
    """Run a fulfil stage for one node; an unreachable node's keys are looked up again."""
    answer: Answer[K, T] = Answer()
    try:
        answer = await fulfil(node, batch, deadline)
    except (TransportError, errors.RequestTimedOutError) as exc:
        router.node_failed(node)
        answer.remap = dict.fromkeys(batch, exc)
    except errors.KafkaError as exc:  # the whole request was refused
        if exc.retriable:
            answer.retry = dict.fromkeys(batch, exc)
        else:
            answer.failed = dict.fromkeys(batch, exc)
    out.append((batch, answer))


async def drive(
    router: Router,
    keys: Iterable[K],
    lookup: Lookup[K],
    fulfil: Fulfil[K, T],
    deadline: Deadline,
    what: str,
) -> tuple[dict[K, T], dict[K, BaseException]]:
    """Answer every key: look up its node, send each node one request for its keys, retry what
    can be retried, until all are answered or ``deadline`` passes."""
    pending = dict.fromkeys(keys)  # an ordered set
    done: dict[K, T] = {}
    failed: dict[K, BaseException] = {}
    nodes: dict[K, int] = {}
    last: BaseException | None = None
    attempt = 0
    while pending and not deadline.expired:
        unmapped = [k for k in pending if k not in nodes]
        if unmapped:
            found = await _lookup(lookup, unmapped, deadline)
            nodes.update(found.done)
            for key, error in found.failed.items():
                failed[key] = error
                pending.pop(key, None)
            for error in (*found.retry.values(), *found.remap.values()):
                last = error
        by_node: dict[int, list[K]] = {}
        for key in pending:
            if key in nodes:
                by_node.setdefault(nodes[key], []).append(key)
        answers: list[tuple[list[K], Answer[K, T]]] = []
        if by_node:
            with anyio.move_on_after(deadline.remaining()):
                async with anyio.create_task_group() as tg:
                    for node, batch in by_node.items():
                        tg.start_soon(_fulfil, router, fulfil, node, batch, deadline, answers)
        again = False
        for batch, answer in answers:
            for key, value in answer.done.items():
                done[key] = value
                pending.pop(key, None)
            for key, error in answer.failed.items():
                failed[key] = error
                pending.pop(key, None)
            for key, error in answer.remap.items():
                nodes.pop(key, None)
                last, again = error, True
            for error in answer.retry.values():
                last, again = error, True
            for key in batch:  # a key the node left unanswered is asked again
                if key in pending and key not in answer.remap and key not in answer.retry:
                    last, again = errors.UnknownServerError(f"no answer for {key!r}"), True
        if pending and (again or any(k not in nodes for k in pending)):
            attempt += 1
            await anyio.sleep(min(router.backoff(attempt), deadline.remaining()))
    if pending:
        reason = f" (last problem: {_problem(last)})" if last is not None else ""
        for key in pending:
            item = "" if key == what else f" for {key!r}"
            failed[key] = errors.ClientTimeoutError(
                f"{what}: no answer{item} within {deadline.seconds:.1f} s{reason}"
            )
    return done, failed

"""What every admin operation shares: the router, deadlines, closing, and turning per-key
answers into a result or :class:`~rafka.clients.admin.results.Results`.

The operation mixins (:mod:`.topics`, :mod:`.configs`, :mod:`.records`, :mod:`.groups`,
:mod:`.offsets`, :mod:`.cluster`) derive from :class:`AdminBase`;
:class:`~rafka.clients.admin.AsyncAdmin` combines them with the client's lifecycle.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from types import TracebackType
from typing import Any, TypeVar

import anyio

from rafka import errors
from rafka.clients.admin.lookups import any_broker
from rafka.clients.admin.results import Results
from rafka.clients.admin.routing import Answer, Deadline, Fulfil, Lookup, Router, drive
from rafka.protocol import messages as m

__all__ = ["AdminBase", "Guard"]

K = TypeVar("K", bound=Hashable)
METADATA = 3
T = TypeVar("T")


class Guard:
    """Runs one admin call: refuses it on a closed or unstarted client, and turns the client's
    closing under it into :class:`~rafka.errors.ClientClosedError`."""

    def __init__(self, admin: AdminBase) -> None:
        self.admin = admin
        self.scope = anyio.CancelScope()

    def __enter__(self) -> Guard:
        self.admin._check_open()
        self.admin._scopes.add(self.scope)
        self.scope.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        self.admin._scopes.discard(self.scope)
        swallowed = bool(self.scope.__exit__(exc_type, exc, tb))
        if self.scope.cancelled_caught and self.admin._closed:
            raise errors.ClientClosedError("the admin client was closed during the call")
        return swallowed


class AdminBase:
    """State and helpers shared by the admin operations."""

    _router: Router
    _default_timeout: float
    _closed: bool
    _started: bool
    _scopes: set[anyio.CancelScope]

    def _check_open(self) -> None:
        if self._closed:
            raise errors.ClientClosedError("the admin client is closed")
        if not self._started:
            raise RuntimeError("use the admin client as `async with AsyncAdmin(...) as admin:`")

    def _deadline(self, timeout: float | None) -> Deadline:
        seconds = self._default_timeout if timeout is None else timeout
        if seconds < 0:
            raise ValueError(f"timeout must be >= 0 seconds, not {seconds}")
        return Deadline(seconds)

    async def _drive(
        self,
        what: str,
        keys: Iterable[K],
        lookup: Lookup[K],
        fulfil: Fulfil[K, T],
        timeout: float | None,
    ) -> tuple[dict[K, T], dict[K, BaseException]]:
        """Answer every key (see :func:`~rafka.clients.admin.routing.drive`)."""
        with Guard(self):
            deadline = self._deadline(timeout)
            return await drive(self._router, keys, lookup, fulfil, deadline, what)
        raise AssertionError("unreachable")  # pragma: no cover  (Guard re-raises)

    async def _each(
        self,
        what: str,
        keys: list[K],
        single: bool,
        lookup: Lookup[K],
        fulfil: Fulfil[K, T],
        timeout: float | None,
    ) -> Any:
        """Drive ``keys`` and answer by the convention: the value (or raise) for a single
        item, :class:`Results` for a collection."""
        done, failed = await self._drive(what, keys, lookup, fulfil, timeout)
        return answer(keys, done, failed, single)

    async def _whole(
        self, what: str, lookup: Lookup[str], fulfil: Fulfil[str, T], timeout: float | None
    ) -> T:
        """A call that is one question (``list_topics``, ``describe_cluster``): its answer, or
        its error raised."""
        result: T = await self._each(what, [what], True, lookup, fulfil, timeout)
        return result

    async def _all_brokers(self, timeout: float | None) -> list[int]:
        """The ids of every broker, from a fresh Metadata answer."""
        router = self._router

        async def fulfil(node: int, keys: list[str], deadline: Deadline) -> Answer[str, list[int]]:
            response = await router.send(
                node,
                METADATA,
                lambda v: m.MetadataRequest(topics=[], allow_auto_topic_creation=False),
                deadline,
                min_version=1,
            )
            assert isinstance(response, m.MetadataResponse)
            router.learn(response)
            return Answer(done=dict.fromkeys(keys, sorted(router.brokers)))

        return await self._whole("metadata", any_broker(router), fulfil, timeout)


def answer(keys: list[K], done: dict[K, T], failed: dict[K, BaseException], single: bool) -> Any:
    """The convention of :mod:`rafka.clients.admin.results`."""
    if single:
        key = keys[0]
        if key in failed:
            raise failed[key]
        return done[key]
    if (
        not done
        and failed
        and all(isinstance(e, errors.ClientTimeoutError) for e in failed.values())
    ):
        raise next(iter(failed.values()))  # nothing was answered: the call itself failed
    return Results(keys, done, failed)


def unique(items: Iterable[K]) -> list[K]:
    """``items`` without repeats, in order."""
    return list(dict.fromkeys(items))

"""The clients' metadata manager: refreshes shared between tasks."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import rafka
from rafka.clients.metadata import MetadataManager

pytestmark = pytest.mark.anyio


class SlowFirst:
    """A transport whose first request waits until released (the others pass through)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.release = anyio.Event()
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            await self.release.wait()
        return await self.inner.request(*args, **kwargs)


async def test_a_cancelled_refresh_does_not_fail_the_tasks_waiting_on_it() -> None:
    async with rafka.AsyncCluster() as cluster:
        transport = SlowFirst(cluster.transport())
        metadata = MetadataManager(transport)
        with anyio.move_on_after(0.05):  # this caller gives up while its refresh is under way
            async with anyio.create_task_group() as tg:
                tg.start_soon(metadata.refresh)
                await anyio.sleep(0.01)
                waiter_done = anyio.Event()

                async def waiter() -> None:
                    with anyio.CancelScope(shield=True):
                        await metadata.refresh()  # joins the refresh above
                    waiter_done.set()

                tg.start_soon(waiter)
                await anyio.sleep_forever()
        with anyio.fail_after(5):
            await waiter_done.wait()
        assert metadata.cache.brokers

"""A broker's periodic log upkeep, scheduled as Kafka's ``LogManager`` schedules it.

- every ``log.retention.check.interval.ms``: retention (``retention.ms``, ``retention.bytes``,
  the log start offset) on every hosted log, leader or follower, and expiry of producers idle
  for ``producer.id.expiration.ms`` (Kafka checks those on its own interval,
  ``producer.id.expiration.check.interval.ms``, 10 minutes by default; rafka does it with
  retention);
- every ``log.flush.scheduler.interval.ms`` (never, by default): flush logs due by
  ``flush.ms`` / ``flush.messages``.

Both start 30 s after the broker, as Kafka's (``InitialTaskDelayMs``), and wait on the cluster
clock, so a virtual clock drives them. ``segment.ms`` needs no task: a segment rolls when an
append finds it too old, as in Kafka. Not done here yet: the log cleaner (compaction).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from rafka.cluster.clock import ClusterClock
    from rafka.cluster.replica_manager import ReplicaManager

__all__ = ["INITIAL_DELAY_MS", "run_log_maintenance"]

log = logging.getLogger("rafka.logs")

#: Kafka's delay before the first run of each periodic log task.
INITIAL_DELAY_MS = 30_000

_NEVER = 2**63 - 1


async def run_log_maintenance(replicas: ReplicaManager) -> None:
    """Run the periodic tasks of one broker's logs until cancelled."""
    config = replicas.config
    retention_ms = int(config.get("log.retention.check.interval.ms"))
    flush_ms = int(config.get("log.flush.scheduler.interval.ms"))

    # The log manager is looked up each time: a restarted broker gets a new one.
    def retention() -> int:
        return replicas.logs.cleanup_logs()

    def flush() -> int:
        return replicas.logs.flush_dirty_logs()

    async with anyio.create_task_group() as tg:
        tg.start_soon(_every, replicas, retention_ms, retention, "retention")
        if flush_ms < _NEVER:
            tg.start_soon(_every, replicas, flush_ms, flush, "flush")


async def _every(
    replicas: ReplicaManager, interval_ms: int, task: Callable[[], int], name: str
) -> None:
    clock: ClusterClock = replicas.clock
    await clock.sleep(INITIAL_DELAY_MS / 1000)
    while True:
        if replicas.running:
            try:
                done = task()
            except Exception:
                log.exception("broker %d: log %s task failed", replicas.node_id, name)
            else:
                if done:
                    log.debug("broker %d: log %s: %d", replicas.node_id, name, done)
        await clock.sleep(interval_ms / 1000)

"""Rebuilding a shard from its ``__consumer_offsets`` partition.

A broker that becomes leader of an offsets partition reads it from the log start to the log
end and replays every record into a fresh :class:`~rafka.cluster.groups.shard.GroupShard`
(requests for its groups get COORDINATOR_LOAD_IN_PROGRESS meanwhile). The read goes in chunks
and yields to the event loop between them, so a long log does not stall the broker.

Skipped, and said so in the log: control batches, transactional batches (rafka has no
transactional offset commits yet), records that do not decode, and record types rafka does not
handle yet (share and streams groups).
"""

from __future__ import annotations

import logging

import anyio

from rafka.cluster.groups.records import decode_record
from rafka.cluster.groups.shard import GroupShard
from rafka.errors import DecodeError
from rafka.protocol.records import read_batches
from rafka.storage.unified_log import UnifiedLog

__all__ = ["CHUNK_BYTES", "load_shard", "replay_buffer"]

log = logging.getLogger("rafka.groups")

CHUNK_BYTES = 1 << 20


def replay_buffer(shard: GroupShard, buffer: bytes | memoryview) -> int:
    """Replay every record of the whole batches in ``buffer``; the offset after the last."""
    next_offset = -1
    for batch in read_batches(buffer):
        next_offset = batch.next_offset
        if batch.is_control:
            continue
        if batch.is_transactional:
            log.warning(
                "__consumer_offsets-%d: skipping transactional batch at %d (not supported yet)",
                shard.partition,
                batch.base_offset,
            )
            continue
        try:
            records = batch.records()
        except DecodeError as exc:
            log.warning("__consumer_offsets-%d: unreadable batch: %s", shard.partition, exc)
            continue
        for record in records:
            try:
                decoded = decode_record(record.key, record.value)
            except DecodeError as exc:
                log.warning(
                    "__consumer_offsets-%d: skipping record at %d: %s",
                    shard.partition,
                    record.offset,
                    exc,
                )
                continue
            shard.replay(decoded, record.offset)
    return next_offset


async def load_shard(shard: GroupShard, partition_log: UnifiedLog) -> None:
    """Replay the partition's log into ``shard``, up to the log end as it is now."""
    offset = partition_log.log_start_offset
    end = partition_log.log_end_offset
    while offset < end:
        data = partition_log.read(offset, CHUNK_BYTES, max_offset=end, min_one_message=True)
        if not data.size:
            break
        next_offset = replay_buffer(shard, data.records)
        if next_offset <= offset:
            break
        offset = next_offset
        await anyio.sleep(0)

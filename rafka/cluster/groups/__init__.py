"""The group coordinator: consumer groups and committed offsets, stored in ``__consumer_offsets``.

Layout (decision code never awaits; only :mod:`.coordinator` and :mod:`.loader` do):

- :mod:`.records`: the key/value records of ``__consumer_offsets``, in Kafka's formats;
- :mod:`.group`: what every group in a shard's registry offers (classic and consumer groups);
- :mod:`.classic_group`, :mod:`.classic_rebalance`, :mod:`.classic_protocol`: classic groups
  and the JoinGroup/SyncGroup/Heartbeat/LeaveGroup state machine;
- KIP-848 consumer groups: :mod:`.consumer_member`, :mod:`.consumer_group` (data and derived
  state), :mod:`.consumer_records`, :mod:`.consumer_replay` (the records and how they change a
  group), :mod:`.assignors`, :mod:`.reconciliation`, :mod:`.consumer_metadata` (pure
  decisions), :mod:`.consumer_engine`, :mod:`.consumer_classic`, :mod:`.consumer_protocol`
  (ConsumerGroupHeartbeat, classic members in consumer groups, conversions);
- :mod:`.offsets`: committed offsets (commit, fetch, delete, expiry);
- :mod:`.shard`: one offsets partition's registry, offsets and timers;
- :mod:`.timer`, :mod:`.result`: deadlines, and what an operation decides;
- :mod:`.topic`: the offsets topic and which partition holds a group;
- :mod:`.loader`, :mod:`.coordinator`: the async runtime (loading, writing, timers).
"""

from __future__ import annotations

from rafka.cluster.groups.coordinator import GroupCoordinator, ShardSlot
from rafka.cluster.groups.shard import GroupConfig, GroupShard
from rafka.cluster.groups.topic import OFFSETS_TOPIC, partition_for

__all__ = [
    "OFFSETS_TOPIC",
    "GroupConfig",
    "GroupCoordinator",
    "GroupShard",
    "ShardSlot",
    "partition_for",
]

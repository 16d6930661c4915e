"""ListGroups (key 16), v0-5: the groups of every ``__consumer_offsets`` partition this broker
leads (clients ask every broker and merge).

- v4+ filter by state (case-insensitive), v5+ by type (``classic``, ``consumer``, ...); an
  unknown type matches nothing. The answer carries the state from v4 and the type from v5.
- While one of its partitions is loading the broker answers COORDINATOR_LOAD_IN_PROGRESS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import ListGroupsRequest, ListGroupsResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 16
VERSIONS = (0, 5)

R = ListGroupsResponse


async def handle(broker: Broker, ctx: RequestContext, request: ListGroupsRequest) -> R:
    version = ctx.api_version
    states = request.states_filter if version >= 4 else []
    types = request.types_filter if version >= 5 else []
    try:
        shards = broker.group_coordinator.active_shards()
    except errors.KafkaError as exc:
        return R(error_code=exc.code)
    groups = []
    for shard in shards:
        for listed in shard.list_groups(states, types):
            if version < 4:
                listed.group_state = ""
            if version < 5:
                listed.group_type = ""
            groups.append(listed)
    return R(groups=groups)

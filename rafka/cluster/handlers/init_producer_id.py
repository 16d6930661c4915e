"""InitProducerId (key 22), v0-5 (v6 is unstable in Kafka 4.1): a producer id for an
idempotent producer.

Without a transactional id every call gets a fresh producer id at epoch 0 (as Kafka does for
idempotent producers, including the epoch-bump calls of KIP-360). Transactional ids need the
transaction coordinator, which rafka does not have yet: they get COORDINATOR_NOT_AVAILABLE.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import InitProducerIdRequest, InitProducerIdResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 22
VERSIONS = (0, 6)


async def handle(
    broker: Broker, ctx: RequestContext, request: InitProducerIdRequest
) -> InitProducerIdResponse:
    if request.transactional_id is not None:
        raise errors.CoordinatorNotAvailableError(
            "rafka has no transaction coordinator yet; use an idempotent producer"
        )
    return InitProducerIdResponse(producer_id=broker.next_producer_id(), producer_epoch=0)

"""DescribeCluster (key 60), v0-2: the cluster id, the controller and the brokers.

v1+ may ask for controllers (endpoint type 2); rafka's controller lives inside the brokers'
process, so the answer lists the brokers as Kafka does for a combined node. v2 includes fenced
brokers when asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka.cluster.handlers.metadata import CLUSTER_OPERATIONS, NOT_REQUESTED
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import DescribeClusterRequest, DescribeClusterResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 60
VERSIONS = (0, 2)

R = DescribeClusterResponse


async def handle(broker: Broker, ctx: RequestContext, request: DescribeClusterRequest) -> R:
    image = broker.controller.image
    include_fenced = ctx.api_version >= 2 and request.include_fenced_brokers
    brokers = sorted(image.brokers.values(), key=lambda b: b.node_id)
    live = [b for b in brokers if not b.fenced]
    listed = brokers if include_fenced else live
    return R(
        error_message=None,
        endpoint_type=request.endpoint_type if ctx.api_version >= 1 else 1,
        cluster_id=image.cluster_id,
        controller_id=live[0].node_id if live else -1,
        brokers=[
            R.DescribeClusterBroker(b.node_id, b.host, b.port, b.rack, b.fenced) for b in listed
        ],
        cluster_authorized_operations=(
            CLUSTER_OPERATIONS if request.include_cluster_authorized_operations else NOT_REQUESTED
        ),
    )

"""ApiVersions (key 18), v0-4: which APIs and versions this broker serves, and its features.

A request at a version newer than ours never reaches this handler: the broker answers it at
v0 with UNSUPPORTED_VERSION and the list (see Broker.handle_frame). v3+ requests must name the
client software with Kafka's allowed characters, else INVALID_REQUEST. A broker emulating an
older Kafka release (:mod:`rafka.cluster.emulation`) narrows the list and the features to it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rafka import errors
from rafka.cluster.features import FEATURES
from rafka.cluster.request import RequestContext
from rafka.protocol.messages import ApiVersionsRequest, ApiVersionsResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker

API_KEY = 18
VERSIONS = (0, 4)

_SOFTWARE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$")

R = ApiVersionsResponse


async def handle(
    broker: Broker, ctx: RequestContext, request: ApiVersionsRequest
) -> ApiVersionsResponse:
    if ctx.api_version >= 3 and not (
        _SOFTWARE.match(request.client_software_name)
        and _SOFTWARE.match(request.client_software_version)
    ):
        raise errors.InvalidRequestError(
            "client software name and version must be alphanumerics, '-' and '.'"
        )
    features = list(FEATURES)
    if broker.kafka_release is not None:
        features = broker.kafka_release.cap_features(features)
    return R(
        error_code=0,
        api_keys=[R.ApiVersion(key, lo, hi) for key, lo, hi in broker.api_versions()],
        supported_features=[
            R.SupportedFeatureKey(f.name, f.min_version, f.max_version) for f in features
        ],
        finalized_features_epoch=max(broker.controller.image.offset, 0),
        finalized_features=[
            R.FinalizedFeatureKey(f.name, f.level, f.level) for f in features if f.level > 0
        ],
    )

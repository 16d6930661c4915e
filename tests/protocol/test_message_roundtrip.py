"""Every request and response of every API round-trips at every version it supports."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rafka.protocol._message import Message
from rafka.protocol.messages import API_SPECS
from tests.strategies import message_strategy

CASES = [
    pytest.param(getattr(spec, kind), version, id=f"{spec.name}{kind[:-6].title()}-v{version}")
    for spec in API_SPECS.values()
    if spec.module is not None
    for kind in ("request_class", "response_class")
    for version in spec.versions
]


@pytest.mark.parametrize(("cls", "version"), CASES)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip(cls: type[Message], version: int, data: Any) -> None:
    message = data.draw(message_strategy(cls, version))
    encoded = message.encode(version)
    decoded = cls.decode(encoded, version)
    assert decoded == message
    assert decoded.encode(version) == encoded


def test_every_api_is_covered() -> None:
    keys = {spec.key for spec in API_SPECS.values() if spec.module is not None}
    assert {0, 1, 3, 18, 19, 20, 32, 60, 68, 75} <= keys
    assert len(CASES) > 500

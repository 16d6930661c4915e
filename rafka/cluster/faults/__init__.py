"""Fault injection: declarative fault plans on the request path, and broker lifecycle faults.

- :mod:`~rafka.cluster.faults.plan`: :class:`FaultPlan` — match, action, trigger.
- :mod:`~rafka.cluster.faults.injector`: a cluster's plans acting on each request.
- :mod:`~rafka.cluster.faults.responses`: error responses built for any API, generically.
- :mod:`~rafka.cluster.faults.effects`: dropped and corrupted responses, for the transports.
- :mod:`~rafka.cluster.faults.lifecycle`: stop, kill and start brokers; move leaders.
- :mod:`~rafka.cluster.faults.hooks`: the journal and the plans installed in the brokers.
"""

from __future__ import annotations

from rafka.cluster.faults.effects import DropResponse, MangledResponse
from rafka.cluster.faults.hooks import RequestHooks
from rafka.cluster.faults.injector import FaultHandle, FaultInjector
from rafka.cluster.faults.lifecycle import BrokerLifecycle
from rafka.cluster.faults.plan import FaultPlan

__all__ = [
    "BrokerLifecycle",
    "DropResponse",
    "FaultHandle",
    "FaultInjector",
    "FaultPlan",
    "MangledResponse",
    "RequestHooks",
]

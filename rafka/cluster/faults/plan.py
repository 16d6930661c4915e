"""A fault plan: which requests it matches, what it does to them, and when it fires.

A plan is data (an attrs object, or the same as a plain dict) in three parts:

=========  ===================================================================================
match      ``api`` (name like ``"Produce"`` or key; one or several), ``versions`` (``(lo, hi)``
           inclusive, or one version), ``broker`` (node id or ids), ``topic``, ``partition``
           (index or indexes), ``client_id``, ``group_id``, ``transactional_id``. Strings may
           be glob patterns (``"orders-*"``). Unset criteria match everything; a request
           matches when every set criterion does (a topic criterion matches a request that
           names that topic, so Metadata for all topics never matches one).
action     ``error`` (Kafka's error name, code or error class; with topic/partition criteria
           only the matched topics/partitions get it, the rest is served), ``error_message``,
           ``delay`` (seconds before the request is served), ``drop`` (served, the response is
           never sent), ``close`` (the connection closes, the request is not served),
           ``throttle_ms`` (sets ``throttle_time_ms``), ``corrupt`` (``"short"``: the
           response frame is cut short; ``"garbage"``: its body is overwritten). At most one
           of error, drop, close, corrupt; delay and throttle combine with any.
trigger    ``after`` (skip the first N matches), ``times`` (fire at most N times; None:
           until removed), ``once`` (``times=1``), ``nth`` (only the nth match:
           ``after=nth-1, times=1``), ``probability`` (each match fires with this chance,
           drawn from a generator seeded from the cluster's seed, or ``seed``).
=========  ===================================================================================

``matched`` and ``fired`` count, per plan, the requests that matched and those it acted on.
:meth:`FaultPlan.decide` is the whole trigger logic: pure, fed one match at a time.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from rafka import errors
from rafka.errors._codes import ERROR_NAMES
from rafka.protocol.messages import API_SPECS

__all__ = ["CORRUPTIONS", "FaultPlan"]

#: How ``corrupt`` mangles a response frame.
CORRUPTIONS = ("short", "garbage")

_API_BY_NAME = {spec.name.lower(): key for key, spec in API_SPECS.items()}
_CODE_BY_NAME = {name: code for code, name in ERROR_NAMES.items()}


def api_key_of(api: str | int) -> int:
    """The API key of ``"Produce"``, ``"produce"`` or ``0``; ValueError for anything else."""
    if isinstance(api, bool):
        raise ValueError(f"not an API: {api!r}")
    if isinstance(api, int):
        if api not in API_SPECS:
            raise ValueError(f"unknown API key {api}")
        return api
    key = _API_BY_NAME.get(str(api).lower())
    if key is None:
        raise ValueError(f"unknown API {api!r} (Kafka's API names, e.g. 'Produce', 'Fetch')")
    return key


def error_code_of(error: str | int | type[errors.KafkaError] | errors.KafkaError) -> int:
    """The code of an error given by Kafka's name, code, error class or instance."""
    if isinstance(error, errors.KafkaError) or (
        isinstance(error, type) and issubclass(error, errors.KafkaError)
    ):
        return error.code
    if isinstance(error, bool):
        raise ValueError(f"not an error: {error!r}")
    if isinstance(error, int):
        if error not in ERROR_NAMES or error == 0:
            raise ValueError(f"unknown error code {error}")
        return error
    code = _CODE_BY_NAME.get(str(error).upper())
    if code is None or code == 0:
        raise ValueError(f"unknown error {error!r} (Kafka's names, e.g. 'NOT_LEADER_OR_FOLLOWER')")
    return code


def _int_set(value: int | Iterable[int] | None) -> frozenset[int] | None:
    if value is None:
        return None
    if isinstance(value, int):
        return frozenset((value,))
    return frozenset(int(v) for v in value)


def _versions(value: int | Iterable[int] | None) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, int):
        return (value, value)
    lo, hi = (int(v) for v in value)
    if lo > hi:
        raise ValueError(f"versions ({lo}, {hi}): the first is above the second")
    return (lo, hi)


def _apis(value: Any) -> str | int | tuple[str | int, ...] | None:
    return tuple(value) if isinstance(value, list | tuple) else value


def glob_match(pattern: str | None, value: str | None) -> bool:
    if pattern is None:
        return True
    if value is None:
        return False
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(value, pattern)
    return value == pattern


@attrs.define(eq=False)
class FaultPlan:
    """One fault: match, action, trigger (see the module docstring for every field)."""

    # -- match
    api: str | int | tuple[str | int, ...] | None = attrs.field(default=None, converter=_apis)
    versions: tuple[int, int] | None = attrs.field(default=None, converter=_versions)
    broker: frozenset[int] | None = attrs.field(default=None, converter=_int_set)
    topic: str | None = None
    partition: frozenset[int] | None = attrs.field(default=None, converter=_int_set)
    client_id: str | None = None
    group_id: str | None = None
    transactional_id: str | None = None
    # -- action
    error: str | int | type[errors.KafkaError] | None = None
    error_message: str | None = None
    delay: float = 0.0
    drop: bool = False
    close: bool = False
    throttle_ms: int | None = None
    corrupt: str | None = None
    # -- trigger
    times: int | None = None
    after: int = 0
    once: bool = False
    nth: int | None = None
    probability: float = 1.0
    seed: int | str | None = None
    name: str | None = None
    # -- state
    matched: int = attrs.field(default=0, init=False)
    fired: int = attrs.field(default=0, init=False)
    api_keys: frozenset[int] | None = attrs.field(default=None, init=False, repr=False)
    error_code: int = attrs.field(default=0, init=False, repr=False)
    _rng: random.Random | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.api is not None:
            apis = self.api if isinstance(self.api, tuple) else (self.api,)
            self.api_keys = frozenset(api_key_of(a) for a in apis)
        if self.error is not None:
            self.error_code = error_code_of(self.error)
        if self.corrupt is not None and self.corrupt not in CORRUPTIONS:
            raise ValueError(f"corrupt must be one of {CORRUPTIONS}, not {self.corrupt!r}")
        terminal = [
            name
            for name, on in (
                ("error", self.error is not None),
                ("drop", self.drop),
                ("close", self.close),
                ("corrupt", self.corrupt is not None),
            )
            if on
        ]
        if len(terminal) > 1:
            raise ValueError(f"a plan takes one of error, drop, close, corrupt; got {terminal}")
        if not terminal and self.delay <= 0 and self.throttle_ms is None:
            raise ValueError(
                "a plan needs an action: error, delay, drop, close, throttle_ms or corrupt"
            )
        if self.delay < 0:
            raise ValueError("delay must be >= 0 seconds")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if self.once:
            if self.times not in (None, 1):
                raise ValueError("once=True and times are exclusive")
            self.times = 1
        if self.nth is not None:
            if self.nth < 1:
                raise ValueError("nth counts from 1")
            if self.after or self.times not in (None, 1):
                raise ValueError("nth and after/times are exclusive")
            self.after, self.times = self.nth - 1, 1
        if self.times is not None and self.times < 0:
            raise ValueError("times must be >= 0")
        if self.after < 0:
            raise ValueError("after must be >= 0")

    # ------------------------------------------------------------------------------ building

    _ALIASES = {"error_code": "error", "delay_ms": "delay", "apis": "api", "brokers": "broker"}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> FaultPlan:
        """A plan from its dict form (the same keys as the fields; ``delay_ms`` takes
        milliseconds, ``error_code`` is ``error``)."""
        known = {a.name for a in attrs.fields(cls) if a.init}
        kwargs: dict[str, Any] = {}
        for key, value in spec.items():
            name = cls._ALIASES.get(key, key)
            if name not in known:
                raise ValueError(
                    f"unknown fault plan key {key!r}; known: {', '.join(sorted(known))}"
                )
            if key == "delay_ms":
                value = float(value) / 1000
            kwargs[name] = value
        return cls(**kwargs)

    @classmethod
    def of(cls, plan: FaultPlan | Mapping[str, Any]) -> FaultPlan:
        return plan if isinstance(plan, FaultPlan) else cls.from_dict(plan)

    def seeded(self, seed: int | str) -> None:
        """Seed the probability draws (the cluster does this when the plan is added)."""
        self._rng = random.Random(self.seed if self.seed is not None else seed)

    # ------------------------------------------------------------------------------- queries

    @property
    def exhausted(self) -> bool:
        """Whether the plan has fired ``times`` times and will not fire again."""
        return self.times is not None and self.fired >= self.times

    @property
    def scoped(self) -> bool:
        """Whether the plan picks topics or partitions (its error goes only to those)."""
        return self.topic is not None or self.partition is not None

    def matches_request(
        self,
        broker_id: int,
        api_key: int,
        version: int,
        client_id: str | None,
    ) -> bool:
        """The cheap criteria: API, version, broker, client id."""
        if self.api_keys is not None and api_key not in self.api_keys:
            return False
        if self.versions is not None and not self.versions[0] <= version <= self.versions[1]:
            return False
        if self.broker is not None and broker_id not in self.broker:
            return False
        return glob_match(self.client_id, client_id)

    def matches_item(self, topic: str, partition: int | None) -> bool:
        """Whether a (topic, partition) a request names is one this plan picks."""
        if not glob_match(self.topic, topic):
            return False
        if self.partition is not None:
            return partition is not None and partition in self.partition
        return True

    def matches_any(self, values: Iterable[str], pattern: str | None) -> bool:
        return pattern is None or any(glob_match(pattern, v) for v in values)

    # ------------------------------------------------------------------------------- trigger

    def decide(self) -> bool:
        """One matching request: count it; True if the plan fires on it."""
        self.matched += 1
        if self.matched <= self.after or self.exhausted:
            return False
        if self.probability < 1.0:
            if self._rng is None:
                self.seeded(0)
            assert self._rng is not None
            if self._rng.random() >= self.probability:
                return False
        self.fired += 1
        return True

    def describe(self) -> str:
        """A short name for logs and the journal."""
        if self.name:
            return self.name
        parts = []
        if self.api is not None:
            parts.append(str(self.api))
        if self.topic is not None:
            parts.append(self.topic)
        if self.error is not None:
            parts.append(ERROR_NAMES.get(self.error_code, str(self.error_code)))
        for flag in ("drop", "close"):
            if getattr(self, flag):
                parts.append(flag)
        if self.corrupt:
            parts.append(f"corrupt={self.corrupt}")
        if self.delay:
            parts.append(f"delay={self.delay:g}s")
        if self.throttle_ms is not None:
            parts.append(f"throttle={self.throttle_ms}ms")
        return " ".join(parts) or "fault"

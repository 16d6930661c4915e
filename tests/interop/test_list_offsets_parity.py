"""ListOffsets parity: the same batches produced to rafka and to Apache Kafka, then the same
ListOffsets questions -- earliest, latest, max-timestamp, earliest-local, latest-tiered and
timestamps before, between, at and after the records' -- at every version both serve, raw and
through kafka-clients' and franz-go's admin ``listOffsets``: the same offsets, timestamps and
leader epochs.

The data is chosen to make the answers non-trivial: timestamps out of order inside batches,
compressed and uncompressed batches, the maximum timestamp appearing in two batches (the
first record holding it wins), an empty partition, and a LogAppendTime topic whose timestamps
the brokers assign (compared through the offsets they lead to).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from rafka.protocol.records.compression import Compression
from tests.interop.conftest import Target
from tests.interop.raw import RawClient, batch_headers, build_batch, error_name
from tests.interop.scenarios import Memo, now_ms, run_all
from tests.peers.clients import DriverClient, PeerClient

TOPIC = "interop-list-offsets"
LOG_APPEND_TOPIC = "interop-list-offsets-log-append"
EMPTY = 1  # partition 1 of TOPIC stays empty

#: ListOffsets' special timestamps and the version each needs.
SPECIAL = {
    "latest": -1,
    "earliest": -2,
    "max-timestamp": -3,
    "earliest-local": -4,
    "latest-tiered": -5,
}

#: (timestamp offset from the base, compression) per batch, for partition 0.
BATCHES: list[tuple[list[int], Compression]] = [
    ([300, 100, 500], Compression.NONE),  # offsets 0-2
    ([200, 500, 400], Compression.GZIP),  # 3-5, the max timestamp again
    ([50, 600], Compression.LZ4),  # 6-7
    ([600, 250], Compression.NONE),  # 8-9, the new max again
    ([700, 100], Compression.ZSTD),  # 10-11: 700 is the max
    ([650], Compression.SNAPPY),  # 12
]

#: Timestamps (offsets from the base) to look up: before, at and between the records' times.
LOOKUPS = (-1, 0, 50, 99, 100, 101, 250, 299, 300, 450, 500, 501, 600, 650, 699, 700, 701, 10_000)


class Data:
    """What was produced to each target, and the answers it gave, computed once."""

    def __init__(self, targets: Mapping[str, Target]) -> None:
        self.targets = targets
        self.base = now_ms() - 600_000
        self._memo = Memo()

    def produced(self, target: str) -> list[Any]:
        """Produce (once) to ``target``; the LogAppendTime topic's batch headers."""
        headers: list[Any] = self._memo.get(
            ("produced", target), lambda: _produce(self.targets[target], self.base)
        )
        return headers

    def cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        return self._memo.get(key, compute)


def _produce(target: Target, base: int) -> list[Any]:
    with RawClient(target.bootstrap) as raw:
        assert raw.create_topic(TOPIC, 2, 1).error_code == 0
        lat = raw.create_topic(LOG_APPEND_TOPIC, 1, 1, {"message.timestamp.type": "LogAppendTime"})
        assert lat.error_code == 0
        raw.wait_for_leaders(TOPIC)
        raw.wait_for_leaders(LOG_APPEND_TOPIC)
        for stamps, codec in BATCHES:
            batch = build_batch(
                [(base + ts, f"k{ts}".encode(), b"v" * 50) for ts in stamps], compression=codec
            )
            raw.produce_ok(TOPIC, 0, batch)
        for _ in range(4):
            batch = build_batch([(base, b"k", b"a"), (base, b"k", b"b")])
            raw.produce_ok(LOG_APPEND_TOPIC, 0, batch)
            time.sleep(0.01)  # distinct append times
        data = raw.fetch(LOG_APPEND_TOPIC, 0, 0)
        return list(batch_headers(bytes(data.records or b"")))


@pytest.fixture(scope="module")
def data(targets: Mapping[str, Target]) -> Data:
    return Data({k: v for k, v in targets.items() if k in ("kafka", "rafka")})


def _versions() -> list[int]:
    return list(range(1, 11))


def _answers(target: Target, base: int, version: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with RawClient(target.bootstrap) as raw:
        served = raw.api_versions()[2]
        if not served[0] <= version <= served[1]:
            return {"unsupported": served}
        for isolation in (0, 1) if version >= 2 else (0,):
            for partition in (0, EMPTY):
                for name, ts in SPECIAL.items():
                    r = raw.list_offsets(
                        TOPIC, partition, ts, version=version, isolation_level=isolation
                    )
                    out[f"p{partition}-{name}-iso{isolation}"] = _view(r, base)
                for delta in LOOKUPS:
                    r = raw.list_offsets(
                        TOPIC, partition, base + delta, version=version, isolation_level=isolation
                    )
                    out[f"p{partition}-at-{delta}-iso{isolation}"] = _view(r, base)
    return out


def _computer(data: Data, target: str, version: int) -> Callable[[], Any]:
    return lambda: _answers(data.targets[target], data.base, version)


def _view(r: Any, base: int) -> tuple[Any, ...]:
    # timestamps relative to the base, -1 kept as is
    ts = r.timestamp - base if r.timestamp >= 0 else r.timestamp
    return (error_name(r.error_code), r.offset, ts, r.leader_epoch)


@pytest.mark.parametrize("version", _versions())
def test_raw_list_offsets(data: Data, version: int) -> None:
    """Every spec and lookup at ListOffsets ``version``: the same answers from both."""
    answers: dict[str, Any] = {}
    for target in ("kafka", "rafka"):
        data.produced(target)
        answers[target] = data.cached(("raw", target, version), _computer(data, target, version))
    kafka = answers["kafka"]
    # a few absolute facts, so the comparison cannot pass on two wrong answers
    if "unsupported" not in kafka:
        assert kafka["p0-latest-iso0"][:2] == ("NONE", 13)
        assert kafka["p0-earliest-iso0"][:2] == ("NONE", 0)
        assert kafka["p0-at-101-iso0"][:3] == ("NONE", 0, 300)
        if version >= 7:
            assert kafka["p0-max-timestamp-iso0"][:3] == ("NONE", 10, 700)
    assert answers["rafka"] == kafka


def _log_append_answers(target: Target, headers: list[Any]) -> list[Any]:
    """Offsets found by each batch's append time, one ms before and after, and max-timestamp."""
    out: list[Any] = []
    with RawClient(target.bootstrap) as raw:
        for h in headers:
            for delta in (-1, 0, 1):
                r = raw.list_offsets(LOG_APPEND_TOPIC, 0, h.max_timestamp + delta)
                out.append((h.base_offset, delta, error_name(r.error_code), r.offset))
        r = raw.list_offsets(LOG_APPEND_TOPIC, 0, -3)
        last = headers[-1]
        out.append(("max", error_name(r.error_code), r.offset, r.timestamp == last.max_timestamp))
    return out


def test_log_append_time_list_offsets(data: Data) -> None:
    """On a LogAppendTime topic, lookups by the broker-assigned times find the same offsets."""
    views = {}
    for target in ("kafka", "rafka"):
        headers = data.produced(target)
        assert [h.timestamp_type for h in headers] == ["LogAppendTime"] * 4
        assert len({h.max_timestamp for h in headers}) == 4
        views[target] = _log_append_answers(data.targets[target], headers)
    # every record of a batch has its append time: the first of the last batch is found
    assert views["kafka"][-1] == ("max", "NONE", 6, True)
    assert views["rafka"] == views["kafka"]


# -- through the clients ----------------------------------------------------------------------

CLIENT_SPECS = ("earliest", "latest", "max-timestamp", "timestamp")


def _client_answers(client: DriverClient, target: Target, base: int) -> dict[str, Any]:
    jobs = {}
    for spec in CLIENT_SPECS:
        arg: str | int = base + 250 if spec == "timestamp" else spec
        jobs[spec] = lambda arg=arg: client.list_offsets(target.bootstrap, TOPIC, arg)
    out = {}
    for spec, outcome in run_all(jobs).items():
        result = outcome.get()
        out[spec] = sorted(
            (
                line["partition"],
                line["offset"],
                line["timestamp"] - base if line["timestamp"] >= 0 else line["timestamp"],
                line.get("leaderEpoch"),
            )
            for line in result.of_type("offset")
        ) + [e.error for e in result.errors]
    return out


@pytest.mark.parametrize("client", ["java", "franz-go"])
def test_client_list_offsets(
    data: Data, peer_client: Callable[[str], PeerClient], client: str
) -> None:
    """kafka-clients' and franz-go's admin listOffsets see the same answers from both."""
    driver = peer_client(client)
    assert isinstance(driver, DriverClient)
    views = {}
    for target in ("kafka", "rafka"):
        data.produced(target)
        views[target] = _client_answers(driver, data.targets[target], data.base)
    assert views["kafka"]["latest"][0][:2] == (0, 13)
    assert views["kafka"]["max-timestamp"][0][:3] == (0, 10, 700)
    assert views["rafka"] == views["kafka"]

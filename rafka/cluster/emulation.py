"""Emulating an older Apache Kafka release: ``Cluster(kafka_version="2.8")``.

A broker emulating release line X advertises, per API, the intersection of what rafka serves
and what a broker of X advertised (:mod:`rafka.cluster.kafka_versions`, taken from X's own
code). APIs X did not have are hidden; a request at a version X did not serve is refused as
Kafka refuses one it does not serve (UNSUPPORTED_VERSION in process, a closed connection on
the wire, ApiVersions answered at v0 with the list). Clients then negotiate what they would
against X, and everything that depends on the version follows: topic ids in Metadata only from
v10, DescribeCluster only from 2.8, ApiVersions features only from v3, and so on.

Features (KIP-584): ZooKeeper-mode releases (2.x-3.2) report none; KRaft releases report the
ranges their brokers supported, with rafka's finalized levels capped to them.

Not emulated: behaviour that changed between releases without a protocol version (default
configs, error codes chosen for the same version, group coordinator details).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from rafka.cluster.features import Feature
from rafka.cluster.kafka_versions import FEATURES, RELEASES

__all__ = ["KafkaRelease", "release_lines"]


def release_lines() -> list[str]:
    """Every release line rafka can emulate, oldest first (``"2.0"`` ... ``"4.1"``)."""
    return list(RELEASES)


@attrs.frozen
class KafkaRelease:
    """One Apache Kafka release line's broker, as far as the protocol shows it."""

    line: str  #: "3.6"
    release: str  #: the patch release the table was taken from: "3.6.2"
    api_versions: Mapping[int, tuple[int, int]]  #: api key -> (min, max) advertised
    features: Mapping[str, tuple[int, int]]  #: feature -> (min, max) supported

    @classmethod
    def of(cls, version: str) -> KafkaRelease:
        """The release line of ``version``: ``"3.6"``, ``"3.6.0"`` or ``"3.6.2"``."""
        parts = str(version).strip().split(".")
        line = ".".join(parts[:2])
        if len(parts) < 2 or line not in RELEASES or not all(p.isdigit() for p in parts):
            raise ValueError(
                f"cannot emulate Kafka {version!r}: choose a release line from "
                f"{', '.join(RELEASES)}"
            )
        release, versions = RELEASES[line]
        return cls(line, release, versions, FEATURES[line])

    def allows(self, api_key: int, version: int) -> bool:
        """Whether a broker of this release served ``api_key`` at ``version``."""
        span = self.api_versions.get(api_key)
        return span is not None and span[0] <= version <= span[1]

    def cap(self, served: Iterable[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        """``(api_key, min, max)`` that rafka serves, narrowed to this release."""
        out = []
        for key, lo, hi in served:
            span = self.api_versions.get(key)
            if span is None:
                continue
            lo, hi = max(lo, span[0]), min(hi, span[1])
            if lo <= hi:
                out.append((key, lo, hi))
        return out

    def cap_features(self, features: Sequence[Feature]) -> list[Feature]:
        """rafka's features as this release knows them: its supported ranges, finalized
        levels no higher than it supports; features it did not have are left out."""
        out = []
        for feature in features:
            span = self.features.get(feature.name)
            if span is None:
                continue
            level = min(feature.level, span[1]) if feature.level >= span[0] else 0
            out.append(Feature(feature.name, span[0], span[1], level))
        return out

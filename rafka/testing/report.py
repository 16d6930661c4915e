"""The "rafka" section of a failing test's report: what the test touched, as the cluster
holds it now (topics and their partitions and last records, groups and their members and
offsets, and the cluster's recent requests when it keeps a request journal)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rafka.cluster.inspect import GroupState, TopicState
    from rafka.embedded import Cluster

__all__ = ["failure_report"]

MAX_GROUPS = 20
LAST_RECORDS = 5
MAX_REQUESTS = 30
_WIDTH = 80


def failure_report(
    cluster: Cluster, topics_before: set[str], groups_before: set[str], topics: list[str]
) -> str:
    """The report; never raises (a problem reading the cluster is reported instead)."""
    try:
        return "\n".join(_lines(cluster, topics_before, groups_before, topics))
    except Exception as exc:  # the report must not hide the test's own failure
        return f"(rafka could not describe the cluster: {type(exc).__name__}: {exc})"


def _lines(
    cluster: Cluster, topics_before: set[str], groups_before: set[str], topics: list[str]
) -> list[str]:
    names = list(dict.fromkeys(topics))
    names += sorted(set(cluster.list_topics()) - topics_before - set(names))
    lines = [f"cluster {cluster.cluster_id}: {len(cluster.brokers)} broker(s)"]
    if not names:
        lines.append("no topic was created by this test")
    for name in names:
        topic = cluster.describe_topic(name)
        if topic is None:
            lines.append(f"topic {name}: deleted")
            continue
        lines += _topic_lines(cluster, topic)
    touched = set(names)
    shown = 0
    for group_id in cluster.list_groups():
        group = cluster.describe_group(group_id)
        if group is None or shown >= MAX_GROUPS:
            continue
        if group_id in groups_before and not _touches(group, touched):
            continue
        lines += _group_lines(group)
        shown += 1
    lines += _request_lines(cluster, names)
    return lines


def _topic_lines(cluster: Cluster, topic: TopicState) -> list[str]:
    configs = f", configs {topic.configs}" if topic.configs else ""
    lines = [
        f"topic {topic.name} (id {topic.topic_id}, {len(topic.partitions)} partitions{configs})"
    ]
    for p in topic.partitions:
        producers = f", {len(p.producers)} producer(s)" if p.producers else ""
        lines.append(
            f"  partition {p.partition}: leader {p.leader} (epoch {p.leader_epoch}), "
            f"replicas {list(p.replicas)}, isr {list(p.isr)}, log start {p.log_start_offset}, "
            f"high watermark {p.high_watermark}, last stable {p.last_stable_offset}, "
            f"log end {p.log_end_offset}{producers}"
        )
        records = cluster.read_topic(topic.name, p.partition)[-LAST_RECORDS:]
        for r in records:
            lines.append(
                _clip(
                    f"    offset {r.offset}: key={r.key!r} value={r.value!r}"
                    + (f" headers={list(r.headers)}" if r.headers else "")
                )
            )
    return lines


def _touches(group: GroupState, topics: set[str]) -> bool:
    return any(t in topics for t, _ in group.offsets) or any(
        t in topics for m in group.members for t, _ in m.assignment
    )


def _group_lines(group: GroupState) -> list[str]:
    protocol = "/".join(x for x in (group.protocol_type, group.protocol) if x)
    epochs = f"generation {group.generation}"
    if group.assignment_epoch is not None:
        epochs = f"group epoch {group.generation}, assignment epoch {group.assignment_epoch}"
    lines = [
        f"group {group.group_id} ({group.type}, {group.state}"
        + (f", {protocol}" if protocol else "")
        + f", {epochs}, coordinator {group.coordinator})"
    ]
    for m in group.members:
        assigned = ", ".join(f"{t}-{p}" for t, p in sorted(m.assignment)) or "nothing"
        leader = " (leader)" if m.member_id == group.leader else ""
        lines.append(_clip(f"  member {m.member_id}{leader} [{m.client_id}]: {assigned}"))
    if group.offsets:
        committed = ", ".join(f"{t}-{p}={o.offset}" for (t, p), o in group.offsets.items())
        lines.append(_clip(f"  committed: {committed}"))
    return lines


def _request_lines(cluster: Cluster, topics: list[str]) -> list[str]:
    """The test's requests, newest last, from the cluster's request journal (if it has one;
    the plugin empties it when a test starts)."""
    requests: Any = getattr(cluster, "requests", None)
    if not callable(requests):
        return []
    entries = list(requests())
    lines = [
        f"requests: {len(entries)}"
        + (f", the last {MAX_REQUESTS}:" if len(entries) > MAX_REQUESTS else ":")
    ]
    lines += [_clip(f"  {entry!r}") for entry in entries[-MAX_REQUESTS:]]
    return lines


def _clip(text: str, width: int = 200) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."

"""DescribeLogDirs (key 35), v1-4: the broker's log directory and the partitions in it.

rafka keeps one log directory per broker. On disk it is the broker's directory under the
cluster's ``data_dir`` (absolute path), with ``total_bytes`` and ``usable_bytes`` (v4) from the
file system; in memory it is the configured ``log.dirs`` (else ``log.dir``, Kafka's
``/tmp/kafka-logs`` by default) with both sizes -1 (unknown). Per partition: ``partition_size``
is the log's size in bytes, ``offset_lag`` 0 (a current replica is never behind itself),
``is_future_key`` false. ``topics`` null describes every partition; otherwise only the listed
ones this broker has (a directory is always listed, possibly with no topics).

Not done: several log directories, future replicas (AlterReplicaLogDirs), offline directories
(KAFKA_STORAGE_ERROR), authorization (CLUSTER_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

from rafka.cluster.request import RequestContext
from rafka.protocol.messages import DescribeLogDirsRequest, DescribeLogDirsResponse

if TYPE_CHECKING:
    from rafka.cluster.broker import Broker
    from rafka.storage.unified_log import UnifiedLog

API_KEY = 35
VERSIONS = (1, 4)

R = DescribeLogDirsResponse
UNKNOWN_BYTES = -1


async def handle(broker: Broker, ctx: RequestContext, request: DescribeLogDirsRequest) -> R:
    wanted = (
        None
        if request.topics is None
        else {(t.topic, index) for t in request.topics for index in t.partitions}
    )
    path, total, usable = log_dir(broker)
    logs = broker.replica_manager.logs.logs()
    result = R.DescribeLogDirsResult(
        log_dir=path,
        topics=describe_topics(logs, wanted),
        total_bytes=total,
        usable_bytes=usable,
    )
    return R(results=[result])


def describe_topics(
    logs: dict[tuple[str, int], UnifiedLog], wanted: set[tuple[str, int]] | None
) -> list[R.DescribeLogDirsTopic]:
    """The logs (all, or the ``wanted`` ones), grouped by topic in name order."""
    topics: dict[str, R.DescribeLogDirsTopic] = {}
    for (topic, index), log in sorted(logs.items()):
        if wanted is not None and (topic, index) not in wanted:
            continue
        out = topics.setdefault(topic, R.DescribeLogDirsTopic(name=topic))
        out.partitions.append(
            R.DescribeLogDirsPartition(
                partition_index=index, partition_size=log.size, offset_lag=0, is_future_key=False
            )
        )
    return list(topics.values())


def log_dir(broker: Broker) -> tuple[str, int, int]:
    """``(path, total bytes, usable bytes)`` of the broker's log directory."""
    path = broker.replica_manager.logs.log_dir
    if path is None:
        configured = broker.config.get("log.dirs") or broker.config.get("log.dir")
        return os.path.abspath(str(configured[0])), UNKNOWN_BYTES, UNKNOWN_BYTES
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return path, UNKNOWN_BYTES, UNKNOWN_BYTES
    return path, usage.total, usage.free

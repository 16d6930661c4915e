"""One consumer-group member in its own process, for end-to-end group tests.

``python -m tests.cluster.groups.member --client NAME --bootstrap HOST:PORT --group G --topic T``
runs a rafka, confluent-kafka, kafka-python or aiokafka consumer in group ``G`` subscribed to ``T``
(eager ``range`` assignment; ``--group-protocol consumer``: librdkafka's KIP-848 consumer,
incremental), commits every record it consumes synchronously, and prints JSON lines, as the
Java driver's ``group-consume`` command does::

    {"type": "assigned", "partitions": [0, 3]}     after each rebalance (all it owns now)
    {"type": "revoked", "partitions": [0, 3]}
    {"type": "record", "partition": 0, "offset": 17}
    {"type": "committed", "partition": 0, "offset": 18}
    {"type": "closed"}                             after SIGTERM: left the group cleanly

SIGTERM closes the consumer (it leaves the group); SIGKILL is how tests kill a member without
leaving. Running in a process of its own is what makes that kill real.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import threading
import warnings
from typing import Any

STOP = threading.Event()


def emit(kind: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"type": kind, **fields}) + "\n")
    sys.stdout.flush()


def run_confluent(args: argparse.Namespace) -> None:
    from confluent_kafka import Consumer, TopicPartition

    config: dict[str, Any] = {
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        **({"group.instance.id": args.instance_id} if args.instance_id else {}),
    }
    incremental = args.group_protocol == "consumer"
    if incremental:  # KIP-848: timeouts and the assignor are the coordinator's
        config["group.protocol"] = "consumer"
    else:
        config["session.timeout.ms"] = args.session_ms
        config["heartbeat.interval.ms"] = args.heartbeat_ms
        config["partition.assignment.strategy"] = "range"
    consumer = Consumer(config)
    owned: set[int] = set()

    def assigned(_: Any, partitions: list[Any]) -> None:
        # The consumer protocol is incremental: the callback names what is added.
        if not incremental:
            owned.clear()
        owned.update(p.partition for p in partitions)
        emit("assigned", partitions=sorted(owned))

    def revoked(_: Any, partitions: list[Any]) -> None:
        owned.difference_update(p.partition for p in partitions)
        emit("revoked", partitions=sorted(p.partition for p in partitions))

    consumer.subscribe([args.topic], on_assign=assigned, on_revoke=revoked)
    while not STOP.is_set():
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            emit("error", error=str(msg.error()))
            continue
        partition, offset = msg.partition(), msg.offset()
        assert partition is not None and offset is not None
        emit("record", partition=partition, offset=offset)
        consumer.commit(
            offsets=[TopicPartition(args.topic, partition, offset + 1)], asynchronous=False
        )
        emit("committed", partition=partition, offset=offset + 1)
    consumer.close()


def run_rafka(args: argparse.Namespace) -> None:
    import rafka
    from rafka.clients.types import TopicPartition

    consumer = rafka.Consumer(
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        group_instance_id=args.instance_id,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=args.session_ms,
        heartbeat_interval_ms=args.heartbeat_ms,
        partition_assignment_strategy="range",
    )

    def assigned(partitions: list[TopicPartition]) -> None:
        emit("assigned", partitions=sorted(p.partition for p in partitions))

    def revoked(partitions: list[TopicPartition]) -> None:
        emit("revoked", partitions=sorted(p.partition for p in partitions))

    consumer.subscribe([args.topic], on_assign=assigned, on_revoke=revoked)
    while not STOP.is_set():
        for record in consumer.poll(0.2):
            emit("record", partition=record.partition, offset=record.offset)
            consumer.commit({(record.topic, record.partition): record.offset + 1})
            emit("committed", partition=record.partition, offset=record.offset + 1)
    consumer.close()


def run_kafka_python(args: argparse.Namespace) -> None:
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import (  # type: ignore[import-untyped]
        ConsumerRebalanceListener,
        KafkaConsumer,
        TopicPartition,
    )
    from kafka.structs import OffsetAndMetadata  # type: ignore[import-untyped]

    class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
        def on_partitions_revoked(self, revoked: Any) -> None:
            emit("revoked", partitions=sorted(p.partition for p in revoked))

        def on_partitions_assigned(self, assigned: Any) -> None:
            emit("assigned", partitions=sorted(p.partition for p in assigned))

    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=args.session_ms,
        heartbeat_interval_ms=args.heartbeat_ms,
        group_instance_id=args.instance_id,
    )
    # Know the topic's partitions before joining. kafka-python 3.0.12 loses a rebalance when
    # poll() times out just as that rebalance's SyncGroup answer arrives: the join completes
    # but nothing applies it, so heartbeats stay off and the session expires. It recovers from
    # this when the rebalance was asked for by the coordinator, not when a leader started it
    # because the metadata changed under its assignment, as it does when the first leader
    # assigned the topic before its consumer had ever fetched the topic's metadata.
    while not consumer.partitions_for_topic(args.topic) and not STOP.is_set():
        STOP.wait(0.05)
    consumer.subscribe([args.topic], listener=Listener())
    while not STOP.is_set():
        for tp, records in consumer.poll(timeout_ms=200).items():
            for record in records:
                emit("record", partition=tp.partition, offset=record.offset)
                consumer.commit(
                    {
                        TopicPartition(tp.topic, tp.partition): OffsetAndMetadata(
                            record.offset + 1, "", -1
                        )
                    }
                )
                emit("committed", partition=tp.partition, offset=record.offset + 1)
    consumer.close()


async def run_aiokafka(args: argparse.Namespace) -> None:
    from aiokafka import (  # type: ignore[import-untyped]
        AIOKafkaConsumer,
        ConsumerRebalanceListener,
        TopicPartition,
    )

    class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
        async def on_partitions_revoked(self, revoked: Any) -> None:
            emit("revoked", partitions=sorted(p.partition for p in revoked))

        async def on_partitions_assigned(self, assigned: Any) -> None:
            emit("assigned", partitions=sorted(p.partition for p in assigned))

    consumer = AIOKafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=args.session_ms,
        heartbeat_interval_ms=args.heartbeat_ms,
        group_instance_id=args.instance_id,
    )
    consumer.subscribe([args.topic], listener=Listener())
    await consumer.start()
    try:
        while not STOP.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            for tp, records in batches.items():
                for record in records:
                    emit("record", partition=tp.partition, offset=record.offset)
                    await consumer.commit(
                        {TopicPartition(tp.topic, tp.partition): record.offset + 1}
                    )
                    emit("committed", partition=tp.partition, offset=record.offset + 1)
    finally:
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--session-ms", type=int, default=6000)
    parser.add_argument("--heartbeat-ms", type=int, default=500)
    parser.add_argument("--instance-id", default=None)
    parser.add_argument("--group-protocol", default="classic", choices=["classic", "consumer"])
    args = parser.parse_args()
    if args.group_protocol == "consumer" and args.client != "confluent-kafka":
        raise SystemExit(f"{args.client} does not run the consumer group protocol here")
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    # The Python clients' group state machines log at INFO (joins, revocations, heartbeat
    # errors): on stderr, where the driver keeps it to explain a group that did not settle.
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s.%(msecs)03d %(name)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("kafka.net").setLevel(logging.WARNING)  # one line per connection step
    if args.client == "rafka":
        run_rafka(args)
    elif args.client == "confluent-kafka":
        run_confluent(args)
    elif args.client == "kafka-python":
        run_kafka_python(args)
    elif args.client == "aiokafka":
        asyncio.run(run_aiokafka(args))
    else:
        raise SystemExit(f"unknown client {args.client}")
    emit("closed")


if __name__ == "__main__":
    main()

"""The Python client peers from PyPI: confluent-kafka (librdkafka), kafka-python and aiokafka.

Each is a :class:`~tests.peers.clients.PeerClient`, like the Java and franz-go drivers: the same
records in, the same :class:`~tests.peers.clients.Delivery` and
:class:`~tests.peers.clients.ConsumedRecord` results out, errors named as Kafka names them.
Options left ``None`` keep each client's own default (as the Java driver does); ``config``
passes extra settings in the client's own spelling (``{"message.timeout.ms": 5000}`` for
confluent-kafka, ``{"retry_backoff_ms": 50}`` for kafka-python and aiokafka).

Consumers use assign + seek (no consumer group), ``auto.offset.reset`` ``none`` (a seek outside
the log is an error, not a silent reset) and stop after ``count`` records or, without it, at the
end offsets listed when they start.

Known client limits (reported as ``CLIENT_ERROR`` deliveries, not hidden): kafka-python cannot
send a null header value, kafka-python and aiokafka refuse a record whose key and value are both
null, and confluent-kafka's default partitioner (``consistent_random``, CRC32) places keyed
records differently from kafka-clients' murmur2 (pass ``config={"partitioner":
"murmur2_random"}`` to match). One aiokafka bug is worked around: its delivery metadata gives
every record of a batch the first record's CreateTime (``ProducerBatch.done`` overwrites the
timestamp in its loop), so :class:`AiokafkaClient` stamps each record itself and reports that
(LogAppendTime from the broker is reported as aiokafka gives it).

:func:`python_client` builds one by name; :class:`PeerUnavailable` if it is not installed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from tests.peers.clients import (
    ClientError,
    ConsumedRecord,
    ConsumeResult,
    CreateTopicResult,
    Delivery,
    Header,
    ProduceResult,
    Record,
)
from tests.peers.java import PeerUnavailable

__all__ = [
    "PYTHON_CLIENTS",
    "AiokafkaClient",
    "ConfluentClient",
    "KafkaPythonClient",
    "python_client",
]

_T = TypeVar("_T")
_P = ParamSpec("_P")

#: Kafka's timestamp type names by the numbers kafka-python and aiokafka report.
_TIMESTAMP_TYPES = {-1: "NoTimestampType", 0: "CreateTime", 1: "LogAppendTime"}


@contextlib.contextmanager
def _quiet_deprecations() -> Iterator[None]:
    """kafka-python 3 uses ``importlib.resources.read_text`` (a DeprecationWarning on Python
    3.11+) when it builds protocol classes, at import and lazily; the suite turns warnings into
    errors, so its calls run with that warning ignored."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _quietly(method: Callable[_P, _T]) -> Callable[_P, _T]:
    """``method`` run under :func:`_quiet_deprecations`."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with _quiet_deprecations():
            return method(*args, **kwargs)

    return wrapper


def _error_name(code: int) -> str:
    """Kafka's name for a protocol error code (as kafka-clients' ``Errors`` spells it)."""
    from rafka.errors import for_code

    return str(for_code(code).name)


def _acks_all(acks: str | int | None) -> bool:
    return acks is None or str(acks) in ("all", "-1")


def _offset_spec(offset: int | str) -> int | str:
    if isinstance(offset, str) and offset not in ("earliest", "latest"):
        return int(offset)
    return offset


def _deadline(timeout: float) -> Callable[[], float]:
    """Seconds left until ``timeout`` from now (never negative)."""
    end = time.monotonic() + timeout
    return lambda: max(0.0, end - time.monotonic())


#: librdkafka logs to stderr from its own threads: warnings and errors only, no notices about
#: closed idle connections.
_QUIET_LIBRDKAFKA: dict[str, Any] = {"log_level": 4, "log.connection.close": False}


# -- confluent-kafka ----------------------------------------------------------------------------


class ConfluentClient:
    """confluent-kafka (librdkafka) producer, consumer and admin client."""

    name = "confluent-kafka"

    def __init__(self) -> None:
        try:
            import confluent_kafka
        except ImportError as exc:
            raise PeerUnavailable(f"confluent-kafka is not installed ({exc})") from None
        self._ck = confluent_kafka

    def _error(self, err: Any, **where: Any) -> ClientError:
        ke = self._ck.KafkaError
        code = int(err.code())
        if code in (ke._MSG_TIMED_OUT, ke._TIMED_OUT):
            name = "REQUEST_TIMED_OUT"
        elif code == ke._AUTO_OFFSET_RESET:
            name = "OFFSET_OUT_OF_RANGE"  # librdkafka's "reset policy error" for it
        elif code > -100:  # librdkafka's codes above -100 are Kafka's protocol error codes
            name = _error_name(code)
        else:
            name = "CLIENT_ERROR"
        return ClientError(name, str(err.str()), str(err.name()), **where)

    def _exception(self, exc: BaseException, **where: Any) -> ClientError:
        if isinstance(exc, self._ck.KafkaException) and exc.args:
            return self._error(exc.args[0], **where)
        return ClientError("CLIENT_ERROR", str(exc), type(exc).__name__, **where)

    def create_topic(
        self,
        bootstrap: str,
        topic: str,
        *,
        partitions: int = 1,
        replication_factor: int = 1,
        configs: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> CreateTopicResult:
        from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

        admin = AdminClient({"bootstrap.servers": bootstrap, **_QUIET_LIBRDKAFKA})
        new = NewTopic(topic, partitions, replication_factor, config=dict(configs or {}))
        future = admin.create_topics([new], operation_timeout=timeout, request_timeout=timeout)
        try:
            future[topic].result(timeout=timeout)
        except Exception as exc:
            return CreateTopicResult(topic, error=self._exception(exc, topic=topic))
        return CreateTopicResult(topic)

    def produce(
        self,
        bootstrap: str,
        topic: str,
        records: Sequence[Record],
        *,
        compression: str | None = None,
        acks: str | int | None = None,
        idempotence: bool | None = None,
        linger_ms: int | None = None,
        max_request_size: int | None = None,
        timeout: float = 30.0,
        config: Mapping[str, Any] | None = None,
    ) -> ProduceResult:
        conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "message.timeout.ms": int(timeout * 1000),
            **_QUIET_LIBRDKAFKA,
        }
        optional = {
            "compression.type": compression,
            "acks": acks,
            "enable.idempotence": idempotence,
            "linger.ms": linger_ms,
            "message.max.bytes": max_request_size,
        }
        conf.update({k: v for k, v in optional.items() if v is not None})
        conf.update(config or {})
        producer = self._ck.Producer(conf)
        results: list[Delivery | None] = [None] * len(records)

        def on_delivery(index: int) -> Callable[[Any, Any], None]:
            def callback(err: Any, msg: Any) -> None:
                if err is not None:
                    results[index] = Delivery(index, error=self._error(err))
                else:
                    _, ts = msg.timestamp()
                    results[index] = Delivery(index, msg.partition(), msg.offset(), ts)

            return callback

        left = _deadline(timeout)
        for i, record in enumerate(records):
            kwargs: dict[str, Any] = {"key": record.key, "value": record.value}
            if record.headers:
                kwargs["headers"] = list(record.headers)
            if record.partition is not None:
                kwargs["partition"] = record.partition
            if record.timestamp is not None:
                kwargs["timestamp"] = record.timestamp
            while True:
                try:
                    producer.produce(topic, on_delivery=on_delivery(i), **kwargs)
                    break
                except BufferError:  # local queue full: serve delivery reports, retry
                    producer.poll(0.05)
                except Exception as exc:
                    results[i] = Delivery(i, error=self._exception(exc))
                    break
            producer.poll(0)
        producer.flush(left() + 5)
        deliveries = [
            d
            if d is not None
            else Delivery(i, error=ClientError("REQUEST_TIMED_OUT", "no delivery report"))
            for i, d in enumerate(results)
        ]
        return ProduceResult(deliveries)

    def consume(
        self,
        bootstrap: str,
        topic: str,
        *,
        partitions: Sequence[int] | None = None,
        offset: int | str = "earliest",
        count: int | None = None,
        isolation_level: str | None = None,
        timeout: float = 30.0,
        config: Mapping[str, Any] | None = None,
    ) -> ConsumeResult:
        ck = self._ck
        conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            **_QUIET_LIBRDKAFKA,
            "group.id": f"rafka-peer-{uuid.uuid4().hex}",  # required, never joined (assign)
            "enable.auto.commit": False,
            "auto.offset.reset": "error",  # librdkafka's "none"
            "enable.partition.eof": False,
        }
        if isolation_level is not None:
            conf["isolation.level"] = isolation_level
        conf.update(config or {})
        left = _deadline(timeout)
        records: list[ConsumedRecord] = []
        errors: list[ClientError] = []
        consumer = ck.Consumer(conf)
        try:
            if not partitions:
                meta = consumer.list_topics(topic, timeout=left())
                tmeta = meta.topics.get(topic)
                if tmeta is None or tmeta.error is not None or not tmeta.partitions:
                    err = tmeta.error if tmeta is not None else None
                    if err is not None:
                        return ConsumeResult([], [self._error(err, topic=topic)])
                    return ConsumeResult(
                        [],
                        [ClientError("UNKNOWN_TOPIC_OR_PARTITION", "no partitions", topic=topic)],
                    )
                partitions = sorted(tmeta.partitions)
            spec = _offset_spec(offset)
            position: dict[int, int] = {}
            end: dict[int, int] = {}
            assignment = []
            for p in partitions:
                low, high = consumer.get_watermark_offsets(
                    ck.TopicPartition(topic, p), timeout=left(), cached=False
                )
                end[p] = high
                if spec == "earliest":
                    start, position[p] = ck.OFFSET_BEGINNING, low
                elif spec == "latest":
                    start, position[p] = ck.OFFSET_END, high
                else:
                    start = position[p] = int(spec)
                assignment.append(ck.TopicPartition(topic, p, start))
            consumer.assign(assignment)
            while not _done(count, len(records), position, end):
                if left() <= 0:
                    errors.append(_timeout_error(len(records)))
                    break
                batch = consumer.consume(num_messages=500, timeout=min(left(), 0.5))
                for msg in batch:
                    if msg.error() is not None:
                        errors.append(
                            self._error(msg.error(), topic=topic, partition=msg.partition())
                        )
                        continue
                    if count is not None and len(records) >= count:
                        break
                    ts_type, ts = msg.timestamp()
                    records.append(
                        ConsumedRecord(
                            topic=msg.topic(),
                            partition=msg.partition(),
                            offset=msg.offset(),
                            timestamp=ts,
                            # librdkafka: 0 not available, 1 create time, 2 log append time
                            timestamp_type=_TIMESTAMP_TYPES[ts_type - 1],
                            key=msg.key(),
                            value=msg.value(),
                            headers=_headers(msg.headers()),
                            leader_epoch=msg.leader_epoch(),
                        )
                    )
                    position[msg.partition()] = msg.offset() + 1
                if errors:
                    break
        except ck.KafkaException as exc:
            errors.append(self._exception(exc, topic=topic))
        finally:
            consumer.close()
        return ConsumeResult(records, errors)


def _headers(headers: Sequence[tuple[str, bytes | None]] | None) -> tuple[Header, ...]:
    return tuple((k, None if v is None else bytes(v)) for k, v in headers or ())


def _done(
    count: int | None, consumed: int, position: Mapping[int, int], end: Mapping[int, int]
) -> bool:
    if count is not None:
        return consumed >= count
    return all(position[p] >= e for p, e in end.items())


def _timeout_error(consumed: int) -> ClientError:
    return ClientError("TIMEOUT", f"consumed {consumed} record(s) before the timeout")


# -- kafka-python -------------------------------------------------------------------------------


def _kafka_python_error(exc: BaseException, **where: Any) -> ClientError:
    """kafka-python and aiokafka share their error classes' shape: ``errno`` for broker errors."""
    errno = getattr(exc, "errno", None)
    if isinstance(errno, int):
        name = _error_name(errno)
    elif type(exc).__name__ in ("KafkaTimeoutError", "TimeoutError", "CancelledError"):
        name = "REQUEST_TIMED_OUT"
    elif type(exc).__name__ == "OffsetOutOfRangeError":
        name = "OFFSET_OUT_OF_RANGE"
    else:
        name = "CLIENT_ERROR"
    return ClientError(name, str(exc), type(exc).__name__, **where)


def _create_topic_errors(response: Any, topic: str) -> ClientError | None:
    """The error (if any) for ``topic`` in a CreateTopics response: aiokafka's has
    ``topic_errors`` tuples (name, code, message), kafka-python 3's ``topics`` objects."""
    entries: Any = getattr(response, "topic_errors", None) or getattr(response, "topics", None)
    for entry in entries or ():
        if isinstance(entry, tuple):
            name, code, *rest = entry
            message = rest[0] if rest and isinstance(rest[0], str) else None
        else:
            name, code = entry.name, entry.error_code
            message = getattr(entry, "error_message", None)
        if name == topic and code:
            return ClientError(_error_name(code), message, None, topic=topic)
    return None


class KafkaPythonClient:
    """kafka-python's KafkaProducer, KafkaConsumer and KafkaAdminClient."""

    name = "kafka-python"

    @_quietly
    def __init__(self) -> None:
        try:
            import kafka
        except ImportError as exc:
            raise PeerUnavailable(f"kafka-python is not installed ({exc})") from None
        self._kafka = kafka

    @_quietly
    def create_topic(
        self,
        bootstrap: str,
        topic: str,
        *,
        partitions: int = 1,
        replication_factor: int = 1,
        configs: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> CreateTopicResult:
        from kafka.admin import KafkaAdminClient, NewTopic

        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000)
        )
        try:
            new = NewTopic(topic, partitions, replication_factor, topic_configs=dict(configs or {}))
            response = admin.create_topics([new], timeout_ms=int(timeout * 1000))
            error = _create_topic_errors(response, topic)
        except Exception as exc:
            error = _kafka_python_error(exc, topic=topic)
        finally:
            admin.close()
        return CreateTopicResult(topic, error=error)

    @_quietly
    def produce(
        self,
        bootstrap: str,
        topic: str,
        records: Sequence[Record],
        *,
        compression: str | None = None,
        acks: str | int | None = None,
        idempotence: bool | None = None,
        linger_ms: int | None = None,
        max_request_size: int | None = None,
        timeout: float = 30.0,
        config: Mapping[str, Any] | None = None,
    ) -> ProduceResult:
        conf: dict[str, Any] = {"bootstrap_servers": bootstrap, "max_block_ms": int(timeout * 1000)}
        if acks is not None:
            conf["acks"] = "all" if _acks_all(acks) else int(acks)
        if idempotence is None and not _acks_all(acks):
            idempotence = False  # as kafka-clients: acks other than all turn the default off
        optional = {
            "compression_type": None if compression == "none" else compression,
            "enable_idempotence": idempotence,
            "linger_ms": linger_ms,
            "max_request_size": max_request_size,
        }
        conf.update({k: v for k, v in optional.items() if v is not None})
        conf.update(config or {})
        producer = self._kafka.KafkaProducer(**conf)
        try:
            futures: list[Any] = []
            blocked: BaseException | None = None
            for record in records:
                if blocked is not None:  # send() gave up waiting for metadata: so would the rest
                    futures.append(blocked)
                    continue
                try:
                    futures.append(
                        producer.send(
                            topic,
                            value=record.value,
                            key=record.key,
                            headers=list(record.headers) or None,
                            partition=record.partition,
                            timestamp_ms=record.timestamp,
                        )
                    )
                except Exception as exc:
                    futures.append(exc)
                    if type(exc).__name__ == "KafkaTimeoutError":
                        blocked = exc
            producer.flush(timeout=timeout)
            deliveries = []
            for i, future in enumerate(futures):
                if isinstance(future, BaseException):
                    deliveries.append(Delivery(i, error=_kafka_python_error(future)))
                    continue
                try:
                    md = future.get(timeout=timeout)
                    deliveries.append(Delivery(i, md.partition, md.offset, md.timestamp))
                except Exception as exc:
                    deliveries.append(Delivery(i, error=_kafka_python_error(exc)))
        finally:
            producer.close(timeout=10)
        return ProduceResult(deliveries)

    @_quietly
    def consume(
        self,
        bootstrap: str,
        topic: str,
        *,
        partitions: Sequence[int] | None = None,
        offset: int | str = "earliest",
        count: int | None = None,
        isolation_level: str | None = None,
        timeout: float = 30.0,
        config: Mapping[str, Any] | None = None,
    ) -> ConsumeResult:
        from kafka import TopicPartition

        conf: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "group_id": None,
            "enable_auto_commit": False,
            "auto_offset_reset": "none",
        }
        if isolation_level is not None:
            conf["isolation_level"] = isolation_level
        conf.update(config or {})
        left = _deadline(timeout)
        records: list[ConsumedRecord] = []
        errors: list[ClientError] = []
        consumer = self._kafka.KafkaConsumer(**conf)
        try:
            if not partitions:
                found = _poll_partitions(lambda: consumer.partitions_for_topic(topic), left)
                if not found:
                    return ConsumeResult(
                        [],
                        [ClientError("UNKNOWN_TOPIC_OR_PARTITION", "no partitions", topic=topic)],
                    )
                partitions = sorted(found)
            tps = [TopicPartition(topic, p) for p in partitions]
            consumer.assign(tps)
            spec = _offset_spec(offset)
            ends = consumer.end_offsets(tps)
            if spec == "earliest":
                consumer.seek_to_beginning(*tps)
            elif spec == "latest":
                consumer.seek_to_end(*tps)
            else:
                for tp in tps:
                    consumer.seek(tp, int(spec))
            position = {tp.partition: consumer.position(tp) for tp in tps}
            end = {tp.partition: ends[tp] for tp in tps}
            while not _done(count, len(records), position, end):
                if left() <= 0:
                    errors.append(_timeout_error(len(records)))
                    break
                batches = consumer.poll(timeout_ms=int(min(left(), 0.5) * 1000), max_records=500)
                for batch in batches.values():
                    for r in batch:
                        if count is not None and len(records) >= count:
                            break
                        records.append(_record_from_struct(r))
                        position[r.partition] = r.offset + 1
        except Exception as exc:
            errors.append(_kafka_python_error(exc, topic=topic))
        finally:
            consumer.close()
        return ConsumeResult(records, errors)


def _poll_partitions(lookup: Callable[[], set[int] | None], left: Callable[[], float]) -> set[int]:
    """kafka-python learns a topic's partitions from metadata asynchronously: retry briefly."""
    until = time.monotonic() + min(left(), 5.0)
    while True:
        found = lookup()
        if found or time.monotonic() > until:
            return set(found or ())
        time.sleep(0.05)


def _record_from_struct(r: Any) -> ConsumedRecord:
    """A kafka-python / aiokafka ``ConsumerRecord`` as a :class:`ConsumedRecord`."""
    epoch = getattr(r, "leader_epoch", None)
    return ConsumedRecord(
        topic=r.topic,
        partition=r.partition,
        offset=r.offset,
        timestamp=r.timestamp,
        timestamp_type=_TIMESTAMP_TYPES.get(r.timestamp_type, str(r.timestamp_type)),
        key=r.key,
        value=r.value,
        headers=_headers(r.headers),
        leader_epoch=epoch if epoch is None or epoch >= 0 else None,
    )


# -- aiokafka -----------------------------------------------------------------------------------


def _run_async(factory: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine to completion on a fresh event loop in a worker thread, so callers may
    be sync tests or already inside an event loop."""

    async def main() -> _T:
        return await factory()

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="aiokafka-peer") as pool:
        return pool.submit(asyncio.run, main()).result()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class AiokafkaClient:
    """aiokafka's AIOKafkaProducer, AIOKafkaConsumer and AIOKafkaAdminClient, each call run to
    completion on its own event loop."""

    name = "aiokafka"

    def __init__(self) -> None:
        try:
            import aiokafka
        except ImportError as exc:
            raise PeerUnavailable(f"aiokafka is not installed ({exc})") from None
        self._aiokafka = aiokafka

    def create_topic(
        self,
        bootstrap: str,
        topic: str,
        *,
        partitions: int = 1,
        replication_factor: int = 1,
        configs: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> CreateTopicResult:
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic

        async def create() -> CreateTopicResult:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000)
            )
            try:
                await admin.start()
                new = NewTopic(
                    topic, partitions, replication_factor, topic_configs=dict(configs or {})
                )
                response = await admin.create_topics([new], timeout_ms=int(timeout * 1000))
                error = _create_topic_errors(response, topic)
            except Exception as exc:
                error = _kafka_python_error(exc, topic=topic)
            finally:
                await admin.close()
            return CreateTopicResult(topic, error=error)

        return _run_async(create)

    def produce(
        self,
        bootstrap: str,
        topic: str,
        records: Sequence[Record],
        *,
        compression: str | None = None,
        acks: str | int | None = None,
        idempotence: bool | None = None,
        linger_ms: int | None = None,
        max_request_size: int | None = None,
        timeout: float = 30.0,
        config: Mapping[str, Any] | None = None,
    ) -> ProduceResult:
        conf: dict[str, Any] = {"bootstrap_servers": bootstrap}
        if acks is not None:
            conf["acks"] = "all" if _acks_all(acks) else int(acks)
        optional = {
            "compression_type": None if compression == "none" else compression,
            "enable_idempotence": idempotence,
            "linger_ms": linger_ms,
            "max_request_size": max_request_size,
        }
        conf.update({k: v for k, v in optional.items() if v is not None})
        conf.update(config or {})

        async def produce() -> ProduceResult:
            left = _deadline(timeout)
            producer = self._aiokafka.AIOKafkaProducer(**conf)
            deliveries: list[Delivery] = []
            try:
                await asyncio.wait_for(producer.start(), left())
                futures: list[Any] = []
                blocked: BaseException | None = None
                stamps: list[int] = []  # each record's CreateTime (see the module docstring)
                for record in records:
                    stamps.append(_now_ms() if record.timestamp is None else record.timestamp)
                    if blocked is not None:  # send() could not get metadata: nor would the rest
                        futures.append(blocked)
                        continue
                    try:
                        # send() waits for the topic's metadata (request_timeout_ms per call):
                        # bound it by what is left of the timeout.
                        send = producer.send(
                            topic,
                            value=record.value,
                            key=record.key,
                            partition=record.partition,
                            timestamp_ms=stamps[-1],
                            headers=list(record.headers) or None,
                        )
                        futures.append(await asyncio.wait_for(send, max(left(), 0.001)))
                    except Exception as exc:
                        futures.append(exc)
                        if isinstance(exc, asyncio.TimeoutError) or getattr(exc, "errno", 0) == 3:
                            blocked = exc
                for i, future in enumerate(futures):
                    if isinstance(future, BaseException):
                        deliveries.append(Delivery(i, error=_kafka_python_error(future)))
                        continue
                    try:
                        md = await asyncio.wait_for(future, max(left(), 0.001))
                        if md is None:  # acks=0: aiokafka resolves sends to None
                            partition = records[i].partition
                            deliveries.append(Delivery(i, partition, -1, stamps[i]))
                            continue
                        # timestamp_type 1: the broker's LogAppendTime, reported right.
                        ts = md.timestamp if md.timestamp_type == 1 else stamps[i]
                        deliveries.append(Delivery(i, md.partition, md.offset, ts))
                    except Exception as exc:
                        deliveries.append(Delivery(i, error=_kafka_python_error(exc)))
            except Exception as exc:  # start() failed: every record failed with it
                error = _kafka_python_error(exc)
                deliveries = [Delivery(i, error=error) for i in range(len(records))]
            finally:
                await producer.stop()
            return ProduceResult(deliveries)

        return _run_async(produce)

    def consume(
        self,
        bootstrap: str,
        topic: str,
        *,
        partitions: Sequence[int] | None = None,
        offset: int | str = "earliest",
        count: int | None = None,
        isolation_level: str | None = None,
        timeout: float = 30.0,
        config: Mapping[str, Any] | None = None,
    ) -> ConsumeResult:
        from aiokafka import TopicPartition

        conf: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "group_id": None,
            "enable_auto_commit": False,
            "auto_offset_reset": "none",
        }
        if isolation_level is not None:
            conf["isolation_level"] = isolation_level
        conf.update(config or {})
        left = _deadline(timeout)

        async def consume() -> ConsumeResult:
            consumer = self._aiokafka.AIOKafkaConsumer(**conf)
            records: list[ConsumedRecord] = []
            errors: list[ClientError] = []
            try:
                await asyncio.wait_for(consumer.start(), left())
                parts = list(partitions or ())
                if not parts:
                    found = consumer.partitions_for_topic(topic)
                    if not found:
                        # No public call returns a topic's partitions on demand; the client's
                        # metadata fetch does (aiokafka has kept it for years).
                        cluster = await consumer._client.fetch_all_metadata()
                        found = cluster.partitions_for_topic(topic)
                    if not found:
                        return ConsumeResult(
                            [],
                            [
                                ClientError(
                                    "UNKNOWN_TOPIC_OR_PARTITION", "no partitions", topic=topic
                                )
                            ],
                        )
                    parts = sorted(found)
                tps = [TopicPartition(topic, p) for p in parts]
                consumer.assign(tps)
                ends = await consumer.end_offsets(tps)
                spec = _offset_spec(offset)
                if spec == "earliest":
                    await consumer.seek_to_beginning(*tps)
                elif spec == "latest":
                    await consumer.seek_to_end(*tps)
                else:
                    for tp in tps:
                        consumer.seek(tp, int(spec))
                position = {tp.partition: await consumer.position(tp) for tp in tps}
                end = {tp.partition: ends[tp] for tp in tps}
                while not _done(count, len(records), position, end):
                    if left() <= 0:
                        errors.append(_timeout_error(len(records)))
                        break
                    batches = await consumer.getmany(
                        timeout_ms=int(min(left(), 0.5) * 1000), max_records=500
                    )
                    for batch in batches.values():
                        for r in batch:
                            if count is not None and len(records) >= count:
                                break
                            records.append(_record_from_struct(r))
                            position[r.partition] = r.offset + 1
            except Exception as exc:
                errors.append(_kafka_python_error(exc, topic=topic))
            finally:
                await consumer.stop()
            return ConsumeResult(records, errors)

        return _run_async(consume)


#: Client name -> factory, for the in-process Python clients.
PYTHON_CLIENTS: dict[str, Callable[[], Any]] = {
    ConfluentClient.name: ConfluentClient,
    KafkaPythonClient.name: KafkaPythonClient,
    AiokafkaClient.name: AiokafkaClient,
}


def python_client(name: str) -> ConfluentClient | KafkaPythonClient | AiokafkaClient:
    """The Python client peer called ``name`` (:class:`PeerUnavailable` if not installed)."""
    client: ConfluentClient | KafkaPythonClient | AiokafkaClient = PYTHON_CLIENTS[name]()
    return client

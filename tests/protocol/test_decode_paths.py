"""The generated decoders' inline fast paths and their fallbacks, at the lengths where one
hands over to the other: one- and two-byte (and longer) varint lengths, int arrays around the
precompiled-Struct limit, strings and bytes read ahead by a fixed-width run. The round-trip
tests draw short values only, so these lengths are covered here."""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rafka.errors import DecodeError
from rafka.protocol._codec import r_uuid, uuid_of
from rafka.protocol._message import Message
from rafka.protocol.messages import (
    FetchResponse,
    MetadataResponse,
    ProduceRequest,
    PushTelemetryRequest,
    SyncGroupResponse,
)

#: Around 63/64 (int arrays), 126-128 (one-byte varints, strings), 16383/16384 (two bytes).
LENGTHS = [0, 1, 63, 64, 65, 126, 127, 128, 300, 16383, 16384]


def _at(obj: Any, version: int) -> Any:
    """``obj`` as it reads back at ``version``: fields the version lacks at their defaults."""
    if isinstance(obj, list):
        return [_at(item, version) for item in obj]
    if not attrs.has(type(obj)):
        return obj
    fresh = type(obj)()
    changes = {
        f.name: _at(getattr(obj, f.name), version) if f.present_in(version) else None
        for f in obj._SCHEMA
    }
    return attrs.evolve(
        obj,
        **{
            name: getattr(fresh, name) if value is None and not f.present_in(version) else value
            for f in obj._SCHEMA
            for name, value in [(f.name, changes[f.name])]
        },
    )


def _check(message: Message, version: int) -> None:
    data = message.encode(version)
    decoded: Any = type(message).decode(data, version)
    expected = _at(message, version)
    assert decoded == expected
    text = repr(decoded)  # every slot is set
    if "<memory at" not in text:
        assert text == repr(expected)
    assert decoded.encode(version) == data
    assert attrs.evolve(decoded) == expected
    for cut in sorted({0, 1, len(data) // 2, len(data) - 2, len(data) - 1}):
        if 0 <= cut < len(data):
            with pytest.raises(DecodeError):
                type(message).decode(data[:cut], version)


def _metadata(n: int) -> Any:
    m = MetadataResponse
    partitions = [
        m.MetadataResponsePartition(
            partition_index=i,
            leader_id=i % 3,
            replica_nodes=list(range(n)),
            isr_nodes=[7] * (n % 70),
            offline_replicas=[],
        )
        for i in range(min(n, 130) if n <= 300 else 2)
    ]
    return m(
        brokers=[m.MetadataResponseBroker(1, "h" * n, 9092, "r" * n or None)],
        cluster_id="c" * n,
        topics=[
            m.MetadataResponseTopic(
                name="é" * (n // 2), topic_id=uuid.UUID(int=n + 1), partitions=partitions
            )
        ],
    )


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("version", [1, 9, 12, 13])
def test_metadata_lengths(n: int, version: int) -> None:
    _check(_metadata(n), version)


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("version", [3, 8, 9, 11])
def test_produce_lengths(n: int, version: int) -> None:
    p = ProduceRequest
    message = p(
        transactional_id="t" * n if n else None,
        acks=-1,
        topic_data=[
            p.TopicProduceData(
                name="n" * (n % 200),
                partition_data=[
                    p.PartitionProduceData(i, bytes(range(256)) * (n // 50) + b"x" * (n % 256))
                    for i in range(3)
                ],
            )
        ],
    )
    _check(message, version)


@pytest.mark.parametrize("n", LENGTHS)
def test_bytes_read_ahead_by_a_fixed_run(n: int) -> None:
    _check(SyncGroupResponse(error_code=3, assignment=b"a" * n), 4)
    _check(SyncGroupResponse(error_code=3, assignment=b"a" * n), 2)
    _check(
        PushTelemetryRequest(
            client_instance_id=uuid.uuid4(), subscription_id=n, terminating=True, metrics=b"m" * n
        ),
        0,
    )
    f = FetchResponse
    message = f(
        responses=[
            f.FetchableTopicResponse(
                topic="t",
                topic_id=uuid.UUID(int=5),
                partitions=[f.PartitionData(partition_index=1, records=b"r" * n)],
            )
        ]
    )
    for version in (11, 12, 13, 16):
        _check(message, version)


@pytest.mark.parametrize("version", [12, 3])
def test_a_record_length_past_the_end_is_a_decode_error(version: int) -> None:
    message = ProduceRequest(
        topic_data=[
            ProduceRequest.TopicProduceData(
                name="t", partition_data=[ProduceRequest.PartitionProduceData(0, b"x" * 200)]
            )
        ]
    )
    data = message.encode(version)
    # Drop bytes from the middle of the records: the length now points past the end.
    with pytest.raises(DecodeError):
        ProduceRequest.decode(data[:-60] + data[-3:], version)


def test_null_where_not_nullable() -> None:
    # MetadataResponse v12: throttle time, then a compact brokers array of length "null".
    with pytest.raises(DecodeError, match="Brokers"):
        MetadataResponse.decode(b"\x00\x00\x00\x00\x00" + b"\x00" * 8, 12)


def test_uuid_of_builds_what_uuid_builds() -> None:
    for raw in (bytes(16), bytes(range(16)), b"\xff" * 16):
        fast, slow = uuid_of(raw), uuid.UUID(bytes=raw)
        assert fast == slow
        assert hash(fast) == hash(slow)
        assert repr(fast) == repr(slow)
        assert fast.is_safe is slow.is_safe
        assert fast.version == slow.version
    assert r_uuid(b"\x00" + bytes(range(16)), 1) == (uuid.UUID(bytes=bytes(range(16))), 17)
    with pytest.raises(DecodeError):
        r_uuid(bytes(15), 0)


def test_decoded_structs_are_plain_attrs_instances() -> None:
    """Decoders allocate with object.__new__ and fill the slots: the result must be what the
    attrs __init__ builds, field for field (no field left unset, defaults for absent ones)."""
    message = _metadata(3)
    for version in (0, 5, 12):
        decoded = MetadataResponse.decode(message.encode(version), version)
        for obj in (decoded, decoded.topics[0], decoded.topics[0].partitions[0]):
            values = attrs.asdict(obj, recurse=False)
            assert type(obj)(**values) == obj
        # Fields absent at v0 come back as their defaults, as fresh objects.
        if version == 0:
            assert decoded.cluster_id is None
            assert decoded.topics[0].topic_id == uuid.UUID(int=0)


def _generated_structs() -> list[type]:
    import importlib
    import pkgutil

    import rafka.protocol.messages
    import rafka.protocol.schemas

    found: list[type] = []
    for package in (rafka.protocol.messages, rafka.protocol.schemas):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for value in vars(module).values():
                if isinstance(value, type) and attrs.has(value) and value not in found:
                    found.append(value)
    return found


def test_every_generated_struct_can_be_built_by_slot_stores() -> None:
    """What ``new_struct`` + one store per field relies on: plain slotted attrs classes whose
    ``__init__`` only assigns (no validators, converters, hooks or __setattr__ override)."""
    structs = _generated_structs()
    assert len(structs) > 500
    for cls in structs:
        assert "__slots__" in vars(cls), cls
        assert cls.__setattr__ is object.__setattr__, cls
        assert cls.__new__ is object.__new__, cls
        for name in ("__attrs_pre_init__", "__attrs_post_init__", "__attrs_init__"):
            assert not hasattr(cls, name), (cls, name)
        for field in attrs.fields(cls):
            assert field.validator is None and field.converter is None, (cls, field.name)
            assert field.init and field.on_setattr is None, (cls, field.name)


@pytest.mark.parametrize("n", [0, 1, 63, 64])
@pytest.mark.parametrize("version", [9, 12])
def test_int_array_reads_the_tagged_fields_after_it(n: int, version: int) -> None:
    """Compact int arrays of every length form, then a tagged-field section that is not
    empty (an unknown tag): each branch leaves ``p`` where what follows starts."""
    m = MetadataResponse
    partition = m.MetadataResponsePartition(
        partition_index=1,
        replica_nodes=list(range(n)),
        isr_nodes=[1],
        offline_replicas=list(range(n)),
        unknown_tagged_fields=((7, b"seven"),),
    )
    topic = m.MetadataResponseTopic(name="t", topic_id=uuid.UUID(int=9), partitions=[partition])
    _check(m(topics=[topic]), version)


# -- arrays of flat structs read in bulk ------------------------------------------------------
#
# An array whose elements are all fixed-width numbers and compact int arrays (Metadata's
# partitions) is read with one Struct.iter_unpack when every element after the first has the
# first one's array lengths and no tagged fields; anything else falls back to the element loop.


def _partition(i: int, replicas: int = 3, isr: int = 2, tags: Any = ()) -> Any:
    return MetadataResponse.MetadataResponsePartition(
        error_code=i % 2,
        partition_index=i,
        leader_id=i % 3,
        leader_epoch=i * 7,
        replica_nodes=list(range(i, i + replicas)),
        isr_nodes=list(range(isr)),
        offline_replicas=[],
        unknown_tagged_fields=tags,
    )


def _topics(partitions: list[Any]) -> Any:
    m = MetadataResponse
    topic = m.MetadataResponseTopic(name="t", topic_id=uuid.UUID(int=5), partitions=partitions)
    return m(brokers=[m.MetadataResponseBroker(1, "h", 9092, None)], topics=[topic])


@pytest.fixture
def bulk_formats(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The formats the Metadata decoders ask ``bulk_struct`` for."""
    import rafka.protocol.messages.metadata as module

    asked: list[str] = []
    real = module.bulk_struct

    def recording(fmt: str) -> Any:
        asked.append(fmt)
        return real(fmt)

    monkeypatch.setattr(module, "bulk_struct", recording)
    return asked


@pytest.mark.parametrize("version", [9, 12, 13])
@pytest.mark.parametrize("count", [3, 4, 100])
def test_same_shaped_partitions_are_read_in_bulk(
    version: int, count: int, bulk_formats: list[str]
) -> None:
    _check(_topics([_partition(i) for i in range(count)]), version)
    assert bulk_formats[0] == ">hiiiB3iB2iB0iB"  # the first decode (_check then cuts the bytes)


@pytest.mark.parametrize("count", [1, 2])
def test_short_arrays_are_read_element_by_element(count: int, bulk_formats: list[str]) -> None:
    _check(_topics([_partition(i) for i in range(count)]), 12)
    assert bulk_formats == []


@pytest.mark.parametrize("odd", [0, 1, 5, 9])
@pytest.mark.parametrize(
    "change", ["more replicas", "fewer isr", "unknown tag", "empty arrays", "64 replicas"]
)
def test_a_partition_of_another_shape_falls_back(
    odd: int, change: str, bulk_formats: list[str]
) -> None:
    partitions = [_partition(i) for i in range(10)]
    partitions[odd] = {
        "more replicas": _partition(odd, replicas=4),
        "fewer isr": _partition(odd, isr=1),
        "unknown tag": _partition(odd, tags=((3, b"x"),)),
        "empty arrays": _partition(odd, replicas=0, isr=0),
        "64 replicas": _partition(odd, replicas=64),
    }[change]
    _check(_topics(partitions), 12)
    assert bulk_formats == []


@pytest.mark.parametrize("odd", [0, 4, 9])
def test_a_non_canonical_length_falls_back(odd: int, bulk_formats: list[str]) -> None:
    """A replica count written as a two-byte varint (0x84 0x00 for 3 elements) moves every
    later byte: the shape checks see it and the element loop reads it."""
    message = _topics([_partition(i) for i in range(10)])
    data = bytearray(message.encode(12))
    start = data.index(bytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]))  # partition 0
    size = 15 + 12 + 1 + 8 + 1 + 1  # fixed fields, 3 replicas, 2 isr, 0 offline, tags
    length = start + odd * size + 14
    assert data[length] == 4
    data[length : length + 1] = b"\x84\x00"
    assert MetadataResponse.decode(bytes(data), 12) == message
    assert bulk_formats == []


@given(
    st.lists(
        st.tuples(st.sampled_from([(3, 2), (3, 3), (0, 0)]), st.booleans()),
        min_size=0,
        max_size=12,
    )
)
def test_bulk_and_element_reads_agree(shapes: list[tuple[tuple[int, int], bool]]) -> None:
    partitions = [
        _partition(i, replicas=r, isr=s, tags=((9, b"t"),) if tagged else ())
        for i, ((r, s), tagged) in enumerate(shapes)
    ]
    message = _topics(partitions)
    assert MetadataResponse.decode(message.encode(12), 12) == message

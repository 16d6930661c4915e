"""What a request is about, read generically from the generated message classes' schemas.

Fault plans match requests by topic, partition, group and transactional id, and the request
journal answers queries by topic, for every API without per-API code. This module finds those
facts through the schema facts every generated class carries (``_SCHEMA``):

- the **topic array** of a request or response: its first struct-array field (present at the
  version) whose struct is named ``*Topic*`` and has a topic key (``name``/``topic``/
  ``topic_name`` and/or ``topic_id``), or a string array named ``topics``/``topic_names``;
- inside a topic struct, its **partition array**: a struct array (of a struct named
  ``*Partition*``, or a field named ``partition*``) with a partition key
  (``partition_index``/``partition``/``index``/``partition_id``), or an int32 array named
  ``partitions``/``partition_indexes``;
- **group ids** (``group_id``, ``group_ids``, ``groups``/``groups_names`` of strings, groups
  nested in structs) and **transactional ids**; FindCoordinator's keys by their key type.

Layouts are computed once per (class, version). Nothing here decodes records.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from rafka.protocol._message import KafkaStruct
from rafka.protocol._schema import FieldInfo

__all__ = [
    "Item",
    "TopicLayout",
    "group_ids",
    "request_items",
    "topic_layout",
    "transactional_ids",
]

TOPIC_NAME_FIELDS = ("name", "topic", "topic_name")
PARTITION_KEY_FIELDS = ("partition_index", "partition", "index", "partition_id")
_TOPIC_STRING_ARRAYS = ("topics", "topic_names")
_PARTITION_INT_ARRAYS = ("partitions", "partition_indexes")
_FIND_COORDINATOR = 10

#: (topic name, partition or None): one thing a request names.
Item = tuple[str, int | None]
#: Topic id -> name, from the cluster's metadata; None when unknown.
TopicNames = Callable[[uuid.UUID], str | None]


@attrs.frozen
class TopicLayout:
    """Where a message class keeps its topics and partitions at one version."""

    field: str  #: the topic array attribute of the message
    struct: type[KafkaStruct] | None  #: topic struct class; None for a string array
    name_field: str | None = None  #: topic name attribute of the struct
    id_field: str | None = None  #: topic id attribute of the struct
    parts_field: str | None = None  #: partition array attribute of the struct
    part_struct: type[KafkaStruct] | None = None  #: partition struct; None for an int array
    part_key: str | None = None  #: partition index attribute of the partition struct

    def topic_of(self, element: Any, names: TopicNames) -> str:
        """The topic an element of the topic array names ("" when it cannot tell)."""
        if self.struct is None:
            return str(element or "")
        name = getattr(element, self.name_field, None) if self.name_field else None
        if name:
            return str(name)
        if self.id_field:
            topic_id = getattr(element, self.id_field, None)
            if isinstance(topic_id, uuid.UUID) and topic_id.int:
                return names(topic_id) or ""
        return ""

    def partitions_of(self, element: Any) -> list[int] | None:
        """The partition indexes an element of the topic array names (None: no partitions)."""
        if self.struct is None or self.parts_field is None:
            return None
        parts = getattr(element, self.parts_field, None) or []
        if self.part_struct is None:
            return [int(p) for p in parts]
        assert self.part_key is not None
        return [int(getattr(p, self.part_key)) for p in parts]


def _present(fields: tuple[FieldInfo, ...], version: int) -> list[FieldInfo]:
    return [f for f in fields if f.present_in(version)]


def _first(fields: list[FieldInfo], names: tuple[str, ...], type_name: str | None) -> str | None:
    by_name = {f.name: f for f in fields}
    for name in names:
        f = by_name.get(name)
        if f is not None and (type_name is None or f.type == type_name):
            return name
    return None


_LAYOUTS: dict[tuple[type[Any], int], TopicLayout | None] = {}


def topic_layout(cls: type[KafkaStruct], version: int) -> TopicLayout | None:
    """The topic array of message class ``cls`` at ``version``, or None if it has none."""
    try:
        return _LAYOUTS[cls, version]
    except KeyError:
        layout = _LAYOUTS[cls, version] = _topic_layout(cls, version)
        return layout


def _topic_layout(cls: type[KafkaStruct], version: int) -> TopicLayout | None:
    fields = _present(cls._SCHEMA, version)
    for f in fields:
        if f.struct is not None and f.type.startswith("[]") and "Topic" in f.struct.__name__:
            sub = _present(f.struct._SCHEMA, version)
            name_field = _first(sub, TOPIC_NAME_FIELDS, "string")
            id_field = _first(sub, ("topic_id",), "uuid")
            if name_field is None and id_field is None:
                continue
            parts_field = part_key = None
            part_struct: type[KafkaStruct] | None = None
            for p in sub:
                if (
                    p.struct is not None
                    and p.type.startswith("[]")
                    and ("Partition" in p.struct.__name__ or p.name.startswith("partition"))
                ):
                    key = _first(_present(p.struct._SCHEMA, version), PARTITION_KEY_FIELDS, None)
                    if key is not None:
                        parts_field, part_struct, part_key = p.name, p.struct, key
                        break
                if p.name in _PARTITION_INT_ARRAYS and p.type == "[]int32":
                    parts_field = p.name
                    break
            return TopicLayout(
                f.name, f.struct, name_field, id_field, parts_field, part_struct, part_key
            )
        if f.name in _TOPIC_STRING_ARRAYS and f.type == "[]string":
            return TopicLayout(f.name, None)
    return None


def request_items(message: Any, version: int, names: TopicNames) -> list[Item]:
    """Every (topic, partition) the message names; (topic, None) for a topic named without
    partitions. Empty when the message has no topic array (or a null one)."""
    layout = topic_layout(type(message), version)
    if layout is None:
        return []
    out: list[Item] = []
    for element in getattr(message, layout.field, None) or ():
        topic = layout.topic_of(element, names)
        parts = layout.partitions_of(element)
        if parts is None:
            out.append((topic, None))
        else:
            out.extend((topic, p) for p in parts)
    return out


def topics_of(message: Any, version: int, names: TopicNames) -> set[str]:
    """Every topic name the message names."""
    return {topic for topic, _ in request_items(message, version, names) if topic}


# ------------------------------------------------------------------------ groups and txn ids


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str) and item:
                yield item


def _collect(message: Any, version: int, wanted: frozenset[str], depth: int = 0) -> Iterator[str]:
    for f in message._SCHEMA:
        if not f.present_in(version):
            continue
        value = getattr(message, f.name, None)
        if f.name in wanted and (f.type in ("string", "[]string")):
            yield from _strings(value)
        elif f.struct is not None and depth < 2 and value is not None:
            for element in value if isinstance(value, list) else (value,):
                yield from _collect(element, version, wanted, depth + 1)


_GROUP_FIELDS = frozenset({"group_id", "group_ids", "groups", "groups_names"})
_TXN_FIELDS = frozenset({"transactional_id", "transactional_ids"})


def _coordinator_keys(message: Any, version: int, key_type: int) -> list[str]:
    if getattr(message, "key_type", 0) != key_type:
        return []
    if version >= 4:
        return [k for k in message.coordinator_keys if k]
    return [message.key] if message.key else []


def group_ids(message: Any, api_key: int, version: int) -> set[str]:
    """The consumer (or share, streams) group ids a request names."""
    if api_key == _FIND_COORDINATOR:
        return set(_coordinator_keys(message, version, 0))
    return set(_collect(message, version, _GROUP_FIELDS))


def transactional_ids(message: Any, api_key: int, version: int) -> set[str]:
    """The transactional ids a request names."""
    if api_key == _FIND_COORDINATOR:
        return set(_coordinator_keys(message, version, 1))
    return set(_collect(message, version, _TXN_FIELDS))

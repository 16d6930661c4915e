"""Hypothesis strategies for rafka's generated messages, derived from their schema facts.

``message_strategy(cls, version)`` draws instances whose every field that exists at
``version`` holds an arbitrary legal value (None only where the field is nullable at that
version); fields absent at that version keep their defaults, as a decoder would leave them.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

from rafka.protocol._message import KafkaStruct
from rafka.protocol._schema import FieldInfo

_INTS = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
MAX_LIST = 3


def _scalar(type_name: str, struct: Any, version: int, flexible: bool, tags: bool) -> Any:
    if type_name in _INTS:
        lo, hi = _INTS[type_name]
        return st.integers(lo, hi)
    if type_name == "bool":
        return st.booleans()
    if type_name == "float64":
        return st.floats(allow_nan=False, allow_infinity=False)
    if type_name == "string":
        return st.text(max_size=12)
    if type_name in ("bytes", "records"):
        return st.binary(max_size=24)
    if type_name == "uuid":
        return st.uuids()
    return struct_strategy(struct, version, flexible, tags)


def field_strategy(f: FieldInfo, version: int, flexible: bool, tags: bool) -> Any:
    is_array = f.type.startswith("[]")
    base = f.type[2:] if is_array else f.type
    value = _scalar(base, f.struct, version, flexible, tags)
    if is_array:
        value = st.lists(value, max_size=MAX_LIST)
    if f.nullable_in(version):
        value = st.none() | value
    return value


@functools.cache
def struct_strategy(cls: type[KafkaStruct], version: int, flexible: bool, tags: bool) -> Any:
    """Instances of ``cls`` valid at ``version``; ``tags`` adds unknown tagged fields."""
    kwargs = {
        f.name: field_strategy(f, version, flexible, tags)
        for f in cls._SCHEMA
        if f.present_in(version)
    }
    if flexible and tags:
        known = {f.tag for f in cls._SCHEMA if f.tag is not None}
        unknown = st.lists(
            st.tuples(
                st.integers(0, 2**31 - 1).filter(lambda t: t not in known),
                st.binary(max_size=8),
            ),
            max_size=2,
            unique_by=lambda item: item[0],
        ).map(lambda items: tuple(sorted(items)))
        kwargs["unknown_tagged_fields"] = unknown
    return st.builds(cls, **kwargs)


def message_strategy(cls: Any, version: int, *, unknown_tags: bool = True) -> Any:
    flexible = cls.FLEXIBLE_MIN is not None and version >= cls.FLEXIBLE_MIN
    return struct_strategy(cls, version, flexible, unknown_tags)

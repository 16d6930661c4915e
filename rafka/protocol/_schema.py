"""Schema facts attached to generated classes, for tools that walk messages generically.

The codecs never read these (they are straight-line code); the request journal, test
strategies and the JSON form used to compare with Apache Kafka's own serializer do.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class FieldInfo(NamedTuple):
    """One field of a generated struct, as its spec declares it."""

    name: str  #: Python attribute name (snake_case)
    spec_name: str  #: name in the spec (CamelCase)
    type: str  #: spec type, e.g. ``int32``, ``[]string``, ``[]CreatableTopic``
    versions: tuple[int, int] | None  #: inclusive range of versions the field exists in
    nullable: tuple[int, int] | None  #: versions in which it may be null
    tagged: tuple[int, int] | None  #: versions in which it is a tagged field
    tag: int | None
    ignorable: bool
    flexible: tuple[int, int] | None  #: field-level flexible-versions override, if any
    struct: Any  #: the struct class for struct and struct-array types

    def present_in(self, version: int) -> bool:
        return self.versions is not None and self.versions[0] <= version <= self.versions[1]

    def nullable_in(self, version: int) -> bool:
        return self.nullable is not None and self.nullable[0] <= version <= self.nullable[1]

    def tagged_in(self, version: int) -> bool:
        return self.tagged is not None and self.tagged[0] <= version <= self.tagged[1]

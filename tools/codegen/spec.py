"""The spec model: Apache Kafka's message JSON files read into plain Python objects.

Kept apart from the emitter (as Kafka's own generator does) so that the facts of a spec —
names, types, version ranges, nullability, tags, defaults — are parsed and validated once.
The schema language is described in ``message/README.md`` of the spec folders.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_VERSION = 0x7FFF  # an open-ended range "N+" runs to Short.MAX_VALUE, as in Kafka


@dataclass(frozen=True)
class Versions:
    """An inclusive version range; ``lo > hi`` is the empty range ("none")."""

    lo: int
    hi: int

    @staticmethod
    def parse(text: str | None, default: Versions | None = None) -> Versions:
        if text is None:
            if default is None:
                raise ValueError("missing version range")
            return default
        text = text.strip()
        if not text:
            if default is None:
                raise ValueError("missing version range")
            return default
        if text == "none":
            return NONE
        if text.endswith("+"):
            return Versions(int(text[:-1]), MAX_VERSION)
        if "-" in text:
            lo, hi = text.split("-")
            return Versions(int(lo), int(hi))
        return Versions(int(text), int(text))

    @property
    def empty(self) -> bool:
        return self.lo > self.hi

    def __contains__(self, version: int) -> bool:
        return self.lo <= version <= self.hi

    def intersect(self, other: Versions) -> Versions:
        return Versions(max(self.lo, other.lo), min(self.hi, other.hi))

    def as_tuple(self) -> tuple[int, int] | None:
        return None if self.empty else (self.lo, self.hi)


NONE = Versions(1, 0)

PRIMITIVES = {
    "bool",
    "int8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "float64",
    "uuid",
    "string",
    "bytes",
    "records",
}
FIXED_FORMATS = {
    "bool": "?",
    "int8": "b",
    "int16": "h",
    "uint16": "H",
    "int32": "i",
    "uint32": "I",
    "int64": "q",
    "float64": "d",
}
FIXED_SIZES = {
    "bool": 1,
    "int8": 1,
    "int16": 2,
    "uint16": 2,
    "int32": 4,
    "uint32": 4,
    "int64": 8,
    "float64": 8,
    "uuid": 16,
}


@dataclass(frozen=True)
class FieldType:
    """A field's type: a primitive, a struct (by name) or an array of either."""

    name: str  # element name for arrays
    is_array: bool = False

    @staticmethod
    def parse(text: str) -> FieldType:
        if text.startswith("[]"):
            return FieldType(text[2:], True)
        return FieldType(text, False)

    @property
    def is_struct(self) -> bool:
        return self.name not in PRIMITIVES

    @property
    def element(self) -> FieldType:
        return FieldType(self.name, False)

    @property
    def is_fixed(self) -> bool:
        return not self.is_array and self.name in FIXED_FORMATS

    def __str__(self) -> str:
        return ("[]" if self.is_array else "") + self.name


def snake_case(name: str) -> str:
    """``GroupInstanceId`` -> ``group_instance_id``; Python keywords get a trailing ``_``."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()
    return s + "_" if keyword.iskeyword(s) else s


@dataclass
class FieldSpec:
    name: str
    type: FieldType
    versions: Versions
    nullable_versions: Versions
    tagged_versions: Versions
    tag: int | None
    default: str  # as written in the spec; "" when absent
    ignorable: bool
    flexible_versions: Versions | None  # a field-level override ("none" for RequestHeader.ClientId)
    struct: StructSpec | None = None  # inline struct definition, if any

    @property
    def py_name(self) -> str:
        return snake_case(self.name)

    @property
    def json_name(self) -> str:
        """The name Kafka's JSON converters use (camelCase)."""
        return self.name[:1].lower() + self.name[1:]

    @property
    def default_is_null(self) -> bool:
        return self.default == "null"


@dataclass
class StructSpec:
    name: str
    versions: Versions
    fields: list[FieldSpec]


@dataclass
class MessageSpec:
    """One JSON spec file: a request, response, header, data type or internal record."""

    name: str
    kind: str  # request | response | header | data | metadata | coordinator-key | ...
    api_key: int | None
    valid_versions: Versions
    flexible_versions: Versions
    listeners: tuple[str, ...]
    latest_version_unstable: bool
    struct: StructSpec
    structs: dict[str, StructSpec] = field(default_factory=dict)  # every struct by name
    source: str = ""  # "<folder>/<file>.json"


def strip_comments(text: str) -> str:
    """Remove ``//`` and ``/* */`` comments outside string literals (the specs use both)."""
    out: list[str] = []
    i, n, in_string = 0, len(text), False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


class SpecError(ValueError):
    pass


def _parse_fields(
    raw_fields: list[dict[str, object]], msg: MessageSpec, structs: dict[str, StructSpec]
) -> list[FieldSpec]:
    fields = []
    for raw in raw_fields:
        ftype = FieldType.parse(str(raw["type"]))
        tagged = Versions.parse(_opt_str(raw, "taggedVersions"), NONE)
        # As in Kafka: a field without "versions" exists in its tagged versions.
        versions = Versions.parse(_opt_str(raw, "versions"), None if tagged.empty else tagged)
        tag = raw.get("tag")
        default = raw.get("default", "")
        fs = FieldSpec(
            name=str(raw["name"]),
            type=ftype,
            versions=versions,
            nullable_versions=Versions.parse(_opt_str(raw, "nullableVersions"), NONE),
            tagged_versions=tagged,
            tag=int(tag) if isinstance(tag, (int, str)) else None,
            default="null" if default is None else str(default),
            ignorable=bool(raw.get("ignorable", False)),
            flexible_versions=(
                Versions.parse(_opt_str(raw, "flexibleVersions"))
                if "flexibleVersions" in raw
                else None
            ),
        )
        if fs.tag is not None and fs.tagged_versions.empty:
            raise SpecError(f"{msg.name}.{fs.name}: tag without taggedVersions")
        if "fields" in raw:
            if not ftype.is_struct:
                raise SpecError(f"{msg.name}.{fs.name}: fields on a primitive type")
            sub = raw["fields"]
            assert isinstance(sub, list)
            fs.struct = StructSpec(ftype.name, versions, _parse_fields(sub, msg, structs))
            if ftype.name in structs:
                raise SpecError(f"{msg.name}: struct {ftype.name} defined twice")
            structs[ftype.name] = fs.struct
        fields.append(fs)
    names = [f.py_name for f in fields]
    if len(set(names)) != len(names):
        raise SpecError(f"{msg.name}: field names collide after snake_case: {names}")
    return fields


def _opt_str(raw: dict[str, object], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else str(value)


def load_spec(path: Path, folder: str) -> MessageSpec:
    raw = json.loads(strip_comments(path.read_text()))
    versions = Versions.parse(raw["validVersions"])
    api_key = raw.get("apiKey")
    msg = MessageSpec(
        name=raw["name"],
        kind=raw["type"],
        api_key=None if api_key is None else int(api_key),
        valid_versions=versions,
        flexible_versions=Versions.parse(raw.get("flexibleVersions"), NONE),
        listeners=tuple(raw.get("listeners", ())),
        latest_version_unstable=bool(raw.get("latestVersionUnstable", False)),
        struct=StructSpec(raw["name"], versions, []),
        source=f"{folder}/{path.name}",
    )
    structs: dict[str, StructSpec] = {}
    for common in raw.get("commonStructs", ()):
        cs = StructSpec(common["name"], Versions.parse(common["versions"]), [])
        structs[cs.name] = cs
    for common in raw.get("commonStructs", ()):
        structs[common["name"]].fields = _parse_fields(common["fields"], msg, structs)
    msg.struct.fields = _parse_fields(raw.get("fields", []), msg, structs)
    if msg.name in structs:
        raise SpecError(f"{msg.name}: a struct has the message's own name")
    msg.structs = structs
    _check_references(msg, msg.struct)
    return msg


def _check_references(msg: MessageSpec, struct: StructSpec) -> None:
    for f in struct.fields:
        if f.type.is_struct:
            target = msg.structs.get(f.type.name)
            if target is None:
                raise SpecError(f"{msg.name}.{f.name}: unknown struct {f.type.name}")
            if f.struct is not None:
                _check_references(msg, f.struct)
    if struct is msg.struct:
        for cs in msg.structs.values():
            if cs is not struct:
                for f in cs.fields:
                    if f.type.is_struct and f.type.name not in msg.structs:
                        raise SpecError(f"{msg.name}.{f.name}: unknown struct {f.type.name}")


def load_folder(specs_root: Path, folder: str) -> list[MessageSpec]:
    return [load_spec(p, folder) for p in sorted((specs_root / folder).glob("*.json"))]

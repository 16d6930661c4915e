"""Emit one Python module of attrs message classes with per-version straight-line codecs.

For every struct of a message and every version at which it is encoded, the emitter writes a
decoder ``_d_<Struct>_v<N>(b, p) -> (obj, p)`` and an encoder ``_e_<Struct>_v<N>(o, out)``.
Versions whose emitted code is identical share one function (many version bumps change
semantics, not layout). Consecutive fixed-width fields are read and written with a single
precompiled ``struct.Struct`` call. Nothing walks a field list at run time.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field

from .emit_codecs import CodecEmitter
from .spec import FieldSpec, MessageSpec, StructSpec, Versions

RESERVED = {"encode", "encode_into", "decode", "decode_from", "unknown_tagged_fields"}


@dataclass
class StructInfo:
    spec: StructSpec
    cls_name: str
    qual: str
    alias: str
    fields: list[FieldSpec]
    versions: set[int] = field(default_factory=set)
    dec: dict[int, str] = field(default_factory=dict)
    enc: dict[int, str] = field(default_factory=dict)


class ModuleWriter:
    """Accumulates a module's code and its shared ``Struct`` constants."""

    def __init__(self) -> None:
        self.formats: dict[str, str] = {}
        self.classes: list[str] = []
        self.functions: list[str] = []
        self.tail: list[str] = []
        self.exports: list[str] = []
        self.uses_uuid = False

    def struct_const(self, fmt: str) -> str:
        name = "_S_" + fmt.replace("?", "o")
        self.formats[fmt] = name
        return name

    def render(self, banner: str, doc: str) -> str:
        parts = [banner, f'"""{doc}"""', "", "from __future__ import annotations", ""]
        if self.uses_uuid:
            parts.append("import uuid")
        parts += [
            "from struct import Struct",
            "from typing import ClassVar",
            "",
            "import attrs",
            "",
            "from rafka.protocol._codec import *  # noqa: F403",
            "from rafka.protocol._codec import TaggedFields",
            "from rafka.protocol._message import KafkaStruct, Message",
            "from rafka.protocol._schema import FieldInfo",
            "",
            "__all__ = [" + ", ".join(repr(e) for e in self.exports) + "]",
            "",
        ]
        for fmt, name in sorted(self.formats.items(), key=lambda kv: kv[1]):
            parts.append(f'{name} = Struct(">{fmt}")')
        parts.append("")
        parts += self.classes
        parts += self.functions
        parts += self.tail
        return "\n".join(parts).rstrip() + "\n"


def _default_int(text: str) -> int:
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10) if text else 0


def _uuid_literal(text: str) -> str:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return f"uuid.UUID(int={uuid.UUID(bytes=raw).int})"


class MessageEmitter:
    """Emits the class and codecs of one message into a :class:`ModuleWriter`."""

    def __init__(self, msg: MessageSpec, mod: ModuleWriter) -> None:
        self.msg = msg
        self.mod = mod
        self.infos: dict[str, StructInfo] = {}
        top = msg.struct
        self.infos[top.name] = StructInfo(top, top.name, top.name, "_" + top.name, top.fields)
        for name, st in msg.structs.items():
            self.infos[name] = StructInfo(
                st, name, f"{top.name}.{name}", f"_{top.name}__{name}", st.fields
            )
        for info in self.infos.values():
            for f in info.fields:
                if f.py_name in RESERVED:
                    raise ValueError(f"{msg.name}.{f.name}: field name {f.py_name} is reserved")
        self._order: list[str] = []  # structs in post-order (dependencies first)
        self.codecs = CodecEmitter(self)

    # ------------------------------------------------------------------ version bookkeeping

    def _collect(self, info: StructInfo, version: int) -> None:
        if version in info.versions:
            return
        info.versions.add(version)
        for f in info.fields:
            if version in f.versions and f.type.is_struct:
                self._collect(self.infos[f.type.name], version)

    def _post_order(self, info: StructInfo) -> None:
        """Order structs so that every struct comes after the structs its fields use."""
        if info.cls_name in self._order:
            return
        for f in info.fields:
            if f.type.is_struct:
                self._post_order(self.infos[f.type.name])
        self._order.append(info.cls_name)

    def flexible(self, f: FieldSpec | None, version: int) -> bool:
        if f is not None and f.flexible_versions is not None:
            return version in f.flexible_versions
        return version in self.msg.flexible_versions

    @staticmethod
    def tagged(f: FieldSpec, version: int) -> bool:
        return version in f.versions and version in f.tagged_versions

    @staticmethod
    def regular(f: FieldSpec, version: int) -> bool:
        return version in f.versions and version not in f.tagged_versions

    # ------------------------------------------------------------------------ literals, types

    def default_literal(self, f: FieldSpec, fresh: bool) -> str:
        """A Python expression of the field's default (``fresh``: a new list/struct)."""
        t = f.type
        if f.default_is_null:
            return "None"
        if t.is_array:
            return "[]" if fresh else "attrs.Factory(list)"
        if t.is_struct:
            if fresh:
                return f"{self.infos[t.name].alias}()"
            # A lambda: nested class bodies cannot see their siblings while being defined.
            return f"attrs.Factory(lambda: {self.infos[t.name].qual}())"
        if t.name == "bool":
            if f.default.lower() not in ("", "true", "false"):
                raise ValueError(f"bad bool default {f.default!r}")
            return "True" if f.default.lower() == "true" else "False"
        if t.name in ("int8", "int16", "uint16", "int32", "uint32", "int64"):
            return str(_default_int(f.default))
        if t.name == "float64":
            return repr(float(f.default)) if f.default else "0.0"
        if t.name == "string":
            return repr(f.default)
        if t.name == "bytes":
            return 'b""'
        if t.name == "records":
            return "None"
        if t.name == "uuid":
            if not f.default:
                return "ZERO_UUID"
            self.mod.uses_uuid = True
            return _uuid_literal(f.default)
        raise ValueError(f"no default for {t}")

    def py_type(self, f: FieldSpec, qualify: bool = True) -> str:
        base = {
            "bool": "bool",
            "int8": "int",
            "int16": "int",
            "uint16": "int",
            "int32": "int",
            "uint32": "int",
            "int64": "int",
            "float64": "float",
            "string": "str",
            "bytes": "bytes",
            "records": "Buffer",
            "uuid": "uuid.UUID",
        }.get(f.type.name)
        if base is None:
            base = self.infos[f.type.name].qual if qualify else f.type.name
        if base == "uuid.UUID":
            self.mod.uses_uuid = True
        text = f"list[{base}]" if f.type.is_array else base
        if not f.nullable_versions.empty or f.default_is_null or f.type.name == "records":
            text += " | None"
        return text

    # -------------------------------------------------------------------------- class bodies

    def emit_classes(self) -> None:
        msg = self.msg
        versions = msg.valid_versions
        top = self.infos[msg.struct.name]
        for v in range(versions.lo, versions.hi + 1):
            self._collect(top, v)
        # Structs never reached at a valid version still get a class (for completeness).
        for info in self.infos.values():
            self._post_order(info)
        lines = ["@attrs.define", f"class {msg.name}(Message):"]
        flex = msg.flexible_versions
        desc = f"{msg.kind} {msg.name}"
        if msg.api_key is not None:
            desc += f" (key {msg.api_key})"
        desc += f", versions {versions.lo}-{versions.hi}"
        if not flex.empty:
            desc += f", flexible from {flex.lo}"
        lines.append(f'    """Kafka {desc}."""')
        lines.append("")
        for name in self._order:
            if name == top.cls_name:
                continue
            lines += self._struct_class(self.infos[name], indent="    ")
            lines.append("")
        lines.append(f"    NAME: ClassVar[str] = {msg.name!r}")
        if msg.api_key is not None:
            lines.append(f"    API_KEY: ClassVar[int] = {msg.api_key}")
        lines.append(f"    MIN_VERSION: ClassVar[int] = {versions.lo}")
        lines.append(f"    MAX_VERSION: ClassVar[int] = {versions.hi}")
        lines.append(f"    FLEXIBLE_MIN: ClassVar[int | None] = {None if flex.empty else flex.lo}")
        lines.append("")
        lines += self._field_lines(top, "    ")
        self.mod.classes.append("\n".join(lines) + "\n\n")
        self.mod.exports.append(msg.name)

    def _struct_class(self, info: StructInfo, indent: str) -> list[str]:
        lines = [f"{indent}@attrs.define", f"{indent}class {info.cls_name}(KafkaStruct):"]
        body = self._field_lines(info, indent + "    ")
        return lines + body

    def _field_lines(self, info: StructInfo, indent: str) -> list[str]:
        lines = []
        for f in info.fields:
            lines.append(
                f"{indent}{f.py_name}: {self.py_type(f, qualify=info.cls_name != self.msg.name)}"
                f" = {self.default_literal(f, fresh=False)}"
            )
        lines.append(f"{indent}unknown_tagged_fields: TaggedFields = ()")
        return lines

    # ------------------------------------------------------------------------------- codecs

    def emit_codecs(self) -> None:
        mod = self.mod
        alias_lines = []
        for name in self._order:
            info = self.infos[name]
            if info.cls_name != self.msg.name:
                alias_lines.append(f"{info.alias} = {info.qual}")
        alias_lines.append(f"{self.infos[self.msg.name].alias} = {self.msg.name}")
        mod.tail += alias_lines
        for name in self._order:
            info = self.infos[name]
            self._emit_struct_codecs(info)
        top = self.infos[self.msg.name]
        dec = ", ".join(f"{v}: {top.dec[v]}" for v in sorted(top.versions))
        enc = ", ".join(f"{v}: {top.enc[v]}" for v in sorted(top.versions))
        mod.tail.append(f"{self.msg.name}._decoders = {{{dec}}}")
        mod.tail.append(f"{self.msg.name}._encoders = {{{enc}}}")
        for name in self._order:
            info = self.infos[name]
            mod.tail.append(f"{info.qual}._SCHEMA = {self._schema_literal(info)}")
        mod.tail.append("")

    def _schema_literal(self, info: StructInfo) -> str:
        items = []
        for f in info.fields:
            struct = self.infos[f.type.name].alias if f.type.is_struct else "None"
            flex = "None" if f.flexible_versions is None else repr(f.flexible_versions.as_tuple())
            items.append(
                f"FieldInfo({f.py_name!r}, {f.name!r}, {str(f.type)!r}, "
                f"{f.versions.as_tuple()!r}, {f.nullable_versions.as_tuple()!r}, "
                f"{f.tagged_versions.as_tuple()!r}, {f.tag!r}, {f.ignorable!r}, {flex}, {struct})"
            )
        return "(" + "".join(i + ", " for i in items) + ")"

    def _emit_struct_codecs(self, info: StructInfo) -> None:
        dec_seen: dict[str, str] = {}
        enc_seen: dict[str, str] = {}
        for v in sorted(info.versions):
            body = self.codecs.decoder_body(info, v)
            name = dec_seen.get(body)
            if name is None:
                name = f"_d_{info.alias.lstrip('_')}_v{v}"
                dec_seen[body] = name
                self.mod.functions.append(
                    f"def {name}(b: bytes, p: int) -> tuple[{info.qual}, int]:\n{body}\n\n"
                )
            info.dec[v] = name
            body = self.codecs.encoder_body(info, v)
            name = enc_seen.get(body)
            if name is None:
                name = f"_e_{info.alias.lstrip('_')}_v{v}"
                enc_seen[body] = name
                self.mod.functions.append(
                    f"def {name}(o: {info.qual}, out: bytearray) -> None:\n{body}\n\n"
                )
            info.enc[v] = name

    def struct_fn(self, struct_name: str, v: int, kind: str) -> str:
        """The name of an already emitted decoder/encoder of ``struct_name`` at ``v``."""
        info = self.infos[struct_name]
        table = info.dec if kind == "dec" else info.enc
        if v not in table:
            raise RuntimeError(f"{info.qual} v{v} referenced before it was emitted")
        return table[v]


def versions_text(v: Versions) -> str:
    return "none" if v.empty else f"{v.lo}-{v.hi}"

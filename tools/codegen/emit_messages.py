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

from .spec import FIXED_FORMATS, FIXED_SIZES, FieldSpec, MessageSpec, StructSpec, Versions

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
            body = self._decoder_body(info, v)
            name = dec_seen.get(body)
            if name is None:
                name = f"_d_{info.alias.lstrip('_')}_v{v}"
                dec_seen[body] = name
                self.mod.functions.append(
                    f"def {name}(b: bytes, p: int) -> tuple[{info.qual}, int]:\n{body}\n\n"
                )
            info.dec[v] = name
            body = self._encoder_body(info, v)
            name = enc_seen.get(body)
            if name is None:
                name = f"_e_{info.alias.lstrip('_')}_v{v}"
                enc_seen[body] = name
                self.mod.functions.append(
                    f"def {name}(o: {info.qual}, out: bytearray) -> None:\n{body}\n\n"
                )
            info.enc[v] = name

    # ------------------------------------------------------------------------------ decoding

    def _decoder_body(self, info: StructInfo, v: int) -> str:
        lines: list[str] = []
        run: list[FieldSpec] = []

        def flush_run() -> None:
            if not run:
                return
            fmt = "".join(FIXED_FORMATS[f.type.name] for f in run)
            const = self.mod.struct_const(fmt)
            size = sum(FIXED_SIZES[f.type.name] for f in run)
            targets = ", ".join(f"f_{f.py_name}" for f in run)
            if len(run) == 1:
                lines.append(f"{targets} = {const}.unpack_from(b, p)[0]")
            else:
                lines.append(f"{targets} = {const}.unpack_from(b, p)")
            lines.append(f"p += {size}")
            run.clear()

        for f in info.fields:
            if not self.regular(f, v):
                continue
            if f.type.is_fixed:
                run.append(f)
                continue
            flush_run()
            lines += self._decode_value(f, v, f"f_{f.py_name}", "b", "p", tagged=False)
        flush_run()
        tagged = [f for f in info.fields if self.tagged(f, v)]
        if self.flexible(None, v):
            for f in tagged:
                lines.append(
                    f"f_{f.py_name}: {self.py_type(f)} = {self.default_literal(f, fresh=True)}"
                )
            lines.append("if b[p] == 0:")
            lines.append("    p += 1")
            lines.append("    unknown: TaggedFields = ()")
            lines.append("else:")
            lines.append("    tags, p = r_tags(b, p)")
            if tagged:
                lines.append("    extra = []")
                lines.append("    for tag, t in tags:")
                first = True
                for f in sorted(tagged, key=lambda f: f.tag or 0):
                    kw = "if" if first else "elif"
                    first = False
                    lines.append(f"        {kw} tag == {f.tag}:")
                    sub = self._decode_value(f, v, f"f_{f.py_name}", "t", "q", tagged=True)
                    lines.append("            q = 0")
                    lines += ["            " + s for s in sub]
                lines.append("        else:")
                lines.append("            extra.append((tag, t))")
                lines.append("    unknown = tuple(extra)")
            else:
                lines.append("    unknown = tuple(tags)")
        else:
            lines.append("unknown = ()")
        args = []
        for f in info.fields:
            if v in f.versions:
                args.append(f"f_{f.py_name}")
            else:
                args.append(self.default_literal(f, fresh=True))
        args.append("unknown")
        lines.append(f"return {info.alias}({', '.join(args)}), p")
        return "\n".join("    " + line for line in lines)

    def _decode_value(
        self, f: FieldSpec, v: int, target: str, b: str, p: str, tagged: bool
    ) -> list[str]:
        t = f.type
        flex = True if tagged else self.flexible(f, v)
        nullable = v in f.nullable_versions
        c = "c" if flex else ""
        null_stmt = f"{target} = None" if nullable else f"raise null_error({f.name!r})"
        e = f"e_{f.py_name}"
        if t.is_array:
            out = [f"n, {p} = r_{c}alen({b}, {p})", "if n < 0:", f"    {null_stmt}", "else:"]
            el = t.element
            if el.name in ("int8", "int16", "int32", "int64", "uint16", "uint32"):
                code = FIXED_FORMATS[el.name]
                size = FIXED_SIZES[el.name]
                out.append(f"    {target}, {p} = r_fixed_array({b}, {p}, n, {code!r}, {size})")
                return out
            out.append(f"    {target} = []")
            out.append("    for _ in range(n):")
            if el.name == "string":
                out.append(f"        {e}, {p} = r_{c}str({b}, {p})")
            elif el.name == "bytes":
                out.append(f"        {e}, {p} = r_{c}bytes({b}, {p})")
            elif el.name == "uuid":
                out.append(f"        {e}, {p} = r_uuid({b}, {p})")
            elif el.is_struct:
                fn = self._struct_fn(el.name, v, "dec")
                out.append(f"        {e}, {p} = {fn}({b}, {p})")
            elif el.name == "bool":
                out.append(f"        {e} = {b}[{p}] != 0")
                out.append(f"        {p} += 1")
            else:
                raise ValueError(f"unsupported array element {el}")
            out.append(f"        {target}.append({e})")
            return out
        if t.is_struct:
            fn = self._struct_fn(t.name, v, "dec")
            if not nullable:
                return [f"{target}, {p} = {fn}({b}, {p})"]
            if tagged:
                marker = [f"m, {p} = r_uvarint({b}, {p})", "if m == 0:"]
            else:
                marker = [f"m = {b}[{p}]", f"{p} += 1", "if m >= 0x80:"]
            return [*marker, f"    {target} = None", "else:", f"    {target}, {p} = {fn}({b}, {p})"]
        n = "n" if nullable else ""
        if t.name == "string":
            return [f"{target}, {p} = r_{n}{c}str({b}, {p})"]
        if t.name == "bytes":
            return [f"{target}, {p} = r_{n}{c}bytes({b}, {p})"]
        if t.name == "records":
            return [f"{target}, {p} = r_{n}{c}records({b}, {p})"]
        if t.name == "uuid":
            return [f"{target}, {p} = r_uuid({b}, {p})"]
        if t.is_fixed:
            const = self.mod.struct_const(FIXED_FORMATS[t.name])
            return [f"{target} = {const}.unpack_from({b}, {p})[0]"]
        raise ValueError(f"unsupported type {t}")

    def _struct_fn(self, struct_name: str, v: int, kind: str) -> str:
        info = self.infos[struct_name]
        table = info.dec if kind == "dec" else info.enc
        if v not in table:
            raise RuntimeError(f"{info.qual} v{v} referenced before it was emitted")
        return table[v]

    # ------------------------------------------------------------------------------ encoding

    def _nondefault(self, f: FieldSpec, src: str) -> str:
        t = f.type
        if f.default_is_null or t.name == "records":
            return f"{src} is not None"
        if t.is_array or t.name == "bytes":
            if f.nullable_versions.empty:
                return f"len({src}) != 0"
            return f"{src} is None or len({src}) != 0"
        return f"{src} != {self.default_literal(f, fresh=True)}"

    def _encoder_body(self, info: StructInfo, v: int) -> str:
        lines: list[str] = []
        for f in info.fields:
            if v not in f.versions and not f.ignorable:
                lines.append(f"if {self._nondefault(f, 'o.' + f.py_name)}:")
                lines.append(f"    raise unsupported_field({f.py_name!r})")
        run: list[FieldSpec] = []

        def flush_run() -> None:
            if not run:
                return
            fmt = "".join(FIXED_FORMATS[f.type.name] for f in run)
            const = self.mod.struct_const(fmt)
            args = ", ".join(f"o.{f.py_name}" for f in run)
            lines.append(f"out += {const}.pack({args})")
            run.clear()

        for f in info.fields:
            if not self.regular(f, v):
                continue
            if f.type.is_fixed:
                run.append(f)
                continue
            flush_run()
            lines += self._encode_value(f, v, f"o.{f.py_name}", "out", tagged=False)
        flush_run()
        if self.flexible(None, v):
            tagged = sorted((f for f in info.fields if self.tagged(f, v)), key=lambda f: f.tag or 0)
            if not tagged:
                lines.append("w_no_tags(out, o.unknown_tagged_fields)")
            else:
                lines.append("tags: list[tuple[int, Buffer]] = []")
                for f in tagged:
                    src = f"o.{f.py_name}"
                    lines.append(f"if {self._nondefault(f, src)}:")
                    lines.append("    t = bytearray()")
                    sub = self._encode_value(f, v, src, "t", tagged=True)
                    lines += ["    " + s for s in sub]
                    lines.append(f"    tags.append(({f.tag}, t))")
                lines.append("w_tags(out, tags, o.unknown_tagged_fields)")
        else:
            lines.append("if o.unknown_tagged_fields:")
            lines.append("    raise unsupported_tags()")
        return "\n".join("    " + line for line in lines)

    def _encode_value(self, f: FieldSpec, v: int, src: str, out: str, tagged: bool) -> list[str]:
        t = f.type
        flex = True if tagged else self.flexible(f, v)
        nullable = v in f.nullable_versions
        c = "c" if flex else ""
        var = f"x_{f.py_name}"
        e = f"e_{f.py_name}"
        if t.is_array:
            lines = [f"{var} = {src}", f"if {var} is None:"]
            if nullable:
                lines.append(f"    {out}.append(0)" if flex else f"    {out} += NULL_INT32")
            else:
                lines.append(f"    raise null_encode_error({f.name!r})")
            lines.append("else:")
            lines.append(f"    w_{c}alen({out}, len({var}))")
            el = t.element
            if el.name in ("int8", "int16", "int32", "int64", "uint16", "uint32"):
                lines.append(f"    w_fixed_array({out}, {var}, {FIXED_FORMATS[el.name]!r})")
            elif el.name == "string":
                lines += [f"    for {e} in {var}:", f"        w_{c}str({out}, {e})"]
            elif el.name == "bytes":
                lines += [f"    for {e} in {var}:", f"        w_{c}bytes({out}, {e})"]
            elif el.name == "uuid":
                lines += [f"    for {e} in {var}:", f"        {out} += {e}.bytes"]
            elif el.name == "bool":
                lines += [f"    for {e} in {var}:", f"        {out}.append(1 if {e} else 0)"]
            elif el.is_struct:
                fn = self._struct_fn(el.name, v, "enc")
                lines += [f"    for {e} in {var}:", f"        {fn}({e}, {out})"]
            else:
                raise ValueError(f"unsupported array element {el}")
            return lines
        if t.is_struct:
            fn = self._struct_fn(t.name, v, "enc")
            if not nullable:
                return [f"{fn}({src}, {out})"]
            null_marker = "0" if tagged else "0xFF"
            return [
                f"{var} = {src}",
                f"if {var} is None:",
                f"    {out}.append({null_marker})",
                "else:",
                f"    {out}.append(1)",
                f"    {fn}({var}, {out})",
            ]
        n = "n" if nullable else ""
        if t.name == "string":
            return [f"w_{n}{c}str({out}, {src})"]
        if t.name in ("bytes", "records"):
            return [f"w_{n}{c}bytes({out}, {src})"]
        if t.name == "uuid":
            return [f"{out} += {src}.bytes"]
        if t.is_fixed:
            const = self.mod.struct_const(FIXED_FORMATS[t.name])
            return [f"{out} += {const}.pack({src})"]
        raise ValueError(f"unsupported type {t}")


def versions_text(v: Versions) -> str:
    return "none" if v.empty else f"{v.lo}-{v.hi}"

"""Emit the straight-line body of one struct's decoder or encoder at one version.

Speed comes from doing in generated code what an interpreter would do at run time:

- consecutive fixed-width fields are one precompiled ``Struct`` call;
- varint lengths, compact strings and short integer arrays take an inline fast path (the
  uncommon cases call a helper in :mod:`rafka.protocol._codec`);
- small nested structs are inlined into the loop over their array, so an array of 1,000
  partitions costs no function call per element.

Safety is kept inline too: every array count is checked against the bytes that remain before
anything is allocated, and string slices are bounds-checked. Each inlined struct gets its own
suffix for its locals (``f_name`` at the top, ``f1_name``, ``f2_name``, ... for inlined structs),
so inlined structs never clobber each other's locals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .spec import FIXED_FORMATS, FIXED_SIZES, FieldSpec

if TYPE_CHECKING:
    from .emit_messages import MessageEmitter, StructInfo

#: Nested structs whose inlined body stays under this many lines are inlined into loops.
INLINE_LIMIT = 100
#: Integer arrays shorter than this use a precompiled Struct from ``_codec.ARRAYS``.
SMALL_ARRAY = 64
INT_ARRAY_ELEMENTS = ("int8", "int16", "int32", "int64", "uint16", "uint32")


def _var(prefix: str, depth: int, name: str) -> str:
    return f"{prefix}{depth or ''}_{name}"


class CodecEmitter:
    """Writes decode/encode bodies for the structs of one :class:`MessageEmitter`."""

    def __init__(self, em: MessageEmitter) -> None:
        self.em = em
        self._scopes = 0

    def _new_scope(self) -> int:
        """A fresh suffix for the locals of one inlined struct (unique within a function)."""
        self._scopes += 1
        return self._scopes

    # ------------------------------------------------------------------------------ decoding

    def decoder_body(self, info: StructInfo, v: int) -> str:
        self._scopes = 0
        lines = self.decode_struct(info, v, "obj", 0)
        lines.append("return obj, p")
        if any("bv[" in line for line in lines):
            lines.insert(0, "bv = memoryview(b)")
        if any("blen" in line for line in lines):
            lines.insert(0, "blen = len(b)")
        return "\n".join("    " + line for line in lines)

    def decode_struct(self, info: StructInfo, v: int, target: str, d: int) -> list[str]:
        em = self.em
        lines: list[str] = []
        run: list[FieldSpec] = []

        def flush_run() -> None:
            if not run:
                return
            fmt = "".join(FIXED_FORMATS[f.type.name] for f in run)
            const = em.mod.struct_const(fmt)
            size = sum(FIXED_SIZES[f.type.name] for f in run)
            targets = ", ".join(_var("f", d, f.py_name) for f in run)
            suffix = "[0]" if len(run) == 1 else ""
            lines.append(f"{targets} = {const}.unpack_from(b, p){suffix}")
            lines.append(f"p += {size}")
            run.clear()

        for f in info.fields:
            if not em.regular(f, v):
                continue
            if f.type.is_fixed:
                run.append(f)
                continue
            flush_run()
            lines += self.decode_value(f, v, _var("f", d, f.py_name), "b", "p", d, tagged=False)
        flush_run()
        unknown = f"unknown{d}"
        if em.flexible(None, v):
            tagged = sorted((f for f in info.fields if em.tagged(f, v)), key=lambda f: f.tag or 0)
            for f in tagged:
                lines.append(
                    f"{_var('f', d, f.py_name)}: {em.py_type(f)} = "
                    f"{em.default_literal(f, fresh=True)}"
                )
            lines += ["if b[p] == 0:", "    p += 1", f"    {unknown}: TaggedFields = ()", "else:"]
            lines.append(f"    tags{d}, p = r_tags(b, p)")
            if tagged:
                lines.append(f"    extra{d} = []")
                lines.append(f"    for tag{d}, t{d} in tags{d}:")
                for i, f in enumerate(tagged):
                    kw = "if" if i == 0 else "elif"
                    lines.append(f"        {kw} tag{d} == {f.tag}:")
                    lines.append(f"            q{d} = 0")
                    sub = self.decode_value(
                        f, v, _var("f", d, f.py_name), f"t{d}", f"q{d}", d, tagged=True
                    )
                    lines += ["            " + s for s in sub]
                lines.append("        else:")
                lines.append(f"            extra{d}.append((tag{d}, t{d}))")
                lines.append(f"    {unknown} = tuple(extra{d})")
            else:
                lines.append(f"    {unknown} = tuple(tags{d})")
        else:
            lines.append(f"{unknown} = ()")
        args = [
            _var("f", d, f.py_name) if v in f.versions else em.default_literal(f, fresh=True)
            for f in info.fields
        ]
        args.append(unknown)
        lines.append(f"{target} = {info.alias}({', '.join(args)})")
        return lines

    def _length(self, n: str, b: str, p: str, compact: bool, wide: bool) -> list[str]:
        """Read a length/count into ``n`` (-1 or less means null)."""
        if compact:  # one- and two-byte varints inline
            return [
                f"{n} = {b}[{p}]",
                f"if {n} < 0x80:",
                f"    {p} += 1",
                f"elif {b}[{p} + 1] < 0x80:",
                f"    {n} = ({n} & 0x7F) | ({b}[{p} + 1] << 7)",
                f"    {p} += 2",
                "else:",
                f"    {n}, {p} = r_uvarint({b}, {p})",
                f"{n} -= 1",
            ]
        const = "INT32" if wide else "INT16"
        return [f"{n} = {const}.unpack_from({b}, {p})[0]", f"{p} += {4 if wide else 2}"]

    def decode_value(
        self, f: FieldSpec, v: int, target: str, b: str, p: str, d: int, tagged: bool
    ) -> list[str]:
        em = self.em
        t = f.type
        flex = True if tagged else em.flexible(f, v)
        nullable = v in f.nullable_versions
        c = "c" if flex else ""
        null_stmt = f"{target} = None" if nullable else f"raise null_error({f.name!r})"
        if t.is_array:
            n = f"n{d}"
            out = self._length(n, b, p, flex, wide=True)
            blen = "blen" if b == "b" else f"len({b})"
            el = t.element
            if el.name in INT_ARRAY_ELEMENTS:
                # Short arrays first: the precompiled Struct checks the bounds itself.
                code, size = FIXED_FORMATS[el.name], FIXED_SIZES[el.name]
                return [
                    *out,
                    f"if 0 <= {n} < {SMALL_ARRAY}:",
                    f"    {target} = [*ARRAYS_{code}[{n}].unpack_from({b}, {p})]",
                    f"    {p} += {size} * {n}",
                    f"elif {n} < 0:",
                    f"    {null_stmt}",
                    "else:",
                    f"    {target}, {p} = r_fixed_array({b}, {p}, {n}, {code!r}, {size})",
                ]
            out += [
                f"if {n} < 0:",
                f"    {null_stmt}",
                f"elif {n} > {blen} - {p}:",
                f"    raise count_error({n}, {blen} - {p})",
                "else:",
            ]
            e = _var("e", d, f.py_name)
            out += [f"    {target} = []", f"    for _ in range({n}):"]
            if el.name == "string":
                body = self._string(e, b, p, d, compact=flex, nullable=False)
            elif el.name == "bytes":
                body = [f"{e}, {p} = r_{c}bytes({b}, {p})"]
            elif el.name == "uuid":
                body = [f"{e}, {p} = r_uuid({b}, {p})"]
            elif el.name == "bool":
                body = [f"{e} = {b}[{p}] != 0", f"{p} += 1"]
            elif el.is_struct:
                body = self._struct_decode(el.name, v, e, b, p, d)
            else:
                raise ValueError(f"unsupported array element {el}")
            out += ["        " + line for line in body]
            out.append(f"        {target}.append({e})")
            return out
        if t.is_struct:
            inner = self._struct_decode(t.name, v, target, b, p, d)
            if not nullable:
                return inner
            m = f"m{d}"
            if tagged:
                marker = [f"{m}, {p} = r_uvarint({b}, {p})", f"if {m} == 0:"]
            else:
                marker = [f"{m} = {b}[{p}]", f"{p} += 1", f"if {m} >= 0x80:"]
            return [*marker, f"    {target} = None", "else:", *("    " + s for s in inner)]
        nn = "n" if nullable else ""
        if t.name == "string":
            return self._string(target, b, p, d, compact=flex, nullable=nullable)
        if t.name == "bytes":
            return [f"{target}, {p} = r_{nn}{c}bytes({b}, {p})"]
        if t.name == "records":  # a zero-copy view of the frame
            r = f"r{d}"
            return [
                *self._length(r, b, p, flex, wide=True),
                f"if {r} < 0:",
                f"    {null_stmt}",
                "else:",
                f"    {r} += {p}",
                f"    if {r} > {'blen' if b == 'b' else f'len({b})'}:",
                f"        raise records_error({r} - {p})",
                f"    {target} = bv[{p} : {r}]",
                f"    {p} = {r}",
            ]
        if t.name == "uuid":
            return [f"{target}, {p} = r_uuid({b}, {p})"]
        if t.is_fixed:
            const = em.mod.struct_const(FIXED_FORMATS[t.name])
            return [f"{target} = {const}.unpack_from({b}, {p})[0]"]
        raise ValueError(f"unsupported type {t}")

    def _string(
        self, target: str, b: str, p: str, d: int, compact: bool, nullable: bool
    ) -> list[str]:
        nn = "n" if nullable else ""
        if not compact:
            return [f"{target}, {p} = r_{nn}str({b}, {p})"]
        n = f"s{d}"
        blen = "blen" if b == "b" else f"len({b})"
        fast = f"0 < {n} < 0x80 and {p} + {n} <= {blen}"
        fast_path = [f"    {target} = {b}[{p} + 1 : {p} + {n}].decode()", f"    {p} += {n}"]
        slow_path = [f"    {target}, {p} = r_{nn}cstr({b}, {p})"]
        if nullable:  # the Optional assignment first, so type checkers see the wide type
            return [f"{n} = {b}[{p}]", f"if not ({fast}):", *slow_path, "else:", *fast_path]
        return [f"{n} = {b}[{p}]", f"if {fast}:", *fast_path, "else:", *slow_path]

    def _struct_decode(self, name: str, v: int, target: str, b: str, p: str, d: int) -> list[str]:
        info = self.em.infos[name]
        if b == "b" and p == "p":
            saved = self._scopes
            inline = self.decode_struct(info, v, target, self._new_scope())
            if len(inline) <= INLINE_LIMIT:
                return inline
            self._scopes = saved
        fn = self.em.struct_fn(name, v, "dec")
        return [f"{target}, {p} = {fn}({b}, {p})"]

    # ------------------------------------------------------------------------------ encoding

    def encoder_body(self, info: StructInfo, v: int) -> str:
        self._scopes = 0
        lines = self.encode_struct(info, v, "o", "out", 0)
        return "\n".join("    " + line for line in lines)

    def nondefault(self, f: FieldSpec, src: str) -> str:
        t = f.type
        if f.default_is_null or t.name == "records":
            return f"{src} is not None"
        if t.is_array or t.name == "bytes":
            if f.nullable_versions.empty:
                return f"len({src}) != 0"
            return f"{src} is None or len({src}) != 0"
        return f"{src} != {self.em.default_literal(f, fresh=True)}"

    def encode_struct(self, info: StructInfo, v: int, src: str, out: str, d: int) -> list[str]:
        em = self.em
        lines: list[str] = []
        for f in info.fields:
            if v not in f.versions and not f.ignorable:
                lines.append(f"if {self.nondefault(f, f'{src}.{f.py_name}')}:")
                lines.append(f"    raise unsupported_field({f.py_name!r})")
        run: list[FieldSpec] = []

        def flush_run() -> None:
            if not run:
                return
            fmt = "".join(FIXED_FORMATS[f.type.name] for f in run)
            const = em.mod.struct_const(fmt)
            args = ", ".join(f"{src}.{f.py_name}" for f in run)
            lines.append(f"{out} += {const}.pack({args})")
            run.clear()

        for f in info.fields:
            if not em.regular(f, v):
                continue
            if f.type.is_fixed:
                run.append(f)
                continue
            flush_run()
            lines += self.encode_value(f, v, f"{src}.{f.py_name}", out, d, tagged=False)
        flush_run()
        unknown = f"{src}.unknown_tagged_fields"
        if em.flexible(None, v):
            tagged = sorted((f for f in info.fields if em.tagged(f, v)), key=lambda f: f.tag or 0)
            if not tagged:
                lines += [f"if {unknown}:", f"    w_tags({out}, [], {unknown})", "else:"]
                lines.append(f"    {out}.append(0)")
            else:
                tags = f"tags{d}"
                lines.append(f"{tags}: list[tuple[int, Buffer]] = []")
                for f in tagged:
                    value = f"{src}.{f.py_name}"
                    tbuf = f"t{d}"
                    lines.append(f"if {self.nondefault(f, value)}:")
                    lines.append(f"    {tbuf} = bytearray()")
                    sub = self.encode_value(f, v, value, tbuf, d, tagged=True)
                    lines += ["    " + s for s in sub]
                    lines.append(f"    {tags}.append(({f.tag}, {tbuf}))")
                lines.append(f"w_tags({out}, {tags}, {unknown})")
        else:
            lines += [f"if {unknown}:", "    raise unsupported_tags()"]
        return lines

    def encode_value(
        self, f: FieldSpec, v: int, src: str, out: str, d: int, tagged: bool
    ) -> list[str]:
        em = self.em
        t = f.type
        flex = True if tagged else em.flexible(f, v)
        nullable = v in f.nullable_versions
        c = "c" if flex else ""
        var = _var("x", d, f.py_name)
        e = _var("e", d, f.py_name)
        if t.is_array:
            lines = [f"{var} = {src}", f"if {var} is None:"]
            if nullable:
                lines.append(f"    {out}.append(0)" if flex else f"    {out} += NULL_INT32")
            else:
                lines.append(f"    raise null_encode_error({f.name!r})")
            lines.append("else:")
            if flex:
                n = f"n{d}"
                lines += [
                    f"    {n} = len({var}) + 1",
                    f"    if {n} < 0x80:",
                    f"        {out}.append({n})",
                    "    else:",
                    f"        w_uvarint({out}, {n})",
                ]
            else:
                lines.append(f"    {out} += INT32.pack(len({var}))")
            el = t.element
            if el.name in INT_ARRAY_ELEMENTS:
                code = FIXED_FORMATS[el.name]
                lines += [
                    f"    if len({var}) < {SMALL_ARRAY}:",
                    f"        {out} += ARRAYS_{code}[len({var})].pack(*{var})",
                    "    else:",
                    f"        w_fixed_array({out}, {var}, {code!r})",
                ]
                return lines
            if el.name == "string":
                body = [f"w_{c}str({out}, {e})"]
            elif el.name == "bytes":
                body = [f"w_{c}bytes({out}, {e})"]
            elif el.name == "uuid":
                body = [f"{out} += {e}.bytes"]
            elif el.name == "bool":
                body = [f"{out}.append(1 if {e} else 0)"]
            elif el.is_struct:
                body = self._struct_encode(el.name, v, e, out, d)
            else:
                raise ValueError(f"unsupported array element {el}")
            lines.append(f"    for {e} in {var}:")
            lines += ["        " + line for line in body]
            return lines
        if t.is_struct:
            if not nullable:
                lines = [f"{var} = {src}"]
                return lines + self._struct_encode(t.name, v, var, out, d)
            null_marker = "0" if tagged else "0xFF"
            return [
                f"{var} = {src}",
                f"if {var} is None:",
                f"    {out}.append({null_marker})",
                "else:",
                f"    {out}.append(1)",
                *("    " + s for s in self._struct_encode(t.name, v, var, out, d)),
            ]
        nn = "n" if nullable else ""
        if t.name == "string":
            return [f"w_{nn}{c}str({out}, {src})"]
        if t.name in ("bytes", "records"):
            return [f"w_{nn}{c}bytes({out}, {src})"]
        if t.name == "uuid":
            return [f"{out} += {src}.bytes"]
        if t.is_fixed:
            const = em.mod.struct_const(FIXED_FORMATS[t.name])
            return [f"{out} += {const}.pack({src})"]
        raise ValueError(f"unsupported type {t}")

    def _struct_encode(self, name: str, v: int, src: str, out: str, d: int) -> list[str]:
        info = self.em.infos[name]
        if out == "out":
            saved = self._scopes
            inline = self.encode_struct(info, v, src, out, self._new_scope())
            if len(inline) <= INLINE_LIMIT:
                return inline
            self._scopes = saved
        fn = self.em.struct_fn(name, v, "enc")
        return [f"{fn}({src}, {out})"]

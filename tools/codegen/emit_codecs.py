"""Emit the straight-line body of one struct's decoder or encoder at one version.

Speed comes from doing in generated code what an interpreter would do at run time:

- a decoder allocates each struct with ``object.__new__`` and stores every field straight into
  its slot as it reads it (no ``__init__`` call, no locals to shuffle);
- consecutive fixed-width fields (a uuid counts as 16 bytes) are one precompiled ``Struct``
  call, which also reads the first unit of the next field's length prefix (a varint's first
  byte, an int16 or int32 length) or of the tagged-field section, when one follows;
- varint lengths, strings and short integer arrays take an inline fast path (the uncommon
  cases call a helper in :mod:`rafka.protocol._codec`);
- small nested structs are inlined into the loop over their array, so an array of 1,000
  partitions costs no function call per element;
- an array of flat structs (fixed-width numbers and int arrays only, such as Metadata's
  partitions) whose elements after the first all have its shape is read with one
  ``Struct.iter_unpack`` (see ``CodecEmitter._bulk_rest``).

Safety is kept inline too: every array count is checked against the bytes that remain before
anything is allocated, and string and byte slices are bounds-checked. Each inlined struct gets
its own suffix for its locals (``h0``, ``e_name`` at the top, ``h1``, ``e1_name``, ... for
inlined structs), so inlined structs never clobber each other's locals.
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


#: The heads a fixed-width run may read ahead, by ``struct`` code, and the bytes they consume:
#: a varint's first byte or an int8 marker (``B``), an int16 string length (``h``), an int32
#: array/bytes length (``i``); ``BB`` also peeks at a varint's second byte (into ``c<scope>``,
#: not consumed): the length of bytes and records is usually over 127.
HEAD_SIZES = {"B": 1, "BB": 1, "h": 2, "i": 4}


def _plus(expr: str, term: int | str) -> str:
    """``expr + term`` as source, folding integer literals."""
    if isinstance(term, int):
        if term == 0:
            return expr
        return str(int(expr) + term) if expr.isdigit() else f"{expr} + {term}"
    return term if expr == "0" else f"{expr} + {term}"


def _var(prefix: str, depth: int, name: str) -> str:
    return f"{prefix}{depth or ''}_{name}"


def _in_run(f: FieldSpec) -> bool:
    """Whether a field is read as part of a run of fixed-width fields (a uuid is 16 bytes)."""
    return f.type.is_fixed or (f.type.name == "uuid" and not f.type.is_array)


def _run_format(f: FieldSpec) -> str:
    return FIXED_FORMATS[f.type.name] if f.type.is_fixed else "16s"


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
        """Decode one struct into ``target`` (a local name or an attribute of another struct).

        The instance is allocated first and every field is stored into its slot as it is read
        (see :data:`rafka.protocol._codec.new_struct`). A run of fixed-width fields also reads
        the first unit of the prefix of the field after it (or of the tagged-field section),
        its *head*, into ``h<scope>``, so a length prefix costs no call of its own.
        """
        em = self.em
        o = target if target.isidentifier() else f"o{d}"
        lines = [f"{o} = new_struct({info.alias})"]
        if o != target:
            lines.append(f"{target} = {o}")
        flexible = em.flexible(None, v)
        regular = [f for f in info.fields if em.regular(f, v)]
        head: str | None = None
        pending = 0  # bytes read by the last run that p does not count yet (``BB`` heads)
        i = 0
        while i < len(regular):
            f = regular[i]
            if not _in_run(f):
                lines += self.decode_value(
                    f, v, f"{o}.{f.py_name}", "b", "p", d, tagged=False, head=head, pending=pending
                )
                head, pending = None, 0
                i += 1
                continue
            j = i
            while j < len(regular) and _in_run(regular[j]):
                j += 1
            if j < len(regular):
                head = self._head_code(regular[j], v, flexible)
            else:
                head = "B" if flexible else None
            run_lines, size = self._read_run(regular[i:j], o, d, head)
            lines += run_lines
            if head == "BB":  # the bytes/records reader advances p once, by branch
                pending = size
            else:
                lines.append(f"p += {size}")
            i = j
        for f in info.fields:
            if v not in f.versions:
                lines.append(f"{o}.{f.py_name} = {em.default_literal(f, fresh=True)}")
        unknown = f"{o}.unknown_tagged_fields"
        if not flexible:
            lines.append(f"{unknown} = ()")
            return lines
        tagged = sorted((f for f in info.fields if em.tagged(f, v)), key=lambda f: f.tag or 0)
        for f in tagged:
            lines.append(f"{o}.{f.py_name} = {em.default_literal(f, fresh=True)}")
        if head is not None:
            lines += [f"if h{d} == 0:", f"    {unknown} = ()", "else:"]
            lines.append(f"    tags{d}, p = r_tags(b, p - 1)")
        else:
            lines += ["if b[p] == 0:", "    p += 1", f"    {unknown} = ()", "else:"]
            lines.append(f"    tags{d}, p = r_tags(b, p)")
        if tagged:
            lines.append(f"    extra{d} = []")
            lines.append(f"    for tag{d}, t{d} in tags{d}:")
            for k, f in enumerate(tagged):
                kw = "if" if k == 0 else "elif"
                lines.append(f"        {kw} tag{d} == {f.tag}:")
                lines.append(f"            q{d} = 0")
                sub = self.decode_value(
                    f, v, f"{o}.{f.py_name}", f"t{d}", f"q{d}", d, tagged=True, head=None
                )
                lines += ["            " + s for s in sub]
            lines.append("        else:")
            lines.append(f"            extra{d}.append((tag{d}, t{d}))")
            lines.append(f"    {unknown} = tuple(extra{d})")
        else:
            lines.append(f"    {unknown} = tuple(tags{d})")
        return lines

    def _read_run(
        self, run: list[FieldSpec], o: str, d: int, head_code: str | None
    ) -> tuple[list[str], int]:
        """One ``Struct`` call for a run of fixed-width fields (and the next field's head);
        returns the lines and the number of bytes they consume (``p`` is not advanced)."""
        fmt = "".join(_run_format(f) for f in run)
        size = sum(FIXED_SIZES[f.type.name] for f in run)
        targets = [f"{o}.{f.py_name}" if f.type.is_fixed else _var("u", d, f.py_name) for f in run]
        if head_code is not None:
            fmt += head_code
            size += HEAD_SIZES[head_code]
            targets.append(f"h{d}")
            if head_code == "BB":
                targets.append(f"c{d}")
        const = self.em.mod.struct_const(fmt)
        suffix = "[0]" if len(targets) == 1 else ""
        lines = [f"{', '.join(targets)} = {const}.unpack_from(b, p){suffix}"]
        for f in run:
            if not f.type.is_fixed:  # a uuid, read as 16 raw bytes
                lines.append(f"{o}.{f.py_name} = uuid_of({_var('u', d, f.py_name)})")
        return lines, size

    def _head_code(self, f: FieldSpec, v: int, flexible: bool) -> str | None:
        """The ``struct`` code of the first unit of ``f``'s encoding, if it is a prefix.

        A compact bytes/records length peeks at a second byte only in a flexible struct,
        where a tagged-field section always follows, so that byte exists in valid input."""
        t = f.type
        compact = self.em.flexible(f, v)
        if t.name in ("bytes", "records") and not t.is_array:
            return ("BB" if flexible else "B") if compact else "i"
        if t.is_array:
            return "B" if compact else "i"
        if t.name == "string":
            return "B" if compact else "h"
        if t.is_struct and v in f.nullable_versions:
            return "B"  # the int8 presence marker
        return None

    def _prefix(self, h: str, b: str, p: str, kind: str, head: str | None) -> list[str]:
        """Read a length prefix into ``h`` and move ``p`` past it.

        ``kind`` is ``uvarint`` (the raw value: length + 1, 0 is null), ``int16`` or
        ``int32``. With a ``head``, the prefix's first unit is already in ``h`` and ``p`` is
        past it (one- and two-byte varints finish inline; longer ones re-read in a helper).
        """
        if kind == "uvarint":
            lines = [] if head else [f"{h} = {b}[{p}]", f"{p} += 1"]
            return [
                *lines,
                f"if {h} >= 0x80:",
                f"    if {b}[{p}] < 0x80:",
                f"        {h} = ({h} & 0x7F) | ({b}[{p}] << 7)",
                f"        {p} += 1",
                "    else:",
                f"        {h}, {p} = r_uvarint({b}, {p} - 1)",
            ]
        if head:
            return []
        const = "INT32" if kind == "int32" else "INT16"
        return [f"{h} = {const}.unpack_from({b}, {p})[0]", f"{p} += {4 if kind == 'int32' else 2}"]

    def decode_value(
        self,
        f: FieldSpec,
        v: int,
        target: str,
        b: str,
        p: str,
        d: int,
        tagged: bool,
        head: str | None,
        pending: int = 0,
    ) -> list[str]:
        em = self.em
        t = f.type
        flex = True if tagged else em.flexible(f, v)
        nullable = v in f.nullable_versions
        null_stmt = f"{target} = None" if nullable else f"raise null_error({f.name!r})"
        blen = "blen" if b == "b" else f"len({b})"
        h = f"h{d}"
        if t.is_array:
            out = self._prefix(h, b, p, "uvarint" if flex else "int32", head)
            if flex:
                out.append(f"{h} -= 1")
            el = t.element
            if el.name in INT_ARRAY_ELEMENTS:
                # Short arrays first: the precompiled Struct checks the bounds itself.
                code, size = FIXED_FORMATS[el.name], FIXED_SIZES[el.name]
                return [
                    *out,
                    f"if 0 < {h} < {SMALL_ARRAY}:",
                    f"    {target} = [*ARRAYS_{code}[{h}].unpack_from({b}, {p})]",
                    f"    {p} += {size} * {h}",
                    f"elif {h} == 0:",
                    f"    {target} = []",
                    f"elif {h} < 0:",
                    f"    {null_stmt}",
                    "else:",
                    f"    {target}, {p} = r_fixed_array({b}, {p}, {h}, {code!r}, {size})",
                ]
            out += [
                f"if {h} < 0:",
                f"    {null_stmt}",
                f"elif {h} > {blen} - {p}:",
                f"    raise count_error({h}, {blen} - {p})",
                "else:",
            ]
            e = _var("e", d, f.py_name)
            items = _var("l", d, f.py_name)
            bulk = el.is_struct and flex and b == "b" and p == "p"
            flat = self._flat_fields(el.name, v) if bulk else None
            if flat is not None:
                body = self._struct_decode(el.name, v, e, b, p, d)
                out += [f"    {target} = {items} = []", f"    f{d} = p"]
                out.append(f"    for i{d} in range({h}):")
                out += ["        " + line for line in body]
                out.append(f"        {items}.append({e})")
                rest = self._bulk_rest(el.name, v, flat, e, items, d)
                out += ["        " + line for line in rest]
                return out
            out += [f"    {target} = {items} = []", f"    for _ in range({h}):"]
            if el.name == "string":
                body = self._string(e, b, p, d, compact=flex, nullable=False, head=None)
            elif el.name == "bytes":
                null_el = f"raise null_error({f.name!r})"
                body = self._sized(e, b, p, d, flex, null_el, None, 0, b, "bytes_error")
            elif el.name == "uuid":
                body = [f"{e}, {p} = r_uuid({b}, {p})"]
            elif el.name == "bool":
                body = [f"{e} = {b}[{p}] != 0", f"{p} += 1"]
            elif el.is_struct:
                body = self._struct_decode(el.name, v, e, b, p, d)
            else:
                raise ValueError(f"unsupported array element {el}")
            out += ["        " + line for line in body]
            out.append(f"        {items}.append({e})")
            return out
        if t.is_struct:
            inner = self._struct_decode(t.name, v, target, b, p, d)
            if not nullable:
                return inner
            if tagged:
                marker = [f"{h}, {p} = r_uvarint({b}, {p})", f"if {h} == 0:"]
            else:
                marker = [] if head else [f"{h} = {b}[{p}]", f"{p} += 1"]
                marker.append(f"if {h} >= 0x80:")
            return [*marker, f"    {target} = None", "else:", *("    " + s for s in inner)]
        if t.name == "string":
            return self._string(target, b, p, d, compact=flex, nullable=nullable, head=head)
        if t.name == "bytes":
            return self._sized(target, b, p, d, flex, null_stmt, head, pending, b, "bytes_error")
        if t.name == "records":  # a zero-copy view of the frame
            view = "bv" if b == "b" else f"memoryview({b})"
            return self._sized(
                target, b, p, d, flex, null_stmt, head, pending, view, "records_error"
            )
        if t.name == "uuid":
            return [f"{target}, {p} = r_uuid({b}, {p})"]
        if t.is_fixed:
            const = em.mod.struct_const(FIXED_FORMATS[t.name])
            return [f"{target} = {const}.unpack_from({b}, {p})[0]"]
        raise ValueError(f"unsupported type {t}")

    def _flat_fields(self, name: str, v: int) -> list[FieldSpec] | None:
        """The regular fields of struct ``name`` if every one is a fixed-width number or a
        compact, non-nullable integer array and the struct is flexible: then its elements have
        a fixed size for given array lengths and can be read in bulk (:meth:`_bulk_rest`)."""
        info = self.em.infos[name]
        if not self.em.flexible(None, v):
            return None
        regular = [f for f in info.fields if self.em.regular(f, v)]
        for f in regular:
            t = f.type
            if t.is_fixed:
                continue
            if (
                t.is_array
                and t.element.name in INT_ARRAY_ELEMENTS
                and self.em.flexible(f, v)
                and v not in f.nullable_versions
            ):
                continue
            return None
        return regular

    def _bulk_rest(
        self, name: str, v: int, fields: list[FieldSpec], e: str, items: str, d: int
    ) -> list[str]:
        """After the first element of an array of flat structs (decoded in full into ``e``,
        from ``f<d>``): when it was encoded in the shortest form (one-byte array lengths, no
        tagged fields) and every later element has the same array lengths and no tagged
        fields, read all of them with one ``Struct.iter_unpack`` and ``break`` the loop.

        Whether the later elements share the shape is checked on the bytes, one stepped slice
        per length prefix (and one for the tagged-field bytes), so a mismatch anywhere leaves
        the element-by-element loop to carry on (and to report errors as it does)."""
        em = self.em
        info = em.infos[name]
        arrays = [f for f in fields if f.type.is_array]
        n = [f"n{d}_{j}" for j in range(len(arrays))]
        fixed = sum(FIXED_SIZES[f.type.name] for f in fields if f.type.is_fixed)
        size_terms = [str(fixed + len(arrays) + 1)]
        size_terms += [f"{FIXED_SIZES[a.type.element.name]} * {n[j]}" for j, a in enumerate(arrays)]
        s, m, z, st = f"s{d}", f"m{d}", f"z{d}", f"st{d}"
        lines = [f"if i{d} == 0 and h{d} > 2:"]
        body = [f"{n[j]} = len({e}.{a.py_name})" for j, a in enumerate(arrays)]
        body += [f"{s} = {' + '.join(size_terms)}", f"{m} = h{d} - 1", f"{z} = p + {m} * {s}"]
        # offsets (within an element) of each array's length byte, then of the tag byte
        checks = [f"p - f{d} == {s}", f"{z} <= blen"]
        offset, fmt, index = "0", ">", "0"
        fixed_run = 0
        assigns: list[str] = []
        slices: list[str] = []
        for f in fields:
            if f.type.is_fixed:
                fmt += FIXED_FORMATS[f.type.name]
                fixed_run += FIXED_SIZES[f.type.name]
                assigns.append(f"{e}.{f.py_name} = x{d}[{index}]")
                index = _plus(index, 1)
                continue
            j = arrays.index(f)
            offset = _plus(offset, fixed_run)
            fixed_run = 0
            checks.append(f"b[p + {offset} : {z} : {s}].count({n[j]} + 1) == {m}")
            code = FIXED_FORMATS[f.type.element.name]
            fmt += f"B%d{code}"
            width = FIXED_SIZES[f.type.element.name]
            offset = _plus(offset, f"1 + {width} * {n[j]}" if width != 1 else f"1 + {n[j]}")
            start = _plus(index, 1)
            index = f"k{d}_{j}"
            slices.append(f"{index} = {start} + {n[j]}")
            slices.append(f"sl{d}_{j} = slice({start}, {index})")
            assigns.append(f"{e}.{f.py_name} = [*x{d}[sl{d}_{j}]]")
        checks.append(f"b[p + {s} - 1 : {z} : {s}].count(0) == {m}")
        fmt += "B"
        for f in info.fields:
            if v not in f.versions or em.tagged(f, v):
                assigns.append(f"{e}.{f.py_name} = {em.default_literal(f, fresh=True)}")
        assigns.append(f"{e}.unknown_tagged_fields = ()")
        shape = f" % ({', '.join(n)}{',' if len(n) == 1 else ''})" if n else ""
        body.append("if " + " and ".join(checks) + ":")
        inner = [f"{st} = bulk_struct({fmt!r}{shape})", *slices, f"a{d} = {items}.append"]
        inner.append(f"for x{d} in {st}.iter_unpack(bv[p : {z}]):")
        inner.append(f"    {e} = new_struct({info.alias})")
        inner += ["    " + a for a in assigns]
        inner.append(f"    a{d}({e})")
        inner += [f"p = {z}", "break"]
        body += ["    " + line for line in inner]
        return lines + ["    " + line for line in body]

    def _sized(
        self,
        target: str,
        b: str,
        p: str,
        d: int,
        compact: bool,
        null_stmt: str,
        head: str | None,
        pending: int,
        view: str,
        error: str,
    ) -> list[str]:
        """Bytes (``view`` is the buffer) or records (``view`` is a memoryview of it).

        With a ``BB`` head (a length of one or two varint bytes, both read by the run before
        it, which left ``p`` ``pending`` bytes behind), each branch computes the end of the
        value directly and advances ``p`` once."""
        h = f"h{d}"
        blen = "blen" if b == "b" else f"len({b})"
        if head == "BB":
            c = f"c{d}"
            return [
                f"if {h} < 0x80:",
                f"    {p} += {pending}",
                f"    {h} += {p} - 1",
                f"elif {c} < 0x80:",
                f"    {p} += {pending + 1}",
                f"    {h} = ({h} & 0x7F) + ({c} << 7) + {p} - 1",
                "else:",
                f"    {h}, {p} = r_uvarint({b}, {p} + {pending - 1})",
                f"    {h} += {p} - 1",
                f"if {h} < {p}:",
                f"    {null_stmt}",
                f"elif {h} > {blen}:",
                f"    raise {error}({h} - {p})",
                "else:",
                f"    {target} = {view}[{p} : {h}]",
                f"    {p} = {h}",
            ]
        out = self._prefix(h, b, p, "uvarint" if compact else "int32", head)
        if compact:
            out.append(f"{h} -= 1")
        return [
            *out,
            f"if {h} < 0:",
            f"    {null_stmt}",
            "else:",
            f"    {h} += {p}",
            f"    if {h} > {blen}:",
            f"        raise {error}({h} - {p})",
            f"    {target} = {view}[{p} : {h}]",
            f"    {p} = {h}",
        ]

    def _string(
        self,
        target: str,
        b: str,
        p: str,
        d: int,
        compact: bool,
        nullable: bool,
        head: str | None,
    ) -> list[str]:
        """A string: an inline fast path for the common case (a one-byte compact length or any
        int16 length that fits), else a helper that raises the right error or reads a long
        varint length."""
        nn = "n" if nullable else ""
        h, z = f"h{d}", f"z{d}"
        blen = "blen" if b == "b" else f"len({b})"
        if compact:
            if head:  # p is past the length byte
                fast = f"0 < {h} < 0x80 and ({z} := {p} + {h} - 1) <= {blen}"
                value, rewind = f"{b}[{p} : {z}]", f"{p} - 1"
                lines = []
            else:
                fast = f"0 < {h} < 0x80 and ({z} := {p} + {h}) <= {blen}"
                value, rewind = f"{b}[{p} + 1 : {z}]", p
                lines = [f"{h} = {b}[{p}]"]
            slow = f"{target}, {p} = r_{nn}cstr({b}, {rewind})"
        else:
            lines = [] if head else [f"{h} = INT16.unpack_from({b}, {p})[0]", f"{p} += 2"]
            fast = f"{h} >= 0 and ({z} := {p} + {h}) <= {blen}"
            value = f"{b}[{p} : {z}]"
            slow = f"{target}, {p} = r_{nn}str({b}, {p} - 2)"
        return [
            *lines,
            f"if {fast}:",
            f"    {target} = {value}.decode()",
            f"    {p} = {z}",
            "else:",
            f"    {slow}",
        ]

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

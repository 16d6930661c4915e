"""A griffe extension for the docs site: rafka's reST-flavoured docstrings as Markdown.

rafka's docstrings are written for ``help()`` and Sphinx habits: ``:class:`~rafka.X``` roles,
``text::`` before an indented example, ``>>>`` sessions and simple ``===`` tables.
mkdocstrings renders Markdown, so before it does, each docstring is rewritten:

* a role becomes a cross-reference that links when the target is documented on the site and
  is plain code otherwise (autorefs' ``optional`` references never warn);
* ``text::`` becomes ``text:`` (the indented block after it is already a Markdown code block);
* a ``>>>`` session becomes a fenced ``pycon`` block;
* a simple table becomes a Markdown table.

Loaded by mkdocstrings (``extensions:`` in mkdocs.yml); nothing in rafka imports it.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|meth|func|mod|data|attr|exc|obj|const):`(~?)([\w.]+)(\(\))?`")
_BORDER = re.compile(r"^ *=+( +=+)+ *$")


class RstToMarkdown(griffe.Extension):
    """Rewrites every docstring once the object tree is complete."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value, obj)


def to_markdown(text: str, scope: griffe.Object | None = None) -> str:
    """``text`` (a docstring's value) with reST idioms replaced by their Markdown twins."""
    text = _ROLE.sub(lambda m: _reference(m, scope), text)
    text = re.sub(r"(\S) ?::$", r"\1:", text, flags=re.MULTILINE)
    return "\n".join(_tables(_sessions(text.splitlines())))


def _reference(match: re.Match[str], scope: griffe.Object | None) -> str:
    short, target, call = match.group(1), match.group(2), match.group(3) or ""
    title = target.rsplit(".", 1)[-1] if short else target
    head, _, rest = target.partition(".")
    identifier = target
    if scope is not None and not target.startswith("rafka."):
        with contextlib.suppress(griffe.NameResolutionError, ValueError):
            identifier = scope.resolve(head) + (f".{rest}" if rest else "")
    return f'<autoref identifier="{identifier}" optional><code>{title}{call}</code></autoref>'


def _sessions(lines: list[str]) -> list[str]:
    """Fence each run of ``>>>`` lines (with their ``...`` continuations and output)."""
    out: list[str] = []
    in_session = False
    for line in lines:
        if line.lstrip().startswith(">>>") and not in_session:
            out.append("```pycon")
            in_session = True
        elif in_session and not line.strip():
            out.append("```")
            in_session = False
        out.append(re.sub(r"\s*# doctest:.*$", "", line) if in_session else line)
    if in_session:
        out.append("```")
    return out


def _tables(lines: list[str]) -> list[str]:
    """Turn each reST simple table (``===  ===`` borders) into a Markdown table."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        end = _table_end(lines, i)
        if end is None:
            out.append(lines[i])
            i += 1
            continue
        starts = [m.start() for m in re.finditer(r"=+", lines[i])]
        header: list[list[str]] = []
        rows: list[list[str]] = []
        for line in lines[i + 1 : end]:
            if _BORDER.match(line):  # the rows so far were the header
                header, rows = rows, []
                continue
            cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
            if rows and cells[0] in ("", "..."):  # a continuation line
                rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
            else:
                rows.append(cells)
        head = [" / ".join(column) for column in zip(*header, strict=True)] or [" "] * len(starts)
        out.extend(["| " + " | ".join(head) + " |", "|" + " --- |" * len(starts)])
        out.extend("| " + " | ".join(row) + " |" for row in rows)
        i = end + 1
    return out


def _table_end(lines: list[str], i: int) -> int | None:
    """The index of the closing border of a table that opens at line ``i``, if one does."""
    if not _BORDER.match(lines[i]):
        return None
    for j in range(i + 1, len(lines)):
        if not lines[j].strip():
            return None
        if _BORDER.match(lines[j]) and (j + 1 == len(lines) or not lines[j + 1].strip()):
            return j
    return None

"""Imports point one way: protocol <- storage <- cluster <- server; clients use protocol only."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "rafka"

#: Which rafka packages each layer may import (itself included).
ALLOWED = {
    "protocol": {"protocol", "errors"},
    "storage": {"protocol", "errors", "storage"},
    "cluster": {"protocol", "errors", "storage", "cluster"},
    "server": {"protocol", "errors", "storage", "cluster", "server"},
    "clients": {"protocol", "errors", "clients"},
    "errors": {"errors"},
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "rafka":
            names = [f"rafka.{alias.name}" for alias in node.names]  # from rafka import errors
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "rafka" and len(parts) > 1:
                found.add(parts[1])
            elif parts[0] == "rafka":
                found.add("")
    return found


def test_imports_point_one_way() -> None:
    wrong = []
    for layer, allowed in ALLOWED.items():
        for path in sorted((ROOT / layer).rglob("*.py")):
            for target in _imports(path) - allowed - {"_version"}:
                wrong.append(f"{path.relative_to(ROOT.parent)} imports rafka.{target}")
    assert not wrong, "\n".join(wrong)

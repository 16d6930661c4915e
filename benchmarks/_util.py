"""Shared timing and reporting for rafka's benchmarks (``make bench``; not tests)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any


def best_rate(
    fn: Callable[[], Any], *, units: float = 1.0, min_time: float = 0.2, repeat: int = 5
) -> float:
    """Operations (times ``units``) per second of ``fn``: the best of ``repeat`` rounds,
    each round running ``fn`` enough times to take at least ``min_time`` seconds."""
    fn()  # warm up (imports, caches)
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time / 4:
            break
        loops *= 2
    loops = max(1, int(loops * (min_time / max(elapsed, 1e-9))))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, (time.perf_counter() - start) / loops)
    return units / best


def row(name: str, unit: str, rafka: float, peer: float | None, peer_name: str) -> dict[str, Any]:
    return {
        "name": name,
        "unit": unit,
        "rafka": rafka,
        "peer": peer,
        "peer_name": peer_name,
        "ratio": (rafka / peer) if peer else None,
    }


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def print_table(title: str, rows: Sequence[dict[str, Any]]) -> None:
    print(f"\n## {title}\n")
    print("| benchmark | unit | rafka | peer | peer value | rafka/peer |")
    print("| --- | --- | ---: | --- | ---: | ---: |")
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        print(
            f"| {r['name']} | {r['unit']} | {_fmt(r['rafka'])} | {r['peer_name']} "
            f"| {_fmt(r['peer'])} | {ratio} |"
        )

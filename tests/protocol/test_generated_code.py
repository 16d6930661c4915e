"""The committed generated modules are exactly what the generator writes from the specs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str, path: Path):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(path.parent))


def test_generated_code_is_up_to_date() -> None:
    peers = _load("peers", ROOT / "tools/peers.py")
    try:
        specs = peers.specs_dir()
    except peers.PeerUnavailable as exc:
        if peers.in_ci():
            pytest.fail(f"CI=true and the specs are unavailable: {exc}")
        pytest.skip(f"Apache Kafka specs unavailable: {exc}")
    generator = _load("generate_protocol", ROOT / "tools/generate_protocol.py")
    outputs = generator.render_all(specs, f"Apache Kafka {peers.KAFKA_RELEASE}")
    stale = [str(p) for p, text in outputs.items() if (ROOT / p).read_text() != text]
    stale += [str(p) for p in generator.stale_files(outputs)]
    assert not stale, "run `make generate`: stale generated files: " + ", ".join(stale)


def test_shared_specs_agree_with_the_pinned_release() -> None:
    """Every message in ../shared/kafka-specs (4.0 development line) decodes its own default
    bytes with rafka's classes at the versions both know: the two spec sets are compatible."""
    shared = ROOT.parent / "shared" / "kafka-specs" / "message"
    if not shared.is_dir():
        pytest.skip("../shared/kafka-specs is not present")
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from codegen.spec import load_spec
    finally:
        sys.path.remove(str(ROOT / "tools"))
    from rafka.protocol import messages

    checked = 0
    for path in sorted(shared.glob("*.json")):
        spec = load_spec(path, "message")
        cls = getattr(messages, spec.name, None)
        if cls is None or spec.valid_versions.empty:
            continue
        both = range(
            max(spec.valid_versions.lo, cls.MIN_VERSION),
            min(spec.valid_versions.hi, cls.MAX_VERSION) + 1,
        )
        shared_fields = {f.py_name for f in spec.struct.fields}
        ours = {f.name for f in cls._SCHEMA}
        assert shared_fields <= ours, (spec.name, shared_fields - ours)
        for version in both:
            assert cls.decode(cls().encode(version), version) == cls()
            checked += 1
    assert checked > 400

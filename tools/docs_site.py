"""MkDocs hooks for the docs site: pages generated from rafka's own registries at build time.

``mkdocs build`` (``make docs``) adds these pages to the site; none of them exists on disk,
so none can go stale:

* ``configuration.md``: every broker property (:data:`rafka.cluster.config.BROKER_CONFIG_KEYS`),
  topic config (:data:`rafka.storage.log_config.CONFIG_KEYS`) and client setting
  (:mod:`rafka.clients.config`) with its type, default and accepted values;
* ``compatibility.md``: every Kafka API key, with the versions in Kafka 4.1.1's specs
  (``API_SPECS``), those a Kafka 4.1 broker advertises (:mod:`rafka.cluster.kafka_versions`)
  and those rafka's broker advertises (``Broker.api_versions()``); the clients, tools and test
  modules of the interop suite, read from ``tests/`` without importing it;
* ``reference/errors.md``: the error base classes (mkdocstrings) and every Kafka error code.

The page functions return Markdown and import nothing of MkDocs, so ``tests/test_docs.py``
can check them without building the site.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files

ROOT = Path(__file__).resolve().parent.parent
_INT_MAX = (1 << 31) - 1
_LONG_MAX = (1 << 63) - 1


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """MkDocs hook: add the generated pages."""
    from mkdocs.structure.files import File

    for src_uri, page in PAGES.items():
        files.append(File.generated(config, src_uri, content=page()))
    return files


# ------------------------------------------------------------------------------ Markdown


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def code(text: object) -> str:
    return f"`{text}`"


def value(raw: Any) -> str:
    """A default as Kafka's documentation prints it."""
    if raw is None:
        return "null"
    if raw == "":
        return '`""` (empty)'
    if isinstance(raw, bool):
        return code(str(raw).lower())
    if isinstance(raw, list | tuple):
        return code(",".join(map(str, raw))) if raw else '`""` (empty)'
    if raw == _LONG_MAX:
        return f"{code(raw)} (Long.MAX_VALUE)"
    if raw == _INT_MAX:
        return f"{code(raw)} (Integer.MAX_VALUE)"
    return code(raw)


def versions(span: tuple[int, int] | None) -> str:
    if span is None or span[1] < span[0]:
        return ""
    return f"{span[0]}" if span[0] == span[1] else f"{span[0]}-{span[1]}"


# ------------------------------------------------------------------------- configuration


def configuration_page() -> str:
    from rafka.clients.config import ADMIN_KEYS, CONSUMER_KEYS, PRODUCER_KEYS, Key
    from rafka.cluster.config import BROKER_CONFIG_KEYS, TOPIC_CONFIG_KEYS
    from rafka.cluster.configs import DYNAMIC_BROKER_CONFIGS

    feeds = {p: k.name for k in TOPIC_CONFIG_KEYS.values() for p in k.server_default_properties}
    broker_rows = [
        [
            code(key.name),
            key.type,
            value(key.default),
            key.valid_values,
            "yes" if key.name in DYNAMIC_BROKER_CONFIGS else "",
            f"default of [{code(feeds[key.name])}](#{_slug(feeds[key.name])})"
            if key.name in feeds
            else "",
        ]
        for key in BROKER_CONFIG_KEYS.values()
    ]
    unmodelled = sorted(DYNAMIC_BROKER_CONFIGS - BROKER_CONFIG_KEYS.keys())
    topic_rows = [
        [
            f'<span id="{_slug(key.name)}"></span>{code(key.name)}',
            key.type,
            value(key.default),
            key.valid_values,
            ", ".join(map(code, key.server_default_properties)),
        ]
        for key in TOPIC_CONFIG_KEYS.values()
        if not key.internal
    ]

    def accepted(key: Key) -> str:
        if key.choices:
            return "one of " + ", ".join(map(code, key.choices))
        if key.low is not None and key.high is not None:
            return f"[{key.low}, {key.high}]"
        return f"at least {key.low}" if key.low is not None else ""

    def client_table(keys: Mapping[str, Key]) -> str:
        header = ["Setting", "Keyword", "Type", "Default", "Valid values"]
        rows = [
            [code(k.name), code(k.name.replace(".", "_")), k.type, value(k.default), accepted(k)]
            for k in keys.values()
        ]
        return table(header, rows)

    return f"""# Configuration reference

Generated from rafka's registries when the site is built, so it lists exactly what this
version accepts, with the defaults it applies. Names, types and units are Apache Kafka 4.1's.
Unknown names and invalid values fail at once with `rafka.errors.ConfigError` (a topic config
over the wire gets Kafka's `INVALID_CONFIG`).

## Broker properties

Given when the cluster is created, by Kafka's names:
`rafka.Cluster(config={{"num.partitions": 3}})`, `rafka serve --config num.partitions=3`, or a
test's `@pytest.mark.rafka(config={{...}})`. Properties that default a topic config apply to
every topic that does not override it.

Those marked *dynamic* are Kafka's dynamically updatable ones: `AlterConfigs` and
`IncrementalAlterConfigs` (`kafka-configs --alter --entity-type brokers`) set them on a
running cluster, for one broker or as the cluster default, and `DescribeConfigs` reports them
with their source. The topic defaults among them take effect in topics' logs, layered as Kafka
layers them; the rest of rafka reads the value the cluster was created with.

{table(["Property", "Type", "Default", "Valid values", "Dynamic", "Notes"], broker_rows)}
Kafka's other dynamic broker configs are accepted by `AlterConfigs` and
`IncrementalAlterConfigs` with Kafka's types and validation, stored, and described back, but
have no effect in rafka: {", ".join(map(code, unmodelled))}.

## Topic configs

Set when a topic is created (`Admin.create_topics`, `kafka-topics --config`) or later
(`Admin.incremental_alter_configs`, `kafka-configs --alter --entity-type topics`). A topic
without an override takes the broker property in the last column, then Kafka's default.

{table(["Config", "Type", "Default", "Valid values", "Broker property"], topic_rows)}
## Client settings

rafka's `Producer`, `Consumer` and `Admin` (and their async twins) take Kafka's names in a
dict or as keywords: `rafka.Producer(config={{"linger.ms": 10}})` and
`rafka.Producer(linger_ms=10)` are the same. See [clients](clients.md).

### Producer

{client_table(PRODUCER_KEYS)}
### Consumer

{client_table(CONSUMER_KEYS)}
### Admin

{client_table(ADMIN_KEYS)}"""


def _slug(name: str) -> str:
    return "topic-" + name.replace(".", "-")


# ------------------------------------------------------------------------- compatibility


def compatibility_page() -> str:
    from rafka.cluster.emulation import release_lines
    from rafka.cluster.kafka_versions import RELEASES
    from rafka.embedded import AsyncCluster
    from rafka.protocol.messages import API_SPECS, KAFKA_RELEASE

    broker = AsyncCluster().brokers[1]  # never started: nothing runs
    served = {key: (lo, hi) for key, lo, hi in broker.api_versions()}
    line = ".".join(KAFKA_RELEASE.split(".")[:2])
    kafka_patch, kafka = RELEASES[line]
    rows = []
    for key, spec in sorted(API_SPECS.items()):
        ours, theirs = served.get(key), kafka.get(key)
        handler = broker.handlers.get(key)
        if ours == theirs and ours is not None:
            note = "same as Kafka"
        elif ours is not None and theirs is not None and ours[0] > theirs[0]:
            note = f"Kafka advertises v{theirs[0]}-{ours[0] - 1}, which its specs no longer define"
        elif ours is not None:
            note = "narrower than Kafka"
        elif spec.module is None:
            note = "removed (ZooKeeper-era inter-broker API)"
        elif theirs is not None:
            note = "not served yet"
        elif spec.listeners == ("controller",):
            note = "KRaft controllers only"
        elif spec.latest_version_unstable:
            note = f"unstable in Kafka {line}: not advertised by default"
        else:
            note = "not advertised by a default Kafka broker"
        if handler is not None and ours is not None and handler.max_version > ours[1]:
            note += (
                f"; v{handler.max_version} is served with "
                "`unstable.api.versions.enable=true`, as Kafka does"
            )
        spec_span = (spec.min_version, spec.max_version)
        rows.append(
            [str(key), spec.name, versions(spec_span), versions(theirs), versions(ours), note]
        )
    same = sum(1 for key, span in served.items() if kafka.get(key) == span)
    missing = sorted(kafka.keys() - served.keys())
    emulated = release_lines()
    header = [
        "Key",
        "API",
        f"Kafka {KAFKA_RELEASE} specs",
        f"Kafka {line} broker",
        "rafka broker",
        "Notes",
    ]
    return f"""# Compatibility

Generated from the code when the site is built.

## Kafka APIs

rafka's protocol layer encodes and decodes every version of every API in Apache Kafka
{KAFKA_RELEASE}'s message specs, checked byte for byte against Kafka's own serializers. Its
broker serves the APIs below and advertises, in `ApiVersions`, exactly the versions it serves.
The columns:

- **Kafka {KAFKA_RELEASE} specs**: the versions the message specs define (including unstable
  ones), all of which `rafka.protocol` reads and writes;
- **Kafka {line} broker**: what a Kafka {line} KRaft broker with default configs advertises (taken
  from {kafka_patch}'s own code by `tools/kafka_versions.py`; patch releases do not change the
  protocol, and `tests/interop/test_api_versions_parity.py` compares rafka with a live
  {KAFKA_RELEASE} broker);
- **rafka broker**: what rafka's broker advertises (`Broker.api_versions()`).

rafka's broker serves {len(served)} APIs, {same} of them with exactly Kafka's versions; a Kafka
{line} broker advertises {len(missing)} more, marked *not served yet*. With
`rafka.Cluster(kafka_version=...)` rafka's brokers advertise what an older release did
({emulated[0]} to {emulated[-1]}; see
[emulating older Kafka versions](testing.md#emulating-older-kafka-versions)).

{table(header, rows)}
{_clients_section()}"""


#: Where each client peer's version is pinned, by its name in tests/peers/kafka_fixtures.py.
_CLIENT_SOURCES: dict[str, tuple[str, Callable[[], str]]] = {
    "java": (
        "Apache Kafka's Java client (`KafkaProducer`, `KafkaConsumer`, `Admin`)",
        lambda: f"kafka-clients {_assigned('tools/peers.py', 'KAFKA_RELEASE')}",
    ),
    "franz-go": ("Go", lambda: f"franz-go {_go_module('github.com/twmb/franz-go')}"),
    "confluent-kafka": ("librdkafka, through Python", lambda: _python_pin("confluent-kafka")),
    "kafka-python": ("pure Python", lambda: _python_pin("kafka-python")),
    "aiokafka": ("Python, asyncio", lambda: _python_pin("aiokafka")),
}

_PEER_USE = re.compile(
    r"peer_client|kafka_cli|kafka_broker|java_clients|go_clients|confluent_kafka|aiokafka"
    r"|from kafka import"
)


def _clients_section() -> str:
    clients = _assigned("tests/peers/kafka_fixtures.py", "CLIENT_NAMES")
    client_rows = []
    for name in clients:
        what, version = _CLIENT_SOURCES.get(name, ("", lambda: "see `tests/peers/`"))
        client_rows.append([code(name), what, version()])
    tools = _assigned("tests/peers/kafka_broker.py", "CLI_TOOLS")
    modules = sorted(
        path
        for path in (ROOT / "tests").rglob("test_*.py")
        if "peers" not in path.relative_to(ROOT).parts and path.name != "test_reference_broker.py"
    )
    tool_rows, module_rows = [], []
    for tool in tools:
        users = [p for p in modules if f'"{tool}"' in p.read_text()]
        if users:
            tool_rows.append([code(tool), ", ".join(code(_rel(p)) for p in users)])
    for path in modules:
        if _PEER_USE.search(path.read_text()):
            doc = ast.get_docstring(ast.parse(path.read_text())) or ""
            module_rows.append([code(_rel(path)), " ".join(doc.split("\n\n")[0].split())])
    harnesses = sorted(
        code(_rel(path.parent) + "/")
        for path in (ROOT / "tests").rglob("conftest.py")
        if _PEER_USE.search(path.read_text())
    )
    bugs = [
        [code(_rel(path)), code(str(case)), reason]
        for path in sorted((ROOT / "tests" / "interop").glob("test_*.py"))
        for case, reason in (_assigned(_rel(path), "RAFKA_BUGS") or {}).items()
    ]
    known = table(["Test module", "Case", "Difference"], bugs) if bugs else "None recorded.\n"
    return f"""## Clients and tools

The interop suite (`tests/interop/`, `tests/peers/`) runs real Kafka clients against rafka
(one broker and three) and against an Apache Kafka broker of the pinned release, and compares
what they observe. With `CI=true` a client that cannot run is a failure, not a skip.

{table(["Client", "What it is", "Version"], client_rows)}
The Python clients are the newest releases that meet the constraint when `.[test]` is
installed; the Java client, its CLI tools and the reference broker come from Maven Central.

Apache Kafka's command-line tools run against rafka from the same release's jars:

{table(["Tool", "Test modules"], tool_rows)}
### Test modules that run a real client, tool or broker

{table(["Module", "What it checks"], module_rows)}
The harnesses of {", ".join(harnesses)} (their `conftest.py`) also run scenarios against the
reference broker, with the same assertions as against rafka.

### Known differences

Cases where rafka's answer differs from Kafka's on purpose or by a known bug, each an
`xfail(strict=True)` in the suite (a fix turns it into a failure until the entry goes):

{known}"""


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _assigned(path: str, name: str) -> Any:
    """The literal assigned to ``name`` at the top level of a repository file (None if none),
    read without importing the file."""
    for node in ast.parse((ROOT / path).read_text()).body:
        if isinstance(node, ast.Assign):
            targets, assigned = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, assigned = [node.target], node.value
        else:
            continue
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            return ast.literal_eval(assigned)
    return None


def _go_module(module: str) -> str:
    match = re.search(
        rf"^\s*{re.escape(module)} (\S+)", (ROOT / "tests/go/kgo-peer/go.mod").read_text(), re.M
    )
    return match.group(1) if match else "?"


def _python_pin(dist: str) -> str:
    with (ROOT / "pyproject.toml").open("rb") as f:
        requirements = tomllib.load(f)["project"]["optional-dependencies"]["test"]
    return next((code(r) for r in requirements if re.match(rf"{dist}\b", r)), dist)


# ---------------------------------------------------------------------------------- errors


def errors_page() -> str:
    from rafka.errors import ERRORS_BY_CODE

    rows = [
        [
            str(code_),
            code(cls.name),
            code(cls.__name__),
            "yes" if cls.retriable else "",
            cls.description,
        ]
        for code_, cls in sorted(ERRORS_BY_CODE.items())
    ]
    return f"""# Errors

Every error rafka raises derives from `RafkaError`; errors with a Kafka error code derive from
`KafkaError`, one class per code (generated from `tools/codegen/error_codes.tsv`).

::: rafka.errors
    options:
      show_root_heading: false

## Error codes

Generated from `rafka.errors.ERRORS_BY_CODE`: each class is importable from `rafka.errors`.

{table(["Code", "Kafka name", "Class", "Retriable", "Description"], rows)}"""


PAGES: dict[str, Callable[[], str]] = {
    "configuration.md": configuration_page,
    "compatibility.md": compatibility_page,
    "reference/errors.md": errors_page,
}

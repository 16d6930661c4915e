"""The generated Kafka error classes: table facts, lookup by code, and staleness."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rafka import errors
from rafka.errors import _codes

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "tools" / "codegen" / "error_codes.tsv"
CODES_MODULE = REPO / "rafka" / "errors" / "_codes.py"


def _load_generator() -> ModuleType:
    # tools/ is not a package on sys.path; load the generator straight from its file.
    spec = importlib.util.spec_from_file_location(
        "_rafka_codegen_errors", REPO / "tools" / "codegen" / "errors.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while building classes
    spec.loader.exec_module(module)
    return module


codegen = _load_generator()
ROWS = codegen.read_error_table(TABLE)
ERROR_ROWS = [row for row in ROWS if row.code != 0]


def test_table_is_contiguous_from_minus_one() -> None:
    codes = [row.code for row in ROWS]
    assert codes == list(range(-1, max(codes) + 1))
    assert max(codes) >= 133


@pytest.mark.parametrize("row", ERROR_ROWS, ids=lambda row: row.name)
def test_for_code_round_trips_every_code(row: Any) -> None:
    cls = errors.for_code(row.code)
    assert cls is errors.ERRORS_BY_CODE[row.code]
    assert issubclass(cls, errors.KafkaError)
    assert (cls.code, cls.name, cls.retriable, cls.description) == (
        row.code,
        row.name,
        row.retriable,
        row.description,
    )
    assert cls.__name__ == row.class_name
    assert getattr(errors, cls.__name__) is cls
    assert _codes.ERROR_NAMES[row.code] == row.name


def test_lookup_tables_cover_the_table() -> None:
    assert set(errors.ERRORS_BY_CODE) == {row.code for row in ERROR_ROWS}
    assert 0 not in errors.ERRORS_BY_CODE
    assert {row.code: row.name for row in ROWS} == _codes.ERROR_NAMES
    assert _codes.ERROR_NAMES[0] == "NONE"
    exported = set(_codes.__all__)
    assert {"ERRORS_BY_CODE", "ERROR_NAMES", "for_code"} <= exported
    assert {cls.__name__ for cls in errors.ERRORS_BY_CODE.values()} <= exported


@pytest.mark.parametrize(
    ("code", "name", "class_name", "retriable"),
    [
        (-1, "UNKNOWN_SERVER_ERROR", "UnknownServerError", False),
        (2, "CORRUPT_MESSAGE", "CorruptMessageError", True),
        (3, "UNKNOWN_TOPIC_OR_PARTITION", "UnknownTopicOrPartitionError", True),
        (6, "NOT_LEADER_OR_FOLLOWER", "NotLeaderOrFollowerError", True),
        (7, "REQUEST_TIMED_OUT", "RequestTimedOutError", True),
        (16, "NOT_COORDINATOR", "NotCoordinatorError", True),
        (29, "TOPIC_AUTHORIZATION_FAILED", "TopicAuthorizationFailedError", False),
        (35, "UNSUPPORTED_VERSION", "UnsupportedVersionError", False),
        (36, "TOPIC_ALREADY_EXISTS", "TopicAlreadyExistsError", False),
        (56, "KAFKA_STORAGE_ERROR", "KafkaStorageError", True),
        (87, "INVALID_RECORD", "InvalidRecordError", False),
        (90, "PRODUCER_FENCED", "ProducerFencedError", False),
        (100, "UNKNOWN_TOPIC_ID", "UnknownTopicIdError", True),
    ],
)
def test_known_facts(code: int, name: str, class_name: str, retriable: bool) -> None:
    cls = errors.for_code(code)
    assert cls.name == name
    assert cls.__name__ == class_name
    assert cls.retriable is retriable


def test_for_code_unknown_code_makes_a_cached_class() -> None:
    cls = errors.for_code(9999)
    assert issubclass(cls, errors.KafkaError)
    assert cls.code == 9999
    assert cls.name == "UNKNOWN_CODE_9999"
    assert cls.retriable is False
    assert cls.__name__ == "UnknownCode9999Error"
    assert errors.for_code(9999) is cls
    assert 9999 not in errors.ERRORS_BY_CODE
    negative = errors.for_code(-32768)
    assert negative.name == "UNKNOWN_CODE_-32768"
    assert negative.__name__.isidentifier()
    with pytest.raises(errors.KafkaError, match=r"UNKNOWN_CODE_9999 \(9999\)"):
        raise cls()


def test_for_code_zero_does_not_raise() -> None:
    cls = errors.for_code(0)
    assert issubclass(cls, errors.KafkaError)
    assert (cls.code, cls.name) == (0, "NONE")


def test_raising_an_instance_names_the_error() -> None:
    with pytest.raises(errors.KafkaError) as caught:
        raise errors.for_code(3)()
    text = str(caught.value)
    assert "UNKNOWN_TOPIC_OR_PARTITION" in text
    assert "3" in text
    assert caught.value.message == errors.for_code(3).description

    with pytest.raises(
        _codes.NotLeaderOrFollowerError, match=r"NOT_LEADER_OR_FOLLOWER \(6\).*partition 0"
    ):
        raise _codes.NotLeaderOrFollowerError("partition 0 moved")


def test_class_names_do_not_double_the_suffix() -> None:
    assert codegen.class_name_for("UNKNOWN_SERVER_ERROR") == "UnknownServerError"
    assert codegen.class_name_for("FETCH_SESSION_TOPIC_ID_ERROR") == "FetchSessionTopicIdError"
    assert codegen.class_name_for("UNKNOWN_TOPIC_OR_PARTITION") == "UnknownTopicOrPartitionError"
    assert not any(cls.__name__.endswith("ErrorError") for cls in errors.ERRORS_BY_CODE.values())


def test_generated_module_is_up_to_date() -> None:
    rendered = codegen.render_error_classes(TABLE)
    assert rendered == codegen.render_error_classes(TABLE)  # deterministic
    assert CODES_MODULE.read_text(encoding="utf-8") == rendered, (
        "rafka/errors/_codes.py is stale; run python tools/codegen/errors.py"
    )


def test_table_rejects_bad_rows(tmp_path: Path) -> None:
    header = "code\tname\tretriable\tdescription\n"
    none = "0\tNONE\tfalse\tNo error.\n"
    bad_tables = [
        "code\tname\tdescription\n" + none,
        header + none + "1\tOFFSET_OUT_OF_RANGE\tyes\tBad flag.\n",
        header + none + "x\tOFFSET_OUT_OF_RANGE\tfalse\tBad code.\n",
        header + none + "1\tA\tfalse\tOne.\n" + "1\tB\tfalse\tTwo.\n",
        header + none + "1\tlower_case\tfalse\tBad name.\n",
        header + "1\tOFFSET_OUT_OF_RANGE\tfalse\tNo NONE row.\n",
    ]
    for index, text in enumerate(bad_tables):
        path = tmp_path / f"bad{index}.tsv"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError):
            codegen.read_error_table(path)

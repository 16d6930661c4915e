"""The docs site's generated pages cover rafka's registries (the site itself: ``make docs``)."""

from __future__ import annotations

import re

import pytest

from rafka.clients.config import ADMIN_KEYS, CONSUMER_KEYS, PRODUCER_KEYS
from rafka.cluster.config import BROKER_CONFIG_KEYS, TOPIC_CONFIG_KEYS
from rafka.protocol.messages import API_SPECS
from tools import docs_site


def rows(page: str) -> list[list[str]]:
    """The cells of every Markdown table row of ``page``."""
    return [
        [cell.strip() for cell in line.strip("|").split(" | ")]
        for line in page.splitlines()
        if line.startswith("| ") and not line.startswith("| ---")
    ]


def test_configuration_reference_lists_every_setting() -> None:
    page = docs_site.configuration_page()
    listed = [
        re.sub(r"<span[^>]*></span>", "", row[0]).strip("`") for row in rows(page) if "`" in row[0]
    ]
    public_topic_keys = [k.name for k in TOPIC_CONFIG_KEYS.values() if not k.internal]
    for keys in (BROKER_CONFIG_KEYS, public_topic_keys, PRODUCER_KEYS, CONSUMER_KEYS, ADMIN_KEYS):
        assert set(keys) <= set(listed)
    assert len(listed) == len(
        [*BROKER_CONFIG_KEYS, *public_topic_keys, *PRODUCER_KEYS, *CONSUMER_KEYS, *ADMIN_KEYS]
    )


def test_compatibility_matrix_lists_every_api_with_what_rafka_serves() -> None:
    import rafka

    by_key = {int(row[0]): row for row in rows(docs_site.compatibility_page()) if row[0].isdigit()}
    assert by_key.keys() == API_SPECS.keys()
    served = rafka.AsyncCluster().brokers[1].api_versions()
    assert served
    for key, lo, hi in served:
        assert by_key[key][4] == (f"{lo}" if lo == hi else f"{lo}-{hi}")


def test_docstrings_become_markdown() -> None:
    pytest.importorskip("griffe")
    from tools.docs_griffe import to_markdown

    text = to_markdown(
        "See :class:`~rafka.Cluster` and :meth:`rafka.Cluster.advance`::\n\n"
        "    cluster.advance(5)\n\n"
        ">>> 1 + 1  # doctest: +SKIP\n2\n\n"
        "====  ====\nname  what\n====  ====\n``a``  one\n      more\n====  ====\n"
    )
    assert text.splitlines() == [
        'See <autoref identifier="rafka.Cluster" optional><code>Cluster</code></autoref> and '
        '<autoref identifier="rafka.Cluster.advance" optional>'
        "<code>rafka.Cluster.advance</code></autoref>:",
        "",
        "    cluster.advance(5)",
        "",
        "```pycon",
        ">>> 1 + 1",
        "2",
        "```",
        "",
        "| name | what |",
        "| --- | --- |",
        "| ``a`` | one more |",
    ]

# rafka developer entry points. Every target creates .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: test lint typecheck pytest docs generate bench serve peers clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

$(DOCS_STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e '.[docs]'
	touch $(DOCS_STAMP)

## Peers (Apache Kafka jars, Java programs, Go programs) cached under .peers/.
peers: $(STAMP)
	$(PY) tools/peers.py fetch

lint: $(STAMP)
	$(PY) -m ruff check rafka tests tools benchmarks examples
	$(PY) -m ruff format --check rafka tests tools benchmarks examples

typecheck: $(STAMP)
	$(PY) -m mypy

pytest: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

test: $(STAMP) peers lint typecheck docs pytest

## The documentation site, built into site/ (ignored by git) with warnings as errors.
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet

generate: $(STAMP)
	$(PY) tools/generate_protocol.py

bench: $(STAMP) peers
	$(PY) -m benchmarks $(BENCH_ARGS)

serve: $(STAMP)
	$(PY) -m rafka serve --port $${PORT:-9092} $(SERVE_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

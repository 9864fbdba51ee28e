# qanat's developer commands. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# What runs qanat, and no more (the demo, serve) …
RUN_STAMP := $(VENV)/.installed-run
# … and what tests and lints it: the test and dev extras, the example plugin.
DEV_STAMP := $(VENV)/.installed-dev
# `make demo DEMO_FLAGS=--no-serve` stops after the summary.
DEMO_FLAGS ?=

.PHONY: install install-run demo serve lint test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml examples/qanat-whatsapp/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,dev]' ./examples/qanat-whatsapp
	touch $@ $(RUN_STAMP)

install-run: $(RUN_STAMP)

install: $(DEV_STAMP)

demo: install-run
	$(BIN)/qanat demo $(DEMO_FLAGS)

serve: install-run
	$(BIN)/qanat serve

lint: install
	$(BIN)/ruff check qanat tests bench examples
	$(BIN)/ruff format --check qanat tests bench examples
	$(BIN)/mypy --strict qanat
	$(BIN)/lint-imports
	$(BIN)/python -m qanat.web.template_lint

# Test files run in parallel on every core (each worker has its own databases; see
# tests/conftest.py); `make test TEST_JOBS=0` runs them in one process.
TEST_JOBS ?= auto
test: install
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) qanat-data qanat-demo .pytest_cache .mypy_cache .ruff_cache

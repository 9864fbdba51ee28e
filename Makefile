# qanat's developer commands. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo serve lint test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]' ./examples/qanat-whatsapp
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/qanat demo

serve: install
	$(BIN)/qanat serve

lint: install
	$(BIN)/ruff check qanat tests bench examples
	$(BIN)/ruff format --check qanat tests bench examples
	$(BIN)/mypy --strict qanat
	$(BIN)/lint-imports

# Test files run in parallel on every core (each worker has its own databases; see
# tests/conftest.py); `make test TEST_JOBS=0` runs them in one process.
TEST_JOBS ?= auto
test: install
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) qanat-demo .pytest_cache .mypy_cache .ruff_cache

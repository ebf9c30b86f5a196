# `make report` (the monthly batch on demo data) and `make test` (the whole suite).
# Both create .venv with the project installed on first use; nothing else is needed
# but Python 3.11. `make report` installs only the runtime dependencies; the test
# targets add the test extras (oracles, pytest, ruff, mypy) on top.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
TEST_STAMP    := $(VENV)/.test-installed
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
DEMO   := data/demo
PERIOD ?=
WORKERS ?=

.PHONY: help venv test test-fast report demo lab lint bench clean

help:
	@echo "make report     - run the monthly report batch on the demo data (outputs/<period>/index.html)"
	@echo "make test       - run the whole test suite (what CI runs)"
	@echo "make test-fast  - the suite without the end-to-end batch/notebook tests (marker: slow)"
	@echo "make demo       - (re)generate the demo data in $(DEMO)/"
	@echo "make lab        - JupyterLab on the project's kernel"
	@echo "make bench      - run the benchmarks (prints ratios against peer libraries)"
	@echo "make lint       - ruff check, ruff format --check, mypy"

# the runtime environment: the package and its dependencies, and the Jupyter kernel
$(RUNTIME_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (qa-analysis)" >/dev/null
	touch $(RUNTIME_STAMP)

# the test extras on top of the runtime environment
$(TEST_STAMP): $(RUNTIME_STAMP)
	$(PIP) -e '.[test]'
	touch $(TEST_STAMP)

venv: $(TEST_STAMP)

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -n 2 -q

test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

$(DEMO)/qa.duckdb: | $(RUNTIME_STAMP)
	$(BIN)/qa-reports demo --out $(DEMO)

demo: $(RUNTIME_STAMP)
	$(BIN)/qa-reports demo --out $(DEMO)

report: $(RUNTIME_STAMP) $(DEMO)/qa.duckdb
	$(BIN)/qa-reports run --regions all --out outputs $(if $(PERIOD),--period $(PERIOD)) $(if $(WORKERS),--workers $(WORKERS))

lab: $(RUNTIME_STAMP)
	$(BIN)/jupyter lab --notebook-dir=.

lint: $(TEST_STAMP)
	$(BIN)/ruff check qa_analysis tests benchmarks notebooks
	$(BIN)/ruff format --check qa_analysis tests benchmarks notebooks
	$(BIN)/mypy

bench: $(TEST_STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) outputs/*/ .pytest_cache .ruff_cache .mypy_cache build

# Two commands: `make report` (the monthly batch on demo data) and `make test`.
# Both create .venv with the project installed on first use; nothing else is needed
# but Python 3.11.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := data/demo
PERIOD ?=
WORKERS ?=

.PHONY: help venv test report demo lab lint bench clean

help:
	@echo "make report  - run the monthly report batch on the demo data (outputs/<period>/index.html)"
	@echo "make test    - run the test suite"
	@echo "make demo    - (re)generate the demo data in $(DEMO)/"
	@echo "make lab     - JupyterLab on the project's kernel"
	@echo "make bench   - run the benchmarks (prints ratios against peer libraries)"
	@echo "make lint    - ruff"

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (qa-analysis)" >/dev/null
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

$(DEMO)/qa.duckdb: | $(STAMP)
	$(BIN)/qa-reports demo --out $(DEMO)

demo: $(STAMP)
	$(BIN)/qa-reports demo --out $(DEMO)

report: $(STAMP) $(DEMO)/qa.duckdb
	$(BIN)/qa-reports run --regions all --out outputs $(if $(PERIOD),--period $(PERIOD)) $(if $(WORKERS),--workers $(WORKERS))

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=.

lint: $(STAMP)
	$(BIN)/ruff check qa_analysis tests benchmarks notebooks

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) outputs/*/ .pytest_cache .ruff_cache

# The entry points: `make repro` runs the pipeline, `make test` runs the tests, `make bench` the benchmark.
# Each creates .venv (pinned requirements) on first use.
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
STAMP := $(VENV)/.installed

.PHONY: setup repro test lint bench clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

setup: $(STAMP)

repro: $(STAMP)
	dvc repro
	@echo
	@cat reports/summary.md
	@echo
	@echo "Metrics: metrics/<dataset>.json   Plots: plots/images/<dataset>/   All plots in a browser: dvc plots show"

test: $(STAMP)
	python -m pytest

lint: $(STAMP)
	ruff check .
	ruff format --check .

bench: $(STAMP)
	python bench/run.py

clean:
	rm -rf data models plots reports runs dvc_plots checkpoints

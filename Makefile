# The entry points: `make repro` runs the pipeline, `make test` runs the tests, `make bench` the benchmark.
# Each creates .venv (pinned requirements) on first use.
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
STAMP := $(VENV)/.installed
PLOTS_PAGE := .dvc/plots.html

.PHONY: setup system repro test test-fast coverage lint bench mutate clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# The page `dvc plots show` fills in, with Vega inside it (from vl-convert-python): plots draw offline.
$(PLOTS_PAGE): $(STAMP)
	$(BIN)/python -m tinynets.vega $@

setup: $(STAMP) $(PLOTS_PAGE)

# What pip cannot install: Chromium for the page tests, Debian's Fashion-MNIST for the tests and the bench,
# PostgreSQL for the test of a search shared by two machines.
system:
	tools/system-packages chromium chromium-driver dataset-fashion-mnist postgresql

repro: setup
	dvc repro
	@echo
	@cat reports/summary.md
	@echo
	@echo "Report: file://$(CURDIR)/reports/index.html   Metrics: metrics/<dataset>.json   Plots: plots/images/<dataset>/"
	@echo "All plots, interactive: dvc plots show (then open dvc_plots/index.html)"

# One worker per core (-n auto); a group of tests that share a fixture goes to one worker (loadgroup), and the
# tests are handed out in conftest's order, the slowest first (--no-loadscope-reorder).
WORKERS := -n auto --dist loadgroup --no-loadscope-reorder

# --durations: the slowest tests, in every CI log.
test: setup system
	python -m pytest $(WORKERS) --durations=25

# The inner loop: every test not marked slow, in about a minute.
test-fast: setup
	python -m pytest -m "not slow" $(WORKERS)

# Line and branch coverage of tinynets/ and stages/ over the whole suite, the processes it starts included
# (reported, and the suite's exit status kept, even when a test fails).
coverage: setup system
	rm -f .coverage .coverage.* .coverage-totals.json
	COVERAGE_FILE=$(CURDIR)/.coverage python -m coverage run -m pytest $(WORKERS) -q; status=$$?; \
	python -m coverage combine -q && python -m coverage json -q -o .coverage-totals.json && \
	python -c "import json; t = json.load(open('.coverage-totals.json'))['totals']; \
	print(f\"lines {t['percent_statements_covered']:.2f}%, branches {t['percent_branches_covered']:.2f}%\")"; \
	exit $$status

lint: $(STAMP)
	ruff check .
	ruff format --check .

bench: setup
	tools/system-packages dataset-fashion-mnist
	python bench/run.py

mutate: setup  # mutants of the core modules against the fast tests; `mutmut results` lists the survivors
	rm -rf mutants
	mutmut run --max-children 2 || true
	mutmut export-cicd-stats && cat mutants/mutmut-cicd-stats.json

clean:  # the pipeline's outputs; data/own/ (your own files) stays
	rm -rf checks plots reports runs dvc_plots checkpoints
	find models -mindepth 1 ! -name '*.onnx.json' -delete 2>/dev/null || true  # the parity figures are in git
	find data -mindepth 1 -maxdepth 1 ! -name own -exec rm -rf {} +

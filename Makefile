# chatsim: two commands on a fresh machine.
#   make report   create .venv if missing, then build the baseline scenario's HTML report
#   make test     create .venv if missing, then run the whole test suite (CI runs this)
# `make` alone (or `make help`) lists every target: the text after `##` on a target's line.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.chatsim-installed
# the scale benchmark's size in `make bench` (the documented run: 100000000 and 10000000)
SCALE_MESSAGES ?= 20000000
SCALE_BASELINE ?= 5000000
PY_SOURCES := chatsim tests benchmarks setup.py

.DEFAULT_GOAL := help
.PHONY: help report test test-fast lint format bench clean-reports strip-notebooks lab

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

help: ## list the targets
	@echo "usage: make TARGET   (targets that need .venv create it first)"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

report: $(STAMP) ## build the baseline scenario's report: reports/baseline/*.html, reports/index.html
	$(BIN)/chatsim report scenarios/baseline.yaml --out reports

test: $(STAMP) ## the whole suite, notebooks and browser included (what CI runs)
	./.ci/install-browser.sh
	CHATSIM_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -n 2 --dist loadfile -m "not slow" \
		tests notebooks chatsim --doctest-modules \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=600 --durations=20

test-fast: $(STAMP) ## the quick check while developing: no Spark, browser or slow tests
	$(BIN)/python -m pytest -n 2 -m "not slow and not spark and not browser" tests chatsim --doctest-modules

lint: $(STAMP) ## ruff: lint and check the formatting (changes nothing)
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)

format: $(STAMP) ## ruff: fix what can be fixed (imports...) and format the code
	$(BIN)/ruff check --fix $(PY_SOURCES)
	$(BIN)/ruff format $(PY_SOURCES)

bench: $(STAMP) ## metrics, simulate and scale benchmarks; scale at a quick 20 M messages (the documented 100 M run: python benchmarks/scale.py, several minutes, ~1 GiB of disk)
	$(BIN)/python benchmarks/metrics.py
	$(BIN)/python benchmarks/simulate.py
	$(BIN)/python benchmarks/scale.py --messages $(SCALE_MESSAGES) --baseline-messages $(SCALE_BASELINE)

strip-notebooks: $(STAMP) ## remove outputs and papermill metadata from notebooks/*.ipynb
	$(BIN)/nbstripout --extra-keys "metadata.papermill cell.metadata.papermill cell.metadata.execution" notebooks/*.ipynb

lab: $(STAMP) ## JupyterLab on notebooks/, its Python kernel the project's .venv (Ctrl-C stops it)
	cd notebooks && ../$(BIN)/jupyter-lab --ServerApp.root_dir=.

clean-reports: ## delete the generated reports
	rm -rf reports/*/ reports/index.html

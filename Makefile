# chatsim: two commands on a fresh machine.
#   make report   create .venv if missing, then build the baseline scenario's HTML report
#   make test     create .venv if missing, then run the whole test suite (CI runs this)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.chatsim-installed

.PHONY: report test test-fast lint bench clean-reports strip-notebooks

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/chatsim report scenarios/baseline.yaml --out reports

test: $(STAMP)
	./.ci/install-browser.sh
	CHATSIM_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -n 2 --dist loadfile -m "not slow" \
		tests notebooks chatsim --doctest-modules \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=600

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow and not spark and not browser" tests chatsim --doctest-modules

lint: $(STAMP)
	$(BIN)/ruff check chatsim tests benchmarks
	$(BIN)/ruff format --check chatsim tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/metrics.py
	$(BIN)/python benchmarks/simulate.py

strip-notebooks: $(STAMP)
	$(BIN)/nbstripout --extra-keys "metadata.papermill cell.metadata.papermill cell.metadata.execution" notebooks/*.ipynb

clean-reports:
	rm -rf reports/*/ reports/index.html

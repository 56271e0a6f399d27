# albench — the two commands: `make run` and `make test` (both run `make setup` first).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/config.yaml

.PHONY: setup run test test-fast lint data clean

# Re-install only when the package metadata changed; a no-op otherwise.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

data: setup
	@bash scripts/ensure-fashion-mnist.sh $(BIN)/albench

# The default benchmark end to end (local profile: profiles/default).
run: data
	$(BIN)/albench pool summary --config $(CONFIG) --seed 0
	$(BIN)/snakemake --cores all --configfile $(CONFIG)
	$(BIN)/snakemake --configfile $(CONFIG) --report results/report.html
	@$(BIN)/python -c "import yaml; e = yaml.safe_load(open('$(CONFIG)'))['experiment']; \
	  print(f'albench: runs in results/{e}/, tables in results/{e}/summary/ and reports/{e}/tables/,'); \
	  print(f'albench: figures in reports/{e}/figures/, report: results/report.html')"

test: setup
	$(BIN)/python -m pytest

# Everything but the end-to-end workflow runs (marked slow), for the edit-test loop.
test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/snakefmt --check Snakefile workflow/
	$(BIN)/snakemake --lint --configfile config/smoke.yaml

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Stationhouse. `make help` lists the targets.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.DEFAULT_GOAL := help
.PHONY: help uv sync run test test-postgres lint format bench web

-include make/*.mk

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

uv: ## Install uv with pip when it is missing
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --user uv || $(PYTHON) -m pip install --quiet uv

sync: uv ## Install every package from the lock file into .venv
	@$(UV) sync --all-packages --frozen

run: sync web ## Set up and run the whole system on SQLite with demo data (Ctrl-C stops it)
	@$(UV) run --frozen stationhouse up

test: sync ## Set up and run every test (SQLite; PostgreSQL when STATIONHOUSE_TEST_POSTGRES_URL is set)
	@$(UV) run --frozen pytest

test-postgres: sync ## Run every test against the PostgreSQL server at PG_TEST_URL
	@STATIONHOUSE_TEST_POSTGRES_URL=$(PG_TEST_URL) $(UV) run --frozen pytest

lint: sync ## What CI checks: ruff lint and format, mypy on servicekit
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy

format: sync ## Fix lint and formatting where ruff can
	@$(UV) run --frozen ruff check --fix .
	@$(UV) run --frozen ruff format .

bench: sync ## Run the benchmarks in bench/ (slow; prints numbers, writes bench/results/)
	@for script in bench/*.py; do echo "== $$script"; $(UV) run --frozen python $$script || exit 1; done

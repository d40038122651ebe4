# The connector's commands. `make run` and `make test` set up everything on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# looked up when each recipe runs, so a uv that `make uv` just installed is found
UV = $$(command -v uv || echo "$(HOME)/.local/bin/uv")
PYTEST_ARGS ?=

.PHONY: help uv sync services migrate run test test-fast lint format bench

help:
	@echo "make run    - start PostgreSQL/RabbitMQ if needed, migrate, run every service (+ sandbox store without credentials)"
	@echo "make test   - the whole test suite against real PostgreSQL and RabbitMQ"
	@echo "make lint   - ruff and mypy (strict)"
	@echo "make bench  - pipeline benchmarks beside same-run baselines"

uv:
	@command -v uv >/dev/null 2>&1 || [ -x "$(HOME)/.local/bin/uv" ] || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

sync: uv
	@$(UV) sync --locked --quiet

services:
	@scripts/ensure-services.sh

migrate: sync services
	@$(UV) run connector migrate

run: sync services
	@$(UV) run connector run

test: sync services
	@$(UV) run pytest $(PYTEST_ARGS)

test-fast: sync
	@$(UV) run pytest -m "not integration" $(PYTEST_ARGS)

lint: sync
	@$(UV) run ruff check .
	@$(UV) run ruff format --check .
	@$(UV) run mypy

format: sync
	@$(UV) run ruff format .
	@$(UV) run ruff check --fix .

BENCH_ARGS ?=

bench: sync services
	@$(UV) run python -m bench $(BENCH_ARGS)

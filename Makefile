# The connector's commands. `make run` and `make test` set up everything on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
PYTEST_ARGS ?=

.PHONY: help uv sync services migrate run test test-fast lint format bench

help:
	@echo "make run    - start PostgreSQL/RabbitMQ if needed, migrate, run every service (+ sandbox store without credentials)"
	@echo "make test   - the whole test suite against real PostgreSQL and RabbitMQ"
	@echo "make lint   - ruff and mypy (strict)"
	@echo "make bench  - pipeline benchmarks beside same-run baselines"

uv:
	@command -v uv >/dev/null 2>&1 || [ -x "$(UV)" ] || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

sync: uv
	@$$(command -v uv || echo $(UV)) sync --locked --quiet

services:
	@scripts/ensure-services.sh

migrate: sync services
	@$$(command -v uv || echo $(UV)) run connector migrate

run: sync services
	@$$(command -v uv || echo $(UV)) run connector run

test: sync services
	@$$(command -v uv || echo $(UV)) run pytest $(PYTEST_ARGS)

test-fast: sync
	@$$(command -v uv || echo $(UV)) run pytest -m "not integration" $(PYTEST_ARGS)

lint: sync
	@$$(command -v uv || echo $(UV)) run ruff check .
	@$$(command -v uv || echo $(UV)) run ruff format --check .
	@$$(command -v uv || echo $(UV)) run mypy

format: sync
	@$$(command -v uv || echo $(UV)) run ruff format .
	@$$(command -v uv || echo $(UV)) run ruff check --fix .

bench: sync services
	@$$(command -v uv || echo $(UV)) run python -m bench

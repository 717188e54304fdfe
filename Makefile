# Two commands for a newcomer: `make run` and `make test`. `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
MANAGE := $(BIN)/python services/projects/manage.py
NOTIFIER_MANAGE := $(BIN)/python services/notifier/manage.py
# The notifier is its own Django project: its tests run in a pytest process of their own.
NOTIFIER_PYTEST := --ds=notifier_service.settings.test -o pythonpath=". services/notifier" -o addopts="--strict-markers -ra"
HOST ?= 127.0.0.1
PORT ?= 8000
NOTIFIER_PORT ?= 8001
REDIS_PORT ?= 6390
NOTIFIER_DATABASE_URL ?= sqlite:///$(CURDIR)/var/notifier.sqlite3
# Without REDIS_URL, `make run` starts its own Redis (append-only, noeviction) in var/redis; with SENTINEL=1
# a primary (REDIS_PORT), a replica (REDIS_PORT+1) and three Sentinels (26390-26392) that the others follow.
SENTINEL ?=
RUN_PROCESSES := $(if $(REDIS_URL),,$(if $(SENTINEL),redis-sentinel,redis)) api relay notifier-worker notifier-deliveries notifier-api ready
ifneq ($(SENTINEL),)
run: export REDIS_SENTINELS ?= 127.0.0.1:26390,127.0.0.1:26391,127.0.0.1:26392
run: export REDIS_SENTINEL_MASTER ?= mymaster
endif
# SQLite has no NOTIFY: there `make run`'s relay is woken through Redis. Only `run` gets this, so
# that tests and benchmarks (always on PostgreSQL) use the settings' default, notify.
run: export OUTBOX_WAKEUP ?= $(if $(filter postgres%,$(DATABASE_URL)),notify,redis)

.DEFAULT_GOAL := help
.PHONY: help venv run production migrate test lint contracts format bench constraints clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements/constraints.txt requirements/dev.in shared/pyproject.toml services/projects/pyproject.toml services/notifier/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -r requirements/dev.in
	@touch $@

venv: $(STAMP) ## Create the development environment (.venv) with everything pinned

migrate: $(STAMP) ## Apply migrations to both services' databases (SQLite in var/ unless DATABASE_URL)
	@mkdir -p var
	$(MANAGE) migrate --no-input
	DATABASE_URL=$(NOTIFIER_DATABASE_URL) $(NOTIFIER_MANAGE) migrate --no-input

run: migrate ## API :8000, relay, Redis, notifier worker, delivery worker and API :8001 (Ctrl-C stops all)
	VENV_BIN=$(BIN) HOST=$(HOST) API_PORT=$(PORT) NOTIFIER_PORT=$(NOTIFIER_PORT) REDIS_PORT=$(REDIS_PORT) \
	  NOTIFIER_DATABASE_URL=$(NOTIFIER_DATABASE_URL) \
	  REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:$(REDIS_PORT)/0} \
	  $(BIN)/honcho -f Procfile.dev start $(RUN_PROCESSES)

production: $(STAMP) ## The production form on loopback: gunicorn, production settings, PostgreSQL, two relays (Ctrl-C stops all)
	PORT=$(PORT) NOTIFIER_PORT=$(NOTIFIER_PORT) $(BIN)/python -m devinfra.production

test: $(STAMP) ## Run the whole test suite (installs the programs it needs when it can; starts its own servers)
	@bash devinfra/system-packages.sh
	@# With PYTEST_ARGS selecting tests of one service only, the other run selecting none is fine.
	$(BIN)/python -m pytest $(PYTEST_ARGS) || { s=$$?; [ $$s -eq 5 ] && [ -n "$(PYTEST_ARGS)" ] || exit $$s; }
	$(BIN)/python -m pytest tests/notifier $(NOTIFIER_PYTEST) $(PYTEST_ARGS) || { s=$$?; [ $$s -eq 5 ] && [ -n "$(PYTEST_ARGS)" ] || exit $$s; }

lint: $(STAMP) ## ruff format check, ruff lint, mypy (strict on shared/)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy --strict shared/codegen_contracts shared/codegen_config shared/codegen_telemetry
	$(BIN)/mypy shared/codegen_api
	$(BIN)/python -m devinfra.contracts_check check
	$(BIN)/mypy services/projects/projects services/projects/outbox services/projects/projects_service devinfra
	$(BIN)/mypy services/notifier/notifications services/notifier/notifier_service

contracts: $(STAMP) ## Regenerate the event catalogue's JSON Schemas in shared/schemas/ (commit them)
	$(BIN)/python -m devinfra.contracts_check write

format: $(STAMP) ## Reformat and autofix with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) ## Run the benchmarks; results under bench/results/
	$(BIN)/python -m bench $(BENCH_ARGS)

constraints: ## Re-resolve and re-pin every dependency into requirements/constraints.txt
	rm -rf /tmp/constraints-venv && $(PYTHON) -m venv /tmp/constraints-venv
	/tmp/constraints-venv/bin/pip install --quiet -r requirements/dev.in
	{ echo "# Every third-party package the project installs, pinned. Regenerate: make constraints"; \
	  /tmp/constraints-venv/bin/pip freeze --exclude-editable | grep -v '^-e'; } > requirements/constraints.txt

clean: ## Remove the environment and local data
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

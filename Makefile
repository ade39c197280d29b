# The commands a person types. `make run` and `make test` create the virtual environment
# themselves, so on a fresh machine they are the only commands needed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Re-install when the project definition changes.
RUN_STAMP := $(VENV)/.run-installed
DEV_STAMP := $(VENV)/.dev-installed
CDK := node_modules/.bin/cdk
# Extra CDK CLI arguments, e.g. make deploy CDK_ARGS="-c temporalAddress=... -c alarmEmail=..."
CDK_ARGS ?=
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

.PHONY: help install install-dev run test test-fast lint fmt typecheck synth bootstrap diff deploy bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[local]'
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,infra,ci]'
	@touch $@ $(RUN_STAMP)

install: $(RUN_STAMP) ## the runtime + local stack into .venv

install-dev: $(DEV_STAMP) ## everything for tests, lint, infra into .venv

# Options for `oms dev`, e.g. make run ARGS="--ui-port 8234 --workers 2" (see `oms dev --help`).
ARGS ?=

run: $(RUN_STAMP) ## start the local stack, run the demo orders, keep serving (Ctrl-C stops); ARGS="..." for oms dev
	$(BIN)/oms dev $(ARGS)

# The infra tests run `cdk synth` with the pinned CLI, hence $(CDK) (npm ci, from the lock file).
test: $(DEV_STAMP) $(CDK) ## the whole test suite, offline
	$(BIN)/pytest

test-fast: $(DEV_STAMP) $(CDK) ## everything but the slow end-to-end tests
	$(BIN)/pytest -m 'not e2e'

lint: $(DEV_STAMP) ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(DEV_STAMP) ## format and auto-fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(DEV_STAMP) ## mypy --strict on the service package
	$(BIN)/mypy

$(CDK): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

synth: $(DEV_STAMP) $(CDK) ## cdk synth (offline, no Docker, no credentials)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(CDK) synth --quiet $(CDK_ARGS)

bootstrap: $(DEV_STAMP) $(CDK) ## cdk bootstrap (once per AWS account and region; needs credentials)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(CDK) bootstrap $(CDK_ARGS)

diff: $(DEV_STAMP) $(CDK) ## cdk diff against the deployed stack
	PATH="$(CURDIR)/$(BIN):$$PATH" $(CDK) diff $(CDK_ARGS)

deploy: $(DEV_STAMP) $(CDK) ## cdk deploy (needs AWS credentials; see docs/DEPLOY.md)
	$(BIN)/python -m infra.deploy_guard $(CDK_ARGS)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(CDK) deploy --require-approval never $(CDK_ARGS)

bench: $(DEV_STAMP) ## throughput, latency and cost per order; writes bench/results/latest.json
	$(BIN)/python -m bench

clean: ## remove the virtual environment and build output
	rm -rf $(VENV) cdk.out node_modules .oms .pytest_cache .mypy_cache .ruff_cache

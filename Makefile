# agentdeck — `make run` to try it, `make test` to check it.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell bash scripts/ensure-uv.sh)
export UV
PY := .venv/bin/python
PYTEST := $(UV) run --frozen pytest
WEB_STAMP := web/node_modules/.package-lock.json
STATIC := src/agentdeck/server/static/index.html
PY_DIRS := $(wildcard src sdk tests bench scripts)

.PHONY: help venv ui run test lint types test-python test-sqlite test-postgresql test-web e2e test-deps bench fuzz docs-config clean

help:
	@echo "make run    install, build the UI, migrate and serve the demo on http://127.0.0.1:8000"
	@echo "make test   lint, types, unit + integration tests on SQLite and PostgreSQL, web tests, e2e"
	@echo "make bench  run the benchmarks in bench/"
	@echo "make fuzz   a long API fuzzing run (schemathesis, every phase and role)"

venv: .venv/.synced
.venv/.synced: pyproject.toml sdk/pyproject.toml uv.lock
	$(UV) sync --frozen
	@touch $@

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

ui: $(WEB_STAMP)
	cd web && npm run build

$(STATIC):
	$(MAKE) ui

run: venv $(STATIC)
	$(UV) run --frozen agentdeck serve --demo

test-deps:
	bash scripts/test-deps.sh

lint: venv
	$(UV) run --frozen ruff check $(PY_DIRS)
	$(UV) run --frozen ruff format --check $(PY_DIRS)

types: venv
	$(UV) run --frozen mypy

# Both database runs at once: much of a run waits on sockets and subprocesses, and on two cores
# the pair finishes well before the same two runs one after the other. Output stays per run (-O).
test-python: venv
	$(MAKE) --no-print-directory -O -j2 test-sqlite test-postgresql

test-sqlite: venv
	$(PYTEST) --db sqlite -m "not e2e" --durations=30

test-postgresql: venv
	$(PYTEST) --db postgresql -m "not e2e" --durations=30

test-web: $(WEB_STAMP)
	cd web && npm run typecheck && npm run lint && npm run test

e2e: venv ui
	$(PYTEST) -m e2e tests/e2e --durations=15

test: test-deps venv lint types test-python test-web e2e

docs-config: venv
	$(UV) run --frozen python -m agentdeck.docs_config > docs/configuration.md

bench: venv
	$(UV) run --frozen python -m bench

# A long schemathesis run (every phase, every role) against a real server: not part of `make test`.
fuzz: venv
	$(UV) run --frozen python -m bench fuzz $(FUZZ_ARGS)

clean:
	rm -rf .venv web/node_modules src/agentdeck/server/static test-results .pytest_cache .mypy_cache

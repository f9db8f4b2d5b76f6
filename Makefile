# DataWiz. `make demo` sets everything up and runs the pipeline on sample data;
# `make test` runs lint and the tests. Both install what they need from the lock files.
SHELL := /bin/bash
PY := .venv/bin/python
UV := $(shell command -v uv 2>/dev/null || echo .venv-uv/bin/uv)
DEMO_DAYS ?= 400
DEMO_SCALE ?= 1.0

.PHONY: help venv demo demo-azure test lint format bench docs clean node test-starrocks

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(UV):
	python3 -m venv .venv-uv && .venv-uv/bin/pip install -q uv

# the bytecode is compiled once here: with none (uv writes none by default, and
# PYTHONDONTWRITEBYTECODE stops Python writing it) every process compiles dbt again on import,
# 7 s instead of 3 s
.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-groups -q --compile-bytecode
	touch $@

venv: .venv/.synced  ## create .venv from uv.lock

node_modules/.synced: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

node: node_modules/.synced  ## install azurite (npm, pinned in package-lock.json)

demo: venv  ## generate sample data, land it and build the marts on DuckDB
	$(PY) -m loader.sample --out data/landing --days $(DEMO_DAYS) --scale $(DEMO_SCALE)
	DATAWIZ_SOURCE=data/landing DATAWIZ_TARGET=duckdb $(PY) orchestrate.py run all
	$(PY) orchestrate.py summary

demo-azure: venv node  ## the demo with the sample data uploaded to a local Azurite container
	$(PY) -m scripts.demo_azure

docs: venv  ## generate the dbt docs site and serve it on 127.0.0.1:8080
	$(PY) -m scripts.docs

lint: venv  ## ruff
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: venv
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

test: lint node  ## lint + all tests (the StarRocks suite skips with a reason when no server answers)
	.venv/bin/pytest -q

test-starrocks: venv  ## the pipeline against a real StarRocks (docker compose up -d first); skips with the reason if none answers
	DATAWIZ_STARROCKS_REAL=1 .venv/bin/pytest -q -rs tests/starrocks_real

bench: venv node  ## performance measurements (long; not part of make test)
	$(PY) -m bench
	$(PY) -m bench --only dbt --scale 10

clean:
	rm -rf data/landing data/warehouse.duckdb dbt_project/target dbt_project/logs

# key-value: one command per job. `make test` works on a fresh machine (it installs uv if missing).
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
PYTEST_ARGS ?=

.PHONY: uv setup test lint format typecheck codegen codegen-check demo bench

uv:
	@command -v uv >/dev/null 2>&1 || test -x "$(UV)" || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

setup: uv
	$(eval UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv"))
	$(UV) sync --all-packages --all-extras --locked

test: setup
	$(UV) run --no-sync python scripts/run_tests.py $(PYTEST_ARGS)

lint: setup
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .

format: setup
	$(UV) run --no-sync ruff check --fix .
	$(UV) run --no-sync ruff format .

typecheck: setup
	$(UV) run --no-sync basedpyright

codegen: setup
	$(UV) run --no-sync python scripts/build_sync_library.py

codegen-check: setup
	$(UV) run --no-sync python scripts/build_sync_library.py --check

demo: setup
	$(UV) run --no-sync python examples/run_all.py

bench: setup
	$(UV) run --no-sync python scripts/bench.py --output docs/benchmarks.md

# key-value: one command per job. `make test` works on a fresh machine (it installs uv if missing).
SHELL := /bin/bash
# uv from PATH, else the copy `make uv` installs into python3 with pip.
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
PYTEST_ARGS ?=

.PHONY: uv setup test lint format typecheck codegen codegen-check demo bench bench-smoke consumers

uv:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

setup: uv
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

# About a minute: memory, disk and Redis with short timed phases; prints the report, writes nothing.
bench-smoke: setup
	KV_BENCH_SMOKE=1 $(UV) run --no-sync python scripts/bench.py --only memory,disk,redis

consumers: setup
	$(UV) run --no-sync python scripts/consumers.py $(CONSUMERS_ARGS)

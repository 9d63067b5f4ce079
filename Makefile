# Two commands do all set-up on a fresh machine (Python 3.10+ with pip):
#   make run    the main job: serve the WebSocket adapter on 127.0.0.1:8765 (Ctrl-C stops it)
#   make test   ruff, mypy (strict) and the whole test suite
# Also: make demo   the seed's 100 MB output test through `ccstream run --stats`
# Also: make bench  the bulk WebSocket benchmark against websocketd (installed when we may)
# Both create .venv when it is missing and reinstall only when pyproject.toml changed: `run`
# installs what the server needs ('.[ws]'), `test` also the test tools ('.[ws,dev]'), each with
# its own stamp.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run demo test lint packages bench venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[ws]'
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[ws,dev]'
	touch $@

venv: $(TEST_STAMP)

run: $(RUN_STAMP)
	$(BIN)/ccstream-ws serve

demo: $(RUN_STAMP)
	$(BIN)/ccstream run --stats -- $(BIN)/python scripts/large_output.py > /dev/null

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks scripts examples
	$(BIN)/ruff format --check src tests benchmarks scripts examples
	$(BIN)/mypy

# Debian packages some tests drive: Chromium (the viewer), nginx and haproxy (the reverse
# proxy configs of docs/deployment.md), redis-server (the Redis store, started by the tests). Each is installed when missing and we may (root with
# apt-get); otherwise its tests are skipped with the reason.
PACKAGES := chromium nginx haproxy redis-server
packages:
	@missing=""; for p in $(PACKAGES); do \
	  PATH="$$PATH:/usr/sbin:/sbin" command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing$$missing for their tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "not installed:$$missing (not root with apt-get): their tests will be skipped"; fi; \
	fi

test: lint packages
	$(BIN)/pytest -q

# The bulk benchmark against its peer (benchmarks/README.md; by hand, never in CI): Debian's
# websocketd is installed when missing and we may (root with apt-get); otherwise bench_ws.py
# skips that contender and says so. BENCH_ARGS, e.g. "--size 256M --baseline OLD/src".
BENCH_ARGS ?= --size 1G --repeats 3
bench: $(TEST_STAMP)
	@if ! command -v websocketd >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing websocketd for bench_ws.py"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq websocketd >/dev/null; \
	  else echo "websocketd not installed (not root with apt-get): bench_ws.py skips it"; fi; \
	fi
	$(BIN)/python benchmarks/bench_ws.py throughput $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache

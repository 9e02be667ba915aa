# Two commands: `make dashboard` serves the app, `make test` passes the suite.
# Each sets up .venv itself from the pinned versions in requirements/constraints.txt.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8866
CONSTRAINTS := requirements/constraints.txt
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS)

.PHONY: dashboard test lint browser proxy lock clean gpu-check

dashboard: $(VENV)/.installed-run
	$(BIN)/paramshare-viz dashboard --port $(PORT) --no-browser

test: $(VENV)/.installed-test browser proxy
	$(BIN)/ruff check paramshare_viz tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Every CUDA path (build, analyze, timing, peak memory, Compare's measurement) on this machine's GPU;
# skips with a message where there is none. Needs a CUDA build of torch (the pinned wheel is CPU-only).
gpu-check: $(VENV)/.installed-run
	$(BIN)/python benchmarks/gpu_check.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check paramshare_viz tests benchmarks
	$(BIN)/mypy

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(PIP) -e ".[hf]"
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed-run
	$(PIP) -e ".[hf,test]"
	@touch $@

# Browser tests drive Debian's Chromium through playwright (its own browser download fails here).
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian chromium for the browser tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "NOTE: /usr/bin/chromium is missing and this user cannot apt-get it;"; \
		echo "      run 'sudo apt-get install chromium' or the browser tests will skip (fail under CI=true)."; \
	fi

# The JupyterHub test's proxy: configurable-http-proxy from npm, pinned, into .node/ (not global).
CHP_VERSION := 5.3.0
proxy:
	@if [ -x .node/node_modules/.bin/configurable-http-proxy ]; then :; \
	elif command -v npm >/dev/null; then \
		echo "Installing configurable-http-proxy $(CHP_VERSION) for the JupyterHub test..."; \
		npm install --prefix .node --no-audit --no-fund --loglevel=error configurable-http-proxy@$(CHP_VERSION) >/dev/null; \
	else \
		echo "NOTE: npm is missing; the JupyterHub test will skip (fail under CI=true)."; \
	fi

# Re-pin every package after changing pyproject.toml.
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[hf,test]" "torch==2.13.0"
	{ echo "# Exact versions behind 'make dashboard' and 'make test' (pip -c). torch is the CPU wheel."; \
	  echo "# Regenerate: make lock"; \
	  $(BIN)/python -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu/torch==\1/'; } > $(CONSTRAINTS)

clean:
	rm -rf $(VENV) .node .pytest_cache .ruff_cache *.egg-info

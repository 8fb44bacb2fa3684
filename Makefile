# Two commands matter: `make run` and `make test`. Both build their own virtual environment.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB_STAMP := src/foretell/web/static/vendor/.stamp

.PHONY: run test lint bench clean install web chromium nats

# Installs the package with its dev tools; the engine's hot modules are compiled with mypyc
# (setup.py), so a change to them re-runs this step.
$(STAMP): pyproject.toml setup.py $(wildcard src/foretell/engine/*.py)
	@echo "foretell: creating the virtual environment in $(VENV) and installing (the first time"
	@echo "          takes a few minutes: Python packages, then the engine compiled with mypyc)"
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# Front-end libraries come from the npm registry (package.json), copied into static/vendor.
$(WEB_STAMP): package.json package-lock.json scripts/build-web.sh
	@echo "foretell: installing the front-end libraries from npm"
	bash scripts/build-web.sh
	touch $(WEB_STAMP)

install: $(STAMP) $(WEB_STAMP)

web: $(WEB_STAMP)

# Browser tests drive Debian's Chromium; install it when it is missing.
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# The cluster tests start NATS servers of their own; install Debian's when it is missing.
nats:
	@command -v nats-server >/dev/null || (apt-get update -qq && apt-get install -y -qq nats-server >/dev/null)

run: $(STAMP) $(WEB_STAMP)
	@echo "foretell: starting on http://$${FORETELL_HOST:-127.0.0.1}:$${FORETELL_PORT:-8000} (the first start loads the demo)"
	$(BIN)/foretell serve

test: $(STAMP) $(WEB_STAMP) chromium nats
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m foretell.bench engine --json
	$(BIN)/python -m foretell.bench journal --json
	$(BIN)/python -m foretell.bench api --json

clean:
	rm -rf $(VENV) var .pytest_cache src/foretell/web/static/vendor build
	find src -name '*.so' -delete

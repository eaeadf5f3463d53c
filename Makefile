# Two commands: `make run` builds the evidence book from the sample library; `make test` runs the tests.
# Both set everything up on a fresh machine (a Python 3.11+ with venv is all they need).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install run test browser postgres dev book clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: install
	$(BIN)/commonground run
	@echo "Open book/_build/html/index.html"

# Two workers: the machine's two cores (most fits are single-threaded); --dist loadgroup keeps each test file,
# and every file sharing an expensive session fixture, on one worker (tests/conftest.py).
test: install browser postgres
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=25

# The browser tests drive Debian's chromium (no browser is ever downloaded by a test tool) and check each page
# with axe-core from the npm registry, installed here once (npm, from Debian's nodejs) and read from disk by the tests.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@command -v npm >/dev/null 2>&1 || { \
	  echo "Installing Debian's npm for axe-core"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm >/dev/null; }
	@test -f tests/axe/node_modules/axe-core/axe.min.js || { \
	  echo "Installing axe-core (pinned in tests/axe/package.json) for the accessibility tests"; \
	  npm ci --prefix tests/axe --no-audit --no-fund --silent; }

# The production profile's test needs a real PostgreSQL: Debian's package, installed if missing, and a
# cluster of the project's own under .postgres/, started if it is not running (deploy/postgres.sh).
postgres:
	@bash deploy/postgres.sh >/dev/null

# The Dagster UI on http://127.0.0.1:3000 with the project's own instance (runs from `make run` show up).
dev: install
	$(BIN)/python -c "from evaluations.cli import dagster_home; dagster_home()"
	$(BIN)/dagster dev -w workspace.yaml

book: install
	$(BIN)/commonground book

clean:
	rm -rf warehouse book/_build book/generated .dagster_home

# Two commands: `make run` builds the evidence book from the sample library; `make test` runs the tests.
# Both set everything up on a fresh machine (a Python 3.11+ with venv is all they need).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install run test browser dev book clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: install
	$(BIN)/commonground run
	@echo "Open book/_build/html/index.html"

test: install browser
	$(BIN)/python -m pytest

# The browser tests drive Debian's chromium (no browser is ever downloaded by a test tool).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The Dagster UI on http://127.0.0.1:3000 with the project's own instance (runs from `make run` show up).
dev: install
	$(BIN)/python -c "from evaluations.cli import dagster_home; dagster_home()"
	$(BIN)/dagster dev -w workspace.yaml

book: install
	$(BIN)/commonground book

clean:
	rm -rf warehouse book/_build book/generated .dagster_home

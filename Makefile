# Development entry points. `make setup` once, then `make test` (what CI runs).
PYTHON ?= python3
VENV ?= .venv
CHECKOV_VENV ?= .venv-checkov

.PHONY: setup test lint unit

setup:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-dev.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --disable-pip-version-check -q -r requirements-checkov.txt

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(VENV)/bin/python -m pytest

unit:
	$(VENV)/bin/python -m pytest tests/unit

# Development entry points. `make demo` to see the module at work; `make setup` once, then
# `make test` (what CI runs).
PYTHON ?= python3
VENV ?= .venv
CHECKOV_VENV ?= .venv-checkov

.PHONY: setup test lint unit demo bench replay report rescan emulator emulator-stop scan
# A venv whose install failed is removed again, so the next run retries instead of using it.
.DELETE_ON_ERROR:

setup:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-dev.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --disable-pip-version-check -q -r requirements-checkov.txt

# The demo needs only the test tools' venv: made once when missing, never reinstalled here.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-dev.txt

demo: $(VENV)/bin/python
	PYTHONPATH=tools $(VENV)/bin/python -m demo

# Prints the performance tables of docs/performance.md; ARGS=--quick for a short run.
bench: $(VENV)/bin/python
	PYTHONPATH=lambda:tools $(VENV)/bin/python -m benchmarks $(ARGS)

# Replays the dead-letter queue (see docs/operations.md, "Replaying dead letters"), e.g.
# make replay ARGS="--dead-letter-queue-url URL --function NAME"
replay: $(VENV)/bin/python
	PYTHONPATH=tools $(VENV)/bin/python -m replay $(ARGS)

# The local AWS emulator for your own root (docs/local-testing.md), in the foreground; e.g.
# make emulator ARGS="--root ../my-root"; ARGS=--detach starts it in the background.
emulator: $(VENV)/bin/python
	PYTHONPATH=tools $(VENV)/bin/python -m emulator $(ARGS)

emulator-stop: $(VENV)/bin/python
	PYTHONPATH=tools $(VENV)/bin/python -m emulator stop $(ARGS)

# Simulates the scanner for a function deployed into it, e.g.
# make scan ARGS="--bucket B --key K --verdict malicious"
scan: $(VENV)/bin/python
	PYTHONPATH=tools $(VENV)/bin/python -m scan $(ARGS)

# Starts GuardDuty on-demand scans of objects uploaded before the bucket's Malware Protection plan
# (see docs/scanner.md); a dry run unless ARGS has --execute, e.g.
# make rescan ARGS="--bucket my-uploads --prefix inbox/ --marker-file rescan.marker --execute"
rescan: $(VENV)/bin/python
	PYTHONPATH=tools $(VENV)/bin/python -m rescan $(ARGS)

# Weekly-review summary from the saved Logs Insights queries (docs/operations.md, "Dashboard and
# saved queries"), e.g. make report ARGS="--name NAME --since 7d --format markdown"
report: $(VENV)/bin/python
	PYTHONPATH=tools $(VENV)/bin/python -m report $(ARGS)

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The checkov test finds checkov through CHECKOV (default: the one in CHECKOV_VENV).
test: lint
	CHECKOV="$${CHECKOV:-$(abspath $(CHECKOV_VENV))/bin/checkov}" $(VENV)/bin/python -m pytest

unit:
	$(VENV)/bin/python -m pytest tests/unit

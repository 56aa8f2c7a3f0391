# Development entry points (CONTRIBUTING.md). From a fresh clone: `make demo` to see the module at
# work, `make test` for everything CI runs, `make check` for the quick tiers. Each installs what it
# needs on first use; `make setup` (re)installs the tools explicitly.
PYTHON ?= python3
VENV ?= .venv
CHECKOV_VENV ?= .venv-checkov
# How many Terraform runs the tests have going at once (POST_SCAN_JOBS); empty: 4 per core.
# JOBS=1 runs one at a time.
JOBS ?=

PYTEST = $(VENV)/bin/python -m pytest
# The checkov test finds checkov through CHECKOV (default: the one in CHECKOV_VENV).
TEST_ENV = CHECKOV="$${CHECKOV:-$(abspath $(CHECKOV_VENV))/bin/checkov}" $(if $(JOBS),POST_SCAN_JOBS=$(JOBS))

.PHONY: setup tools test check lint unit demo bench replay report rescan emulator emulator-stop scan
# A venv whose install failed is removed again, so the next run retries instead of using it.
.DELETE_ON_ERROR:

setup:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-dev.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --disable-pip-version-check -q -r requirements-checkov.txt

# The test tools' venv and checkov's: each made once when missing, never reinstalled here.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-dev.txt

$(CHECKOV_VENV)/bin/checkov:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --disable-pip-version-check -q -r requirements-checkov.txt

# Both at once: on a fresh clone the two installs take about a minute each, mostly one core each.
tools:
	@$(MAKE) --no-print-directory -j2 $(VENV)/bin/python $(CHECKOV_VENV)/bin/checkov

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

lint: $(VENV)/bin/python
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Everything CI runs: lint, then the whole suite (docs/development.md, "Test tiers"). Lint runs
# after the tools are in place (also under make -j).
test: tools
	@$(MAKE) --no-print-directory lint
	$(TEST_ENV) $(PYTEST) $(ARGS)

# The quick tiers: lint, the unit tests and the static checks without `terraform test`, checkov
# and `terraform validate` (make test runs those), on every core (pytest-xdist).
check: tools
	@$(MAKE) --no-print-directory lint
	$(TEST_ENV) $(PYTEST) -n auto -m "not tftest and not slowstatic" tests/unit tests/static $(ARGS)

unit: $(VENV)/bin/python
	$(PYTEST) tests/unit $(ARGS)

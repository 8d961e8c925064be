# The concern-referral platform: set-up, local stack, tests.
# `make up` starts everything on this machine (no containers); `make down` stops it.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STACK := $(BIN)/python -m deploy.stack

# The test stack runs beside a developer's own stack, on its own ports and in its own home.
TEST_HOME := .local/test
TEST_STACK := --home $(TEST_HOME) --kafka-port 19092 --pg-port 15432 --base-port 18000
BENCH_HOME := .local/bench
BENCH_STACK := --home $(BENCH_HOME) --kafka-port 17092 --pg-port 17432 --base-port 17000 --infra-only --no-kafka-sasl

# pytest exits 5 when a tier has no tests yet; that is not a failure of the tier.
define pytest_tier
	@if [ ! -d $(2) ]; then echo "$(2): no tests yet"; exit 0; fi; \
	$(BIN)/pytest $(1) $(2); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "$(2): no tests collected"; rc=0; fi; \
	exit $$rc
endef

.PHONY: venv up down status test test-unit test-integration test-e2e test-chaos test-browser test-portal browser-deps monitoring-deps lint docs lock bench demo

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

up: venv monitoring-deps
	$(STACK) up

down: venv
	$(STACK) down

status: venv
	$(STACK) status

# Fictional concerns through the real API and inbound topic, answered by the demo recipients; then the demo
# clocks move three working days on (reminders and escalations follow; `crp demo advance` moves them further).
demo: up
	$(BIN)/python -m deploy.demo.feed

# Starts the test stack, runs every tier against it, and always stops it again.
test: venv monitoring-deps
	@rc=0; \
	trap '$(STACK) down --home $(TEST_HOME)' EXIT; \
	$(MAKE) --no-print-directory test-unit || rc=1; \
	if $(STACK) up $(TEST_STACK); then \
		set -a; source $(TEST_HOME)/stack.env; set +a; \
		$(MAKE) --no-print-directory test-integration || rc=1; \
		$(MAKE) --no-print-directory test-e2e || rc=1; \
		$(MAKE) --no-print-directory test-chaos || rc=1; \
		$(MAKE) --no-print-directory test-browser || rc=1; \
		$(MAKE) --no-print-directory test-portal || rc=1; \
	else \
		echo "the test stack did not come up; integration and e2e tiers not run"; rc=1; \
	fi; \
	if [ $$rc -ne 0 ] && [ -n "$${CI:-}" ]; then tail -n 40 $(TEST_HOME)/logs/*.log 2>/dev/null; fi; \
	exit $$rc

test-unit: venv
	$(call pytest_tier,-m unit,tests/unit)

test-integration: venv
	$(call pytest_tier,-m integration,tests/integration)

test-e2e: venv
	$(call pytest_tier,-m e2e,tests/e2e)

# Faults under a sustained load of 200 concerns/s (SIGKILLs, the broker and PostgreSQL stopped, receivers down);
# needs the test stack's STACK_HOME, because it stops and kills the stack's own Kafka and PostgreSQL.
test-chaos: venv
	$(call pytest_tier,-m chaos,tests/chaos)

test-browser: venv browser-deps
	$(call pytest_tier,-m browser,tests/browser)

# The portal against the test stack's Keycloak and services: a person logs in and works with their cases.
test-portal: venv browser-deps
	$(call pytest_tier,-m portal,tests/portal)

# Chromium from Debian's packages for the browser tier (Playwright drives it; it never downloads a browser).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	}

# Prometheus and Alertmanager from Debian's packages: the stack runs them, and the unit tier runs promtool on the
# alert rules. Their own services are not started (the stack's supervisord runs them).
monitoring-deps:
	@command -v promtool >/dev/null 2>&1 && command -v prometheus-alertmanager >/dev/null 2>&1 || { \
		echo "installing Debian's prometheus and prometheus-alertmanager"; \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			--no-install-recommends prometheus prometheus-alertmanager >/dev/null; \
	}

lint: venv
	$(BIN)/ruff check .

docs: venv
	$(BIN)/crp docs generate

# Pins the full dependency closure of requirements.in into requirements.txt, in a throwaway venv.
# Existing pins are kept (they constrain the resolution); `make lock UPGRADE=1` re-resolves from scratch.
lock:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	constraints=$$([ -n "$(UPGRADE)" ] || [ ! -f requirements.txt ] || echo "-c requirements.txt"); \
	$(PYTHON) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.in $$constraints && \
	"$$tmp/venv/bin/python" -m pip freeze --exclude-editable > "$$tmp/requirements.txt" && \
	mv "$$tmp/requirements.txt" requirements.txt && \
	echo "requirements.txt pinned from requirements.in"

# Benchmarks against their own infra-only stack; results go to docs/benchmarks.{json,md}: shared publisher,
# intake, routing, notify, stats (replay and API), end to end (HTTP in → webhook out → counted) and peak memory
# per service, each against a same-run baseline. `make bench BENCH="intake e2e"` runs only those;
# BENCH_E2E_RATES="25,50" BENCH_E2E_SECONDS=10 shortens the end-to-end ladder.
bench: venv
	@trap '$(STACK) down --home $(BENCH_HOME)' EXIT; \
	$(STACK) up $(BENCH_STACK) && \
	set -a && source $(BENCH_HOME)/stack.env && set +a && \
	$(BIN)/python -m bench $(BENCH)

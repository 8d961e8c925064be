"""Test configuration shared by every tier: where the test stack's Kafka and PostgreSQL are."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STACK_ENV = ROOT / ".local" / "test" / "stack.env"


def _load_stack_env() -> None:
    """`make test` exports the test stack's settings; a developer's bare `pytest` reads them from the file."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or not STACK_ENV.exists():
        return
    for line in STACK_ENV.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            os.environ.setdefault(name.strip(), value.strip())


_load_stack_env()
# A test's one token stands in for a whole population of reporters (1,000 concurrent concerns, 200/s under chaos,
# schemathesis' thousands of cases): per client, the test services allow what no real client would need. The
# tests of that limit set their own (tests/unit/test_rate_limit.py, tests/e2e/test_security_owasp.py); the
# failed-authentication limit keeps its defaults everywhere.
os.environ.setdefault("RATE_LIMIT_PER_MINUTE", "1000000")
os.environ.setdefault("RATE_LIMIT_BURST", "100000")

pytest_plugins = ["tests.support.fixtures"]

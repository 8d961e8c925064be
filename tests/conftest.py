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

pytest_plugins = ["tests.support.fixtures"]

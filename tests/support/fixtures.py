"""Fixtures for the integration and e2e tiers: the test stack's real broker and database, random names per test."""

import functools
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.auth.admin import IssuedClient, new_client, publish_record
from shared.auth.principal import Role
from shared.contracts.topics import dlq
from shared.kafka.admin import ensure_topics
from shared.kafka.config import client_config
from tests.support.databases import migrated_database
from tests.support.reference import publish_owner_directory


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(
            f"{name} is not set: run `make test` (it starts the test stack) or export a running stack's stack.env"
        )
    return value


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """Bootstrap servers of the test stack's broker."""
    return _required("KAFKA_BOOTSTRAP_SERVERS")


@pytest.fixture(scope="session")
def admin_database_url() -> str:
    """A superuser URL of the test stack's PostgreSQL, for creating throwaway databases."""
    return _required("ADMIN_DATABASE_URL")


@pytest.fixture
def fresh_database(admin_database_url: str):  # noqa: ANN201 - returns an async context manager factory
    """Factory: `async with fresh_database("intake") as url:` a new database migrated for that service."""
    return functools.partial(migrated_database, admin_database_url)


@pytest.fixture
async def database_url(fresh_database) -> AsyncIterator[str]:  # noqa: ANN001
    """A fresh database with only the shared migrations (the inbox) applied; dropped afterwards."""
    async with fresh_database("routing") as url:
        yield url


@pytest.fixture
async def topic_prefix(kafka_bootstrap: str) -> str:
    """A fresh, isolated set of every platform topic (3 partitions each) under a random prefix.

    Start services with TOPIC_PREFIX set to it, and they see only this test's events and clients. The owner's
    reference directory is on its reference-data topic, as intake puts it there at start, so routing, notify and
    stats started without intake are ready too.
    """
    prefix = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(kafka_bootstrap, partitions=3, prefix=prefix)
    await publish_owner_directory(kafka_bootstrap, prefix)
    return prefix


@pytest.fixture
def issue_client(kafka_bootstrap: str, topic_prefix: str):  # noqa: ANN201
    """Factory: `await issue_client(Role.MUNICIPALITY, municipality_code="0316")` -> IssuedClient (with .token)."""

    async def issue(role: Role, **scope: object) -> IssuedClient:
        issued = new_client(name=f"test {role.value}", role=role, **scope)  # type: ignore[arg-type]
        await publish_record(kafka_bootstrap, issued.record, topic_prefix=topic_prefix)
        return issued

    return issue


@pytest.fixture
def service_env(kafka_bootstrap: str, topic_prefix: str) -> dict[str, str]:
    """Environment for a service process on this test's isolated topics (add DATABASE_URL)."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "TOPIC_PREFIX": topic_prefix,
        "TOPIC_PARTITIONS": "3",
        "SUBJECT_KEY_SECRET": "test-subject-key-secret-0123456789",
        "MASTER_KEY": "dGVzdC1tYXN0ZXIta2V5LTAxMjM0NTY3ODlhYmNkZWY=",
        "LOCAL_DEV": "true",
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "INFO",
        # Stats shows every count: tests check exact figures; the small-count rule is tested with its default
        # (test_stats_api, the browser test and the OWASP table set or keep MIN_CELL_COUNT=5).
        "MIN_CELL_COUNT": "1",
    }


@pytest.fixture
async def topic(kafka_bootstrap: str) -> str:
    """A fresh topic with 3 partitions and its .dlq topic."""
    name = "t-" + uuid.uuid4().hex[:12]
    admin = AIOKafkaAdminClient(**client_config(kafka_bootstrap))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 3, 1), NewTopic(dlq(name), 3, 1)])
    finally:
        await admin.close()
    return name

"""Fixtures for integration tests: the real broker and database of the test stack, random names per test."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.contracts.topics import dlq
from shared.db.migrate import apply_migrations


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run `make test` (it starts the test stack), or `make test-integration`")
    return value


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """Bootstrap servers of the test stack's broker."""
    return _required("KAFKA_BOOTSTRAP_SERVERS")


@pytest.fixture(scope="session")
def admin_database_url() -> str:
    """A superuser URL of the test stack's PostgreSQL, for creating throwaway databases."""
    return _required("ADMIN_DATABASE_URL")


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture
async def database_url(admin_database_url: str) -> AsyncIterator[str]:
    """A fresh database with the shared migrations applied; dropped afterwards."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(admin_database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = _with_database(admin_database_url, name)
        await asyncio.to_thread(apply_migrations, "routing", url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def topic(kafka_bootstrap: str) -> str:
    """A fresh topic with 3 partitions and its .dlq topic."""
    name = "t-" + uuid.uuid4().hex[:12]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 3, 1), NewTopic(dlq(name), 3, 1)])
    finally:
        await admin.close()
    return name

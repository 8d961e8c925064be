"""The inbox's key leads with the event id, in a new database and in one migrated from the first schema."""

import asyncio
import uuid

import asyncpg
import pytest
from yoyo import get_backend, read_migrations

from shared.db.migrate import SHARED_MIGRATIONS, apply_migrations, yoyo_url
from tests.support.databases import with_database

pytestmark = pytest.mark.integration
KEY = "CREATE UNIQUE INDEX processed_events_pkey ON public.processed_events USING btree (event_id, consumer)"


async def _key(conn: asyncpg.Connection) -> str:
    return await conn.fetchval("SELECT pg_get_indexdef('processed_events_pkey'::regclass)")


@pytest.mark.parametrize("service", ["intake", "routing", "notify", "stats"])
async def test_every_service_inbox_is_keyed_by_event_id_then_consumer(fresh_database, service: str) -> None:
    async with fresh_database(service) as url:
        conn = await asyncpg.connect(url)
        try:
            assert await _key(conn) == KEY
        finally:
            await conn.close()


def _apply_first_only(url: str) -> None:
    backend = get_backend(yoyo_url(url))
    first = read_migrations(str(SHARED_MIGRATIONS)).filter(lambda m: m.id == "shared_0001_processed_events")
    with backend.lock():
        backend.apply_migrations(backend.to_apply(first))


async def test_an_inbox_of_the_first_schema_keeps_its_rows_and_still_refuses_a_second_application(
    admin_database_url: str,
) -> None:
    name = "t_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(admin_database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = with_database(admin_database_url, name)
        await asyncio.to_thread(_apply_first_only, url)
        conn = await asyncpg.connect(url)
        try:
            assert (await _key(conn)).endswith("(consumer, event_id)")
            await conn.execute(
                "INSERT INTO processed_events (consumer, event_id) VALUES ('stats-service', 'e-1'), ('routing', 'e-1')"
            )
            applied = await asyncio.to_thread(apply_migrations, "stats", url)
            assert "shared_0002_processed_events_key" in applied
            assert await _key(conn) == KEY
            rows = await conn.fetch("SELECT consumer, event_id FROM processed_events ORDER BY consumer")
            assert [tuple(r) for r in rows] == [("routing", "e-1"), ("stats-service", "e-1")]
            again = "INSERT INTO processed_events (consumer, event_id) VALUES ('routing', 'e-1') ON CONFLICT DO NOTHING"
            assert await conn.execute(again) == "INSERT 0 0"
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

"""Throwaway PostgreSQL databases for tests: created, migrated for one service, dropped afterwards."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg

from shared.db.migrate import apply_migrations


def with_database(url: str, name: str) -> str:
    """The same server URL, pointing at database `name`."""
    return url.rpartition("/")[0] + "/" + name


@contextlib.asynccontextmanager
async def migrated_database(admin_database_url: str, service: str) -> AsyncIterator[str]:
    """A new database migrated for `service` (usable in fixtures of any scope), dropped afterwards."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(admin_database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        url = with_database(admin_database_url, name)
        await asyncio.to_thread(apply_migrations, service, url)
        yield url
    finally:
        # A new connection: PostgreSQL may have been restarted meanwhile (the chaos tier stops it).
        admin = await asyncpg.connect(admin_database_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

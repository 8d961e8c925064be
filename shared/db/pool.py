"""The asyncpg pool of a service's own database; created by the service's lifespan, never at import."""

import asyncpg

from shared import tracing
from shared.settings import Settings


async def create_pool(settings: Settings) -> asyncpg.Pool:
    """A pool sized from settings; connections fail fast so readiness and 503s answer promptly."""
    return await asyncpg.create_pool(
        dsn=settings.database_url.get_secret_value(),
        min_size=settings.database_pool_min,
        max_size=settings.database_pool_max,
        timeout=5.0,
        command_timeout=30.0,
        server_settings={"application_name": settings.service_name},
        # With tracing on, rows written on a connection (outbox, deliveries) default to the acquirer's traceparent.
        setup=tracing.bind if tracing.enabled() else None,
    )


async def database_ready(pool: asyncpg.Pool, timeout: float) -> bool:
    """True when a connection can be had and answers a trivial query within the timeout."""
    try:
        async with pool.acquire(timeout=timeout) as conn:
            return await conn.fetchval("SELECT 1", timeout=timeout) == 1
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False

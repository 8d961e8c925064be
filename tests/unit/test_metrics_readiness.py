"""/metrics tells Prometheus whether each dependency is reachable as of the scrape, not as of the last /readyz."""

from contextlib import asynccontextmanager

import httpx
import pytest

from shared.web.app import create_app

pytestmark = pytest.mark.unit


async def test_each_scrape_runs_the_readiness_checks() -> None:
    database_up = True

    async def database() -> bool:
        return database_up

    async def kafka() -> bool:
        raise ConnectionError("broker away")

    @asynccontextmanager
    async def lifespan(app):  # noqa: ANN001, ANN202
        app.state.readiness = {"database": database, "kafka": kafka}
        yield

    app = create_app(title="t", description="t", lifespan=lifespan)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        first = (await client.get("/metrics")).text
        database_up = False
        second = (await client.get("/metrics")).text
    assert 'service_ready{dependency="database"} 1.0' in first
    assert 'service_ready{dependency="kafka"} 0.0' in first
    assert 'service_ready{dependency="database"} 0.0' in second

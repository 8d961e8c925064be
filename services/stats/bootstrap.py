"""The composition root of the stats service: wires settings, adapters, Faust worker and routes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.stats.entrypoints import agents, api
from services.stats.settings import StatsSettings
from shared.kafka.streams import make_stream_app, running
from shared.runtime import attach, serve, service_runtime
from shared.web.app import create_app
from shared.web.whoami import router as whoami


def build_app(settings: StatsSettings) -> FastAPI:
    """The stats service as an ASGI app; its lifespan owns the pool, producer and Faust worker."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(settings) as runtime:
            stream_app = make_stream_app(settings)
            agents.register_agents(stream_app, runtime)
            async with running(stream_app):
                attach(app, runtime)
                yield

    return create_app(
        title="Stats",
        description="The flow made visible for ops, management and municipal cooperation.",
        lifespan=lifespan,
        routers=[api.router, whoami],
    )


def main() -> None:
    """Run the service until SIGTERM."""
    settings = StatsSettings()
    serve(build_app(settings), settings)

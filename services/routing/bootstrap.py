"""The composition root of the routing service: wires settings, adapters, Faust worker and routes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.routing.entrypoints import agents, api
from services.routing.settings import RoutingSettings
from shared.kafka.streams import make_stream_app, running
from shared.runtime import attach, serve, service_runtime
from shared.web.app import create_app
from shared.web.whoami import router as whoami


def build_app(settings: RoutingSettings) -> FastAPI:
    """The routing service as an ASGI app; its lifespan owns the pool, producer and Faust worker."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(settings) as runtime:
            stream_app = make_stream_app(settings)
            agents.register_agents(stream_app, runtime)
            async with running(stream_app):
                attach(app, runtime)
                yield

    return create_app(
        title="Routing",
        description="Every concern reaches someone who can help, and is chased until it is answered.",
        lifespan=lifespan,
        routers=[api.router, whoami],
    )


def main() -> None:
    """Run the service until SIGTERM."""
    settings = RoutingSettings()
    serve(build_app(settings), settings)

"""The composition root of the intake service: wires settings, adapters, consumer and routes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.intake.entrypoints import api, consumers
from services.intake.settings import IntakeSettings
from shared.kafka.consumer import consuming
from shared.runtime import attach, serve, service_runtime
from shared.web.app import create_app
from shared.web.whoami import router as whoami


def build_app(settings: IntakeSettings) -> FastAPI:
    """The intake service as an ASGI app; its lifespan owns the pool, producer and consumer."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(settings) as runtime:
            processor = consumers.event_processor(runtime)
            async with consuming(
                settings.kafka_bootstrap_servers,
                settings.consumer_group,
                [settings.topic(t) for t in consumers.TOPICS],
                processor,
            ):
                attach(app, runtime)
                yield

    return create_app(
        title="Intake",
        description="Concerns reported over HTTP and from integrated housing systems: receipt, guidance, nothing lost.",
        lifespan=lifespan,
        routers=[api.router, whoami],
    )


def main() -> None:
    """Run the service until SIGTERM."""
    settings = IntakeSettings()
    serve(build_app(settings), settings)

"""The composition root of the notify service: wires settings, adapters, consumer and routes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.notify.entrypoints import api, consumers
from services.notify.settings import NotifySettings
from shared.kafka.consumer import consuming
from shared.runtime import attach, serve, service_runtime
from shared.web.app import create_app
from shared.web.whoami import router as whoami


def build_app(settings: NotifySettings) -> FastAPI:
    """The notify service as an ASGI app; its lifespan owns the pool, producer and consumer."""

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
        title="Notify",
        description="Municipalities, consultants and reporters hear what they need: webhooks, feed, e-mail.",
        lifespan=lifespan,
        routers=[api.router, whoami],
    )


def main() -> None:
    """Run the service until SIGTERM."""
    settings = NotifySettings()
    serve(build_app(settings), settings)

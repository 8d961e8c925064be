"""The composition root of the stats service: wires settings, adapters, Faust worker, routes and dashboard."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.stats.adapters.applier import ProjectionApplier
from services.stats.adapters.reference_data import reference_from_directory
from services.stats.domain.costs import UnitCosts
from services.stats.domain.disclosure import Disclosure
from services.stats.domain.reference import ReferenceData
from services.stats.entrypoints import api, consumers
from services.stats.entrypoints.api import dashboard
from services.stats.entrypoints.deps import StatsContext
from services.stats.metrics import refreshing
from services.stats.settings import StatsSettings
from shared.db.positions import PostgresPositions
from shared.kafka.positions import KafkaLog
from shared.kafka.streams import make_stream_app, running
from shared.runtime import attach, serve, service_runtime
from shared.web.app import create_app
from shared.web.body_limit import BodyLimits
from shared.web.reference import router as reference_data
from shared.web.whoami import router as whoami


def unit_costs(settings: StatsSettings) -> UnitCosts:
    """The configured unit costs behind the costs-avoided estimate."""
    return UnitCosts(settings.cost_eviction_avoided_dkk, settings.cost_dwelling_restored_dkk)


def build_app(settings: StatsSettings) -> FastAPI:
    """The stats service as an ASGI app; its lifespan owns the pool, producer, Faust worker and gauges."""
    context = StatsContext(ReferenceData(), unit_costs(settings), Disclosure(settings.min_cell_count))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(settings, follow_reference=True) as runtime:
            if runtime.reference is not None:
                runtime.reference.subscribe(lambda d: setattr(context, "reference", reference_from_directory(d)))
            stream_app = make_stream_app(settings)
            projections = consumers.projection_consumer(
                settings,
                ProjectionApplier(runtime.pool, settings.consumer_group),
                runtime.dead_letters,
                PostgresPositions(runtime.pool),
                KafkaLog(settings.kafka_bootstrap_servers, client_id=f"{settings.kafka_group()}-log"),
            )
            consumers.register_agents(stream_app, settings, projections)
            try:
                async with running(stream_app), refreshing(runtime.pool, settings, context.unit_costs):
                    attach(app, runtime)
                    app.state.stats = context
                    yield
            finally:
                await projections.close()

    app = create_app(
        title="Stats",
        description="The flow made visible for ops, management and municipal cooperation.",
        lifespan=lifespan,
        routers=[*api.routers, reference_data, whoami],
        body_limits=BodyLimits(settings.max_body_bytes),
    )
    app.mount("/static", StaticFiles(directory=dashboard.STATIC), name="static")
    return app


def main() -> None:
    """Run the service until SIGTERM."""
    settings = StatsSettings()
    serve(build_app(settings), settings)

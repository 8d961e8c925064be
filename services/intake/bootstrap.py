"""The composition root of the intake service: `build_relay` and its neighbours make the parts, a short lifespan
starts and stops them."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import asyncpg
from fastapi import FastAPI

from services.intake.adapters.guidance_files import load_guidance
from services.intake.adapters.mappings import load_mappings
from services.intake.adapters.reference_data import load_reference_data, municipality_codes, read_reference_file
from services.intake.adapters.sealing import Sealer
from services.intake.domain.directory import Directory
from services.intake.entrypoints import api, consumers
from services.intake.entrypoints.deps import ReferenceOwner
from services.intake.handlers.deps import Deps
from services.intake.handlers.reference import ReferenceKeeper
from services.intake.metrics import CONCERNS_REFUSED
from services.intake.settings import IntakeSettings
from shared.contracts.reference import ReferenceDirectory
from shared.contracts.topics import CONCERN_EVENTS
from shared.db.pool import database_ready
from shared.logging import get_logger
from shared.outbox import OutboxRelay, relay_for
from shared.reference.follower import publish_directory
from shared.runtime import Runtime, attach, background, serve, service_runtime
from shared.web.app import ReadinessCheck, create_app
from shared.web.body_limit import BodyLimits
from shared.web.whoami import router as whoami

log = get_logger(__name__)
DATABASE_ERRORS = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.CannotConnectNowError,
                   asyncpg.TooManyConnectionsError)  # fmt: skip
"""Errors meaning PostgreSQL cannot be reached right now (TimeoutError is an OSError)."""


async def keep_loading_reference_data(deps: Deps, data: ReferenceDirectory, keeper: ReferenceKeeper) -> None:
    """Load the reference data into the database and memory, retrying while PostgreSQL is away; then publish it
    and keep it in step (ReferenceKeeper)."""
    delay = 0.5
    while True:
        try:
            directory, departments = await load_reference_data(deps.pool, data)
            deps.directory.replace(departments, directory.version)
            log.info("reference_data_loaded", departments=len(deps.directory.departments))
            await keeper.run()
            return
        except Exception as error:  # noqa: BLE001 - retried until the database answers
            log.warning("reference_data_not_loaded", error=type(error).__name__, retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


def build_relay(settings: IntakeSettings) -> OutboxRelay:
    """The outbox relay that publishes accepted concerns' events on concern-events."""
    return relay_for(
        "intake",
        database_url=settings.database_url.get_secret_value(),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics={CONCERN_EVENTS: settings.topic(CONCERN_EVENTS)},
        batch_size=settings.outbox_batch_size,
        poll_interval_s=settings.outbox_poll_interval_s,
        retention_s=settings.outbox_retention_hours * 3600,
    )


def reference_keeper(settings: IntakeSettings, runtime: Runtime, deps: Deps) -> ReferenceKeeper:
    """Keeps the stored reference directory published on reference-data and every process in step."""
    publish = partial(publish_directory, runtime.producer, topic_prefix=settings.topic_prefix)
    return ReferenceKeeper(deps, publish, settings.reference_sync_interval_s)


def readiness(settings: IntakeSettings, runtime: Runtime, deps: Deps) -> ReadinessCheck:
    """Ready once the database answers and the reference directory is loaded (nothing can be reported before)."""

    async def database_and_reference_ready() -> bool:
        return deps.directory.loaded and await database_ready(runtime.pool, settings.readiness_timeout_s)

    return database_and_reference_ready


def build_app(settings: IntakeSettings) -> FastAPI:
    """The intake service as an ASGI app; its lifespan owns the pool, producer, consumers and relay."""
    # Data files are checked before anything connects: a broken file stops the start with a clear error.
    reference = read_reference_file(settings.reference_file, settings.municipalities_file)
    official_municipalities = municipality_codes(settings.municipalities_file)
    guidance = load_guidance(settings.guidance_dir)
    mappings = load_mappings(settings.mappings_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(settings) as runtime:
            deps = Deps(settings, runtime.pool, Sealer(settings.master_key_bytes), Directory(), guidance, mappings)
            keeper = reference_keeper(settings, runtime, deps)
            app.state.intake = deps
            app.state.reference_owner = ReferenceOwner(official_municipalities, keeper)
            runtime.readiness["database"] = readiness(settings, runtime, deps)
            jobs = [("reference-data", keep_loading_reference_data(deps, reference, keeper))]
            if settings.outbox_relay_enabled:
                jobs.append(("outbox-relay", build_relay(settings).run()))
            async with background(*jobs), consumers.consuming_all(runtime, deps):
                attach(app, runtime)
                yield

    app = create_app(
        title="Intake",
        description="Concerns reported over HTTP and from integrated housing systems: receipt, guidance, nothing lost.",
        lifespan=lifespan,
        routers=[*api.routers, whoami],
        body_limits=BodyLimits(
            settings.max_body_bytes,
            per_path={"/v1/reference-data": settings.reference_data_max_body_bytes},
            on_refused=_count_too_large,
        ),
    )
    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, api.database_unavailable)
    return app


def _count_too_large(path: str) -> None:
    if path == "/v1/concerns":
        CONCERNS_REFUSED.labels("http", "body_too_large").inc()


def main() -> None:
    """Run the service until SIGTERM."""
    settings = IntakeSettings()
    serve(build_app(settings), settings)

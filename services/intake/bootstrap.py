"""The composition root of the intake service: wires settings, adapters, consumers, relay and routes."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
from shared.outbox import relay_for
from shared.reference.follower import publish_directory
from shared.runtime import attach, serve, service_runtime
from shared.web.app import create_app
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
            app.state.intake = deps

            async def publish(directory: ReferenceDirectory) -> None:
                await publish_directory(runtime.producer, directory, topic_prefix=settings.topic_prefix)

            keeper = ReferenceKeeper(deps, publish, settings.reference_sync_interval_s)
            app.state.reference_owner = ReferenceOwner(official_municipalities, keeper)
            tasks = [asyncio.create_task(keep_loading_reference_data(deps, reference, keeper), name="reference-data")]
            if settings.outbox_relay_enabled:
                relay = relay_for(
                    "intake",
                    database_url=settings.database_url.get_secret_value(),
                    bootstrap_servers=settings.kafka_bootstrap_servers,
                    topics={CONCERN_EVENTS: settings.topic(CONCERN_EVENTS)},
                    batch_size=settings.outbox_batch_size,
                    poll_interval_s=settings.outbox_poll_interval_s,
                    retention_s=settings.outbox_retention_hours * 3600,
                )
                tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))

            async def database_and_reference_ready() -> bool:
                return deps.directory.loaded and await database_ready(runtime.pool, settings.readiness_timeout_s)

            runtime.readiness["database"] = database_and_reference_ready
            try:
                async with consumers.consuming_all(runtime, deps):
                    attach(app, runtime)
                    yield
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

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

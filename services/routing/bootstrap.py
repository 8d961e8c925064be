"""The composition root of the routing service: wires settings, adapters, Faust worker, relay, clocks and routes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import asyncpg
import faust
from fastapi import FastAPI
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential_jitter

from services.routing.adapters import rules_store
from services.routing.domain.clock import Clock, SystemClock, preload_holidays
from services.routing.entrypoints import api, consumers
from services.routing.entrypoints.background import LagProbe, every, run_clocks
from services.routing.handlers.deps import Deps, RulesInForce
from services.routing.settings import RoutingSettings
from shared import tracing
from shared.contracts.topics import CONCERN_EVENTS, REFERRAL_EVENTS
from shared.db.positions import PostgresPositions
from shared.kafka.positions import KafkaLog
from shared.kafka.streams import make_stream_app, running
from shared.outbox import OutboxRelay, relay_for
from shared.runtime import Runtime, attach, background, serve, service_runtime, tune_gc
from shared.web.app import create_app
from shared.web.body_limit import BodyLimits
from shared.web.reference import router as reference_data
from shared.web.whoami import router as whoami


async def _seed_rules(pool: asyncpg.Pool, settings: RoutingSettings) -> None:
    """Store the default rules as version 1 unless a version exists (waits for the database to come up)."""
    document = rules_store.load_file(settings.rules_file)
    async for attempt in AsyncRetrying(
        wait=wait_exponential_jitter(multiplier=0.5, max=5),
        stop=stop_after_delay(120),
        retry=retry_if_exception_type((OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)),
        reraise=True,
    ):
        with attempt:
            await rules_store.seed(pool, document)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (a round trip per batch): the agent keeps no session state
    (no LISTEN, session locks, cursors or SET); only a transaction left open by a cancellation is rolled back."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def _agent_pool(settings: RoutingSettings) -> asyncpg.Pool:
    """The concern batches' own connections: one per partition applier, never reset between batches."""
    return await asyncpg.create_pool(
        dsn=settings.database_url.get_secret_value(),
        min_size=0,  # like the service's pool: starts while PostgreSQL is away
        max_size=settings.topic_partitions + 1,
        timeout=5.0,
        command_timeout=30.0,
        reset=_keep_session,
        server_settings={"application_name": f"{settings.service_name}-agent"},
        setup=tracing.bind if tracing.enabled() else None,  # outbox rows take the event's trace (shared/tracing.py)
    )


def build_deps(settings: RoutingSettings, runtime: Runtime, clock: Clock) -> Deps:
    """The handlers' parts: the service's pool, the clock, the rules in force, topic and source."""
    return Deps(
        pool=runtime.pool,
        clock=clock,
        rules=RulesInForce(runtime.reference),
        consumer=settings.consumer_group,
        referral_topic=settings.topic(REFERRAL_EVENTS),
        source=settings.event_source,
    )


def build_stream_app(settings: RoutingSettings) -> faust.App:
    """The Faust app the concern agents run in."""
    # The Faust app id is the consumer group; each deployment (topic prefix) gets its own, so workers
    # of another deployment on the same cluster never take part in this one's partition assignment.
    stream_app = make_stream_app(settings)
    # A killed worker's partitions move to the others after 10 s instead of Faust's 60 s default.
    stream_app.conf.broker_session_timeout = settings.session_timeout_s
    # No standby copies of the repeat-windows table: it has no changelog (PostgreSQL is its durable truth).
    stream_app.conf.table_standby_replicas = 0
    return stream_app


def build_relay(settings: RoutingSettings) -> OutboxRelay:
    """The outbox relay that publishes the referrals' events on referral-events."""
    return relay_for(
        "routing",
        database_url=settings.database_url.get_secret_value(),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics={REFERRAL_EVENTS: settings.topic(REFERRAL_EVENTS)},
        batch_size=settings.relay_batch_size,
        poll_interval_s=settings.relay_poll_interval_s,
        linger_s=settings.relay_linger_s,
    )


def build_app(settings: RoutingSettings, clock: Clock | None = None) -> FastAPI:
    """The routing service as an ASGI app; its lifespan owns the pool, producer, Faust worker, relay and clocks."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(settings, follow_reference=True) as runtime:
            await _seed_rules(runtime.pool, settings)
            preload_holidays((clock or SystemClock()).now().year)
            deps = build_deps(settings, runtime, clock or SystemClock())
            stream_app = build_stream_app(settings)
            agent_pool = await _agent_pool(settings)
            agent_deps = replace(deps, pool=agent_pool)
            log = KafkaLog(settings.kafka_bootstrap_servers, client_id=f"{settings.kafka_group()}-log")
            concerns = consumers.concern_consumer(
                settings, agent_deps, runtime.dead_letters, PostgresPositions(agent_pool), log
            )
            consumers.register_agents(stream_app, settings, agent_deps, concerns)
            lag = LagProbe(stream_app, settings.kafka_bootstrap_servers, settings.topic(CONCERN_EVENTS))
            jobs = (
                ("outbox-relay", build_relay(settings).run()),
                ("clocks", every(settings.scheduler_interval_s, lambda: run_clocks(deps), "clocks")),
                ("lag", every(settings.lag_interval_s, lag.measure, "lag")),
            )
            try:
                async with running(stream_app), background(*jobs):
                    app.state.deps = deps
                    attach(app, runtime)
                    yield
            finally:
                await lag.close()
                await concerns.close()
                await agent_pool.close()

    # The demo clock exists only on a local development stack (LOCAL_DEV); elsewhere its path is a 404.
    demo = api.local_dev_routers(settings)
    return create_app(
        title="Routing",
        description="Every concern reaches someone who can help, and is chased until it is answered.",
        lifespan=lifespan,
        routers=[*api.routers, reference_data, whoami, *demo],
        body_limits=BodyLimits(settings.max_body_bytes),
    )


def main() -> None:
    """Run the service until SIGTERM."""
    settings = RoutingSettings()
    tune_gc()
    serve(build_app(settings), settings)

"""What every service owns while it runs: its pool, its producer, the registries it follows, its readiness checks."""

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg
import uvicorn
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import FastAPI
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential_jitter

from shared import tracing
from shared.auth.follower import ApiClientsFollower
from shared.auth.oidc import OidcVerifier, verifier_from
from shared.auth.registry import ClientRegistry
from shared.db.pool import create_pool, database_ready
from shared.kafka.config import producer_config
from shared.kafka.dead_letters import KafkaDeadLetters
from shared.kafka.producer import KafkaEventPublisher
from shared.logging import configure_logging, get_logger
from shared.reference.follower import ReferenceFollower
from shared.reference.holder import ReferenceHolder
from shared.settings import Settings
from shared.web.app import ReadinessCheck

log = get_logger(__name__)

GC_THRESHOLDS = (50_000, 20, 100)
"""The cyclic collector's thresholds in a running service (Python's are 700, 10, 10): see `tune_gc`."""


def tune_gc() -> None:
    """Collect cycles less often, and never walk what start-up built.

    A worker allocates a few hundred objects per event (Faust's messages, decoded events, rows), almost all
    freed at once by reference counting; with Python's thresholds the collector ran every 700 allocations and
    walked the older generations again and again. Frozen start-up objects (modules, models, the app) are left
    out of every collection. In the routing bench this took 15% off the worker's CPU per concern, so routing
    calls it. For intake, notify and stats the end-to-end bench showed no effect beyond its run-to-run spread
    (one run looked slower with it), so they keep Python's defaults until a bench shows a gain.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@dataclass
class Runtime:
    """The adapters a service's lifespan opens and closes; handlers get them from here."""

    settings: Settings
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    publisher: KafkaEventPublisher
    dead_letters: KafkaDeadLetters
    clients: ClientRegistry
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)
    reference: ReferenceHolder | None = None
    """The reference directory followed from its topic (None in intake, which owns it)."""
    oidc: OidcVerifier | None = None
    """Verifies persons' access tokens (None unless OIDC_ISSUER is set)."""


async def kafka_ready(producer: AIOKafkaProducer, timeout: float) -> bool:
    """True when the broker answers a metadata request within the timeout."""
    try:
        async with asyncio.timeout(timeout):
            metadata = await producer.client.fetch_all_metadata()
        return bool(metadata.brokers())
    except (TimeoutError, KafkaError, OSError):
        return False


async def _start_producer(settings: Settings) -> AIOKafkaProducer:
    """Start the producer, waiting for the broker for up to two minutes (it may still be starting)."""
    async for attempt in AsyncRetrying(
        wait=wait_exponential_jitter(multiplier=0.5, max=5),
        stop=stop_after_delay(120),
        retry=retry_if_exception_type((KafkaError, OSError)),
        reraise=True,
    ):
        with attempt:
            producer = AIOKafkaProducer(**producer_config(settings.kafka_bootstrap_servers, settings.service_name))
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
    return producer


@asynccontextmanager
async def service_runtime(settings: Settings, *, follow_reference: bool = False) -> AsyncIterator[Runtime]:
    """Open the pool, the producer and the api-clients follower; close them in reverse order.

    `follow_reference`: also follow the reference-data topic (routing, notify, stats); the service is not
    ready until it holds a directory.
    """
    pool = await create_pool(settings)
    producer = await _start_producer(settings)
    clients = ClientRegistry()
    follower = ApiClientsFollower(
        settings.kafka_bootstrap_servers,
        clients,
        client_id=f"{settings.service_name}-clients",
        topic_prefix=settings.topic_prefix,
    )
    follower.start()
    reference = ReferenceHolder() if follow_reference else None
    reference_follower = (
        ReferenceFollower(
            settings.kafka_bootstrap_servers,
            reference,
            client_id=f"{settings.service_name}-reference",
            topic_prefix=settings.topic_prefix,
        )
        if reference is not None
        else None
    )
    if reference_follower is not None:
        reference_follower.start()
    timeout = settings.readiness_timeout_s

    async def clients_loaded() -> bool:
        return clients.loaded

    runtime = Runtime(
        settings=settings,
        pool=pool,
        producer=producer,
        publisher=KafkaEventPublisher(producer),
        dead_letters=KafkaDeadLetters(producer, consumer=settings.consumer_group),
        clients=clients,
        readiness={
            "database": lambda: database_ready(pool, timeout),
            "kafka": lambda: kafka_ready(producer, timeout),
            "api_clients": clients_loaded,
        },
        reference=reference,
        oidc=verifier_from(settings),
    )
    if reference is not None:

        async def reference_loaded() -> bool:
            return reference.loaded

        runtime.readiness["reference_data"] = reference_loaded
    try:
        yield runtime
    finally:
        if runtime.oidc is not None:
            await runtime.oidc.close()
        if reference_follower is not None:
            await reference_follower.stop()
        await follower.stop()
        await producer.stop()
        await pool.close()


def attach(app: FastAPI, runtime: Runtime) -> None:
    """Make the runtime reachable from routes and the shared readiness and auth dependencies."""
    app.state.runtime = runtime
    app.state.clients = runtime.clients
    app.state.oidc = runtime.oidc
    app.state.readiness = runtime.readiness
    if runtime.reference is not None:
        app.state.reference = runtime.reference


def serve(app: FastAPI, settings: Settings) -> None:
    """Run the service in this process until SIGTERM; logs are JSON lines on stdout."""
    configure_logging(settings.service_name, settings.log_level)
    if tracing.setup(settings.service_name):  # off (nothing installed) unless OTEL_EXPORTER_OTLP_ENDPOINT or TRACE_DIR
        tracing.instrument_app(app)
    log.info("service_starting", port=settings.http_port)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        server_header=False,
        # X-Forwarded-For names the source address (the failed-authentication limit's key) only from the proxies
        # FORWARDED_ALLOW_IPS lists; uvicorn's default would trust it from any local process.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        timeout_graceful_shutdown=10,
    )


@asynccontextmanager
async def background(*jobs: tuple[str, Awaitable[None]]) -> AsyncIterator[None]:
    """Run named coroutines as tasks for the duration of the block; on exit cancel them and wait for each."""
    tasks = [asyncio.create_task(job, name=name) for name, job in jobs]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

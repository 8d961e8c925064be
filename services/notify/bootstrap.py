"""The composition root of the notify service: wires settings, adapters, consumer, workers and routes."""

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from services.notify.adapters.address_book import AddressBook
from services.notify.adapters.client_scopes import ClientScopes
from services.notify.adapters.deliveries import DeliveryQueue
from services.notify.adapters.delivery_log import DeliveryLog
from services.notify.adapters.email import EmailSender, SmtpTransport
from services.notify.adapters.reporter_contacts import IntakeReporterContacts
from services.notify.adapters.resolver import SystemResolver
from services.notify.adapters.secrets import SecretBox
from services.notify.adapters.subscriptions import SubscriptionStore
from services.notify.adapters.templates import TemplateRenderer
from services.notify.adapters.webhooks import WebhookSender, WebhookTransport
from services.notify.domain.model import Channel
from services.notify.domain.payloads import Links
from services.notify.domain.retry import RetryPolicy
from services.notify.entrypoints import api, consumers
from services.notify.entrypoints.deps import NotifyParts
from services.notify.handlers.backlog import run_backlog_gauge
from services.notify.handlers.deliveries import DeliveryWorkers
from services.notify.handlers.events import EventDeps
from services.notify.handlers.recorder import OutcomeRecorder
from services.notify.settings import NotifySettings
from shared.contracts.topics import NOTIFICATION_EVENTS
from shared.kafka.pipeline import consuming
from shared.logging import get_logger
from shared.outbox import relay_for
from shared.runtime import Runtime, attach, serve, service_runtime
from shared.web.app import create_app
from shared.web.body_limit import BodyLimits
from shared.web.reference import router as reference_data
from shared.web.whoami import router as whoami

log = get_logger(__name__)


def retry_policy(settings: NotifySettings) -> RetryPolicy:
    """The retry schedule from settings."""
    return RetryPolicy(
        base_s=settings.retry_base_s,
        max_delay_s=settings.retry_max_delay_s,
        window_s=settings.retry_window_s,
        retry_after_max_s=settings.retry_after_max_s,
        disable_after_s=settings.subscription_disable_after_s,
    )


async def _supervised(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run a background loop; if it fails on a bug, log and start it again rather than go quiet."""
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.error("background_task_failed", task=name, error=type(error).__name__)
            await asyncio.sleep(1.0)


@asynccontextmanager
async def notify_running(settings: NotifySettings, runtime: Runtime) -> AsyncIterator[NotifyParts]:
    """Start the delivery workers, the outbox relay, the backlog gauge and the consumer; stop them in reverse."""
    pool = runtime.pool
    secrets = SecretBox(settings.master_key.get_secret_value())
    resolver = SystemResolver()
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    async with contextlib.AsyncExitStack() as stack:
        webhook_transport = await stack.enter_async_context(
            WebhookTransport(max_connections=settings.delivery_workers * 2)
        )
        intake_http = await stack.enter_async_context(httpx.AsyncClient(timeout=settings.intake_timeout_s))
        contacts = None
        if settings.intake_token is not None:
            contacts = IntakeReporterContacts(
                intake_http, settings.intake_url, settings.intake_token.get_secret_value()
            )
        else:
            log.warning("reporter_receipts_disabled", because="INTAKE_TOKEN is not set")
        relay = relay_for(
            "notify",
            database_url=settings.database_url.get_secret_value(),
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topics={NOTIFICATION_EVENTS: settings.topic(NOTIFICATION_EVENTS)},
            poll_interval_s=0.5,
            linger_s=0.05,  # every recorded outcome wakes it: a moment's wait lets one batch carry many
        )
        address_book = AddressBook()
        if runtime.reference is not None:
            runtime.reference.subscribe(address_book.replace)
        senders = {
            Channel.WEBHOOK: WebhookSender(
                webhook_transport,
                resolver,
                secrets,
                allow_private=settings.private_targets_allowed,
                timeout_s=settings.webhook_timeout_s,
                connect_timeout_s=settings.webhook_connect_timeout_s,
            ),
            Channel.EMAIL: EmailSender(
                SmtpTransport(
                    settings.smtp_host,
                    settings.smtp_port,
                    settings.smtp_timeout_s,
                    settings.smtp_username,
                    settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                    settings.smtp_starttls,
                    settings.smtp_use_tls,
                ),
                TemplateRenderer(),
                address_book,
                contacts,
                sender=settings.email_from,
            ),
        }
        workers = DeliveryWorkers(
            DeliveryQueue(pool, owner),
            OutcomeRecorder(pool, owner),
            senders,
            retry_policy(settings),
            workers=settings.delivery_workers,
            per_target=settings.per_target_concurrency,
            lease_s=settings.delivery_lease_s,
            poll_s=settings.delivery_poll_s,
            topic=settings.topic(NOTIFICATION_EVENTS),
            source=settings.event_source,
            on_recorded=relay.wake,
        )
        links = Links(settings.public_routing_url, settings.public_intake_url)
        deps = EventDeps(
            pool=pool,
            consumer=settings.consumer_group,
            scope_of=ClientScopes(runtime.clients),
            links=links,
            receipts_enabled=contacts is not None,
            outcome_topic=settings.topic(NOTIFICATION_EVENTS),
            source=settings.event_source,
            on_planned=workers.wakeup.set,
        )
        delivery_log = DeliveryLog(pool)
        tasks = [
            asyncio.create_task(_supervised("outbox_relay", relay.run)),
            asyncio.create_task(_supervised("delivery_workers", workers.run)),
            asyncio.create_task(
                _supervised("backlog_gauge", lambda: run_backlog_gauge(delivery_log, settings.backlog_refresh_s))
            ),
        ]
        try:
            async with consuming(
                settings.kafka_bootstrap_servers,
                settings.kafka_group(),
                [settings.topic(t) for t in consumers.TOPICS],
                consumers.pipeline(settings.consumer_group, deps, runtime.dead_letters),
            ):
                yield NotifyParts(
                    settings=settings,
                    pool=pool,
                    subscriptions=SubscriptionStore(pool),
                    deliveries=delivery_log,
                    secrets=secrets,
                    resolver=resolver,
                    wake_workers=workers.wakeup.set,
                )
        finally:
            for task in reversed(tasks):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def build_app(settings: NotifySettings) -> FastAPI:
    """The notify service as an ASGI app; its lifespan owns the pool, producer, consumer and workers."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            service_runtime(settings, follow_reference=True) as runtime,
            notify_running(settings, runtime) as parts,
        ):
            app.state.notify = parts
            attach(app, runtime)
            yield

    return create_app(
        title="Notify",
        description="Municipalities, consultants and reporters hear what they need: webhooks, feed, e-mail.",
        lifespan=lifespan,
        routers=[*api.routers, reference_data, whoami],
        body_limits=BodyLimits(settings.max_body_bytes),
    )


def main() -> None:
    """Run the service until SIGTERM."""
    settings = NotifySettings()
    serve(build_app(settings), settings)

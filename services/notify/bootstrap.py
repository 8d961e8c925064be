"""The composition root of the notify service: `build_*` make the parts, `notify_running` starts and stops them."""

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
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
from services.notify.handlers.deliveries import DeliveryWorkers, Sender
from services.notify.handlers.events import EventDeps
from services.notify.handlers.recorder import OutcomeRecorder
from services.notify.settings import NotifySettings
from shared.contracts.topics import NOTIFICATION_EVENTS
from shared.kafka.pipeline import consuming
from shared.logging import get_logger
from shared.outbox import OutboxRelay, relay_for
from shared.runtime import Runtime, attach, background, serve, service_runtime
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


def reporter_contacts(settings: NotifySettings, http: httpx.AsyncClient) -> IntakeReporterContacts | None:
    """Where reporters' contacts come from (intake, audited there), or None: no receipts without INTAKE_TOKEN."""
    if settings.intake_token is None:
        log.warning("reporter_receipts_disabled", because="INTAKE_TOKEN is not set")
        return None
    return IntakeReporterContacts(http, settings.intake_url, settings.intake_token.get_secret_value())


def build_relay(settings: NotifySettings) -> OutboxRelay:
    """The outbox relay that publishes the recorded outcomes on notification-events."""
    return relay_for(
        "notify",
        database_url=settings.database_url.get_secret_value(),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics={NOTIFICATION_EVENTS: settings.topic(NOTIFICATION_EVENTS)},
        poll_interval_s=0.5,
        linger_s=0.05,  # every recorded outcome wakes it: a moment's wait lets one batch carry many
    )


def build_senders(
    settings: NotifySettings,
    transport: WebhookTransport,
    resolver: SystemResolver,
    secrets: SecretBox,
    address_book: AddressBook,
    contacts: IntakeReporterContacts | None,
) -> dict[Channel, Sender]:
    """One sender per channel: signed webhooks, and e-mail to recipients and reporters."""
    smtp = SmtpTransport(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_timeout_s,
        settings.smtp_username,
        settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        settings.smtp_starttls,
        settings.smtp_use_tls,
    )
    return {
        Channel.WEBHOOK: WebhookSender(
            transport,
            resolver,
            secrets,
            allow_private=settings.private_targets_allowed,
            timeout_s=settings.webhook_timeout_s,
            connect_timeout_s=settings.webhook_connect_timeout_s,
        ),
        Channel.EMAIL: EmailSender(smtp, TemplateRenderer(), address_book, contacts, sender=settings.email_from),
    }


def build_workers(
    settings: NotifySettings, pool: asyncpg.Pool, senders: dict[Channel, Sender], on_recorded: Callable[[], None]
) -> DeliveryWorkers:
    """The delivery workers: claim due deliveries, send, record the outcome (which wakes the relay)."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return DeliveryWorkers(
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
        on_recorded=on_recorded,
    )


def build_event_deps(
    settings: NotifySettings, runtime: Runtime, *, receipts: bool, on_planned: Callable[[], None]
) -> EventDeps:
    """What the consumer's handlers need to plan deliveries from events."""
    return EventDeps(
        pool=runtime.pool,
        consumer=settings.consumer_group,
        scope_of=ClientScopes(runtime.clients),
        links=Links(settings.public_routing_url, settings.public_intake_url),
        receipts_enabled=receipts,
        outcome_topic=settings.topic(NOTIFICATION_EVENTS),
        source=settings.event_source,
        on_planned=on_planned,
    )


@asynccontextmanager
async def notify_running(settings: NotifySettings, runtime: Runtime) -> AsyncIterator[NotifyParts]:
    """Start the delivery workers, the outbox relay, the backlog gauge and the consumer; stop them in reverse."""
    pool, secrets, resolver = runtime.pool, SecretBox(settings.master_key.get_secret_value()), SystemResolver()
    address_book = AddressBook()
    if runtime.reference is not None:
        runtime.reference.subscribe(address_book.replace)
    async with contextlib.AsyncExitStack() as stack:
        transport = await stack.enter_async_context(WebhookTransport(max_connections=settings.delivery_workers * 2))
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=settings.intake_timeout_s))
        contacts = reporter_contacts(settings, http)
        relay = build_relay(settings)
        senders = build_senders(settings, transport, resolver, secrets, address_book, contacts)
        workers = build_workers(settings, pool, senders, on_recorded=relay.wake)
        deps = build_event_deps(settings, runtime, receipts=contacts is not None, on_planned=workers.wakeup.set)
        delivery_log, refresh_s = DeliveryLog(pool), settings.backlog_refresh_s
        async with (
            background(
                ("outbox_relay", _supervised("outbox_relay", relay.run)),
                ("delivery_workers", _supervised("delivery_workers", workers.run)),
                ("backlog_gauge", _supervised("backlog_gauge", lambda: run_backlog_gauge(delivery_log, refresh_s))),
            ),
            consuming(
                settings.kafka_bootstrap_servers,
                settings.kafka_group(),
                [settings.topic(t) for t in consumers.TOPICS],
                consumers.pipeline(settings.consumer_group, deps, runtime.dead_letters),
            ),
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

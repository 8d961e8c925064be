"""Test parts for notify: real HTTP receivers (the example app) with behaviours, events, notify in-process."""

import asyncio
import contextlib
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from aiokafka import AIOKafkaProducer
from starlette.types import ASGIApp, Receive, Scope, Send

from examples.webhook_receiver.app import create_app as receiver_app
from services.notify.bootstrap import build_app
from services.notify.settings import NotifySettings
from shared.contracts.concerns import ConcernReported
from shared.contracts.envelope import Envelope, encode, make_event
from shared.contracts.referrals import ReferralCreated, ReferralEscalated, ReferralSlaBreached, ReferralStatusChanged
from shared.kafka.config import producer_config
from shared.subject_key import subject_key
from tests.support.services import free_port

MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LTAxMjM0NTY3ODlhYmNkZWY="
SUBJECT_SECRET = "test-subject-key-secret-0123456789"
ROUTING = "/services/routing"
MUNICIPALITY_OF = {"holbaek-1": "0316", "holbaek-2": "0316", "hoeng-1": "0326", "kalundborg-1": "0326"}


# ---- HTTP servers in a thread -------------------------------------------------------------------


@contextlib.contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free local port in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name=f"serve-{port}")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("test HTTP server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Behaviour:
    """In front of the example receiver: answer `status` for the first `fail_first` requests, or hang, or delay."""

    fail_first: int = 0
    status: int = 500
    always: int | None = None
    hang_s: float = 0.0
    delay_s: float = 0.0
    retry_after: str | None = None
    requests: int = 0
    times: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class BehavingReceiver:
    """ASGI wrapper: counts requests and applies a Behaviour before (or instead of) the example receiver."""

    def __init__(self, app: ASGIApp, behaviour: Behaviour):
        self._app = app
        self.behaviour = behaviour

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        b = self.behaviour
        if scope["type"] == "http" and scope["path"] == "/webhooks":
            with b.lock:
                b.requests += 1
                b.times.append(time.monotonic())
                number = b.requests
            if b.hang_s:
                await asyncio.sleep(b.hang_s)
            if b.delay_s:
                await asyncio.sleep(b.delay_s)
            status = b.always or (b.status if number <= b.fail_first else None)
            if status is not None:
                headers = [(b"content-type", b"text/plain")]
                if b.retry_after is not None:
                    headers.append((b"retry-after", b.retry_after.encode()))
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": b"no"})
                return
        await self._app(scope, receive, send)


@dataclass
class Receiver:
    """A running example receiver: its URL, its SQLite inbox and its behaviour."""

    url: str
    database: Path
    behaviour: Behaviour

    @property
    def webhook_url(self) -> str:
        """Where to subscribe."""
        return self.url + "/webhooks"

    def processed(self) -> dict[str, int]:
        """webhook-id -> how many times it was delivered (each processed once)."""
        with sqlite3.connect(self.database) as conn:
            return dict(conn.execute("SELECT webhook_id, deliveries FROM processed_webhooks").fetchall())

    def events(self) -> list[dict[str, Any]]:
        """The processed events' effect rows (one per processing)."""
        with sqlite3.connect(self.database) as conn:
            rows = conn.execute("SELECT event_id, type, referral_id, municipality_code FROM referral_events").fetchall()
        return [dict(zip(("event_id", "type", "referral_id", "municipality_code"), r, strict=True)) for r in rows]


@contextlib.contextmanager
def example_receiver(secret: str, tmp_path: Path, behaviour: Behaviour | None = None) -> Iterator[Receiver]:
    """The example receiver (examples/webhook_receiver) behind a Behaviour, served on a free port."""
    database = tmp_path / f"receiver-{uuid.uuid4().hex[:8]}.sqlite3"
    behaviour = behaviour or Behaviour()
    with serving(BehavingReceiver(receiver_app(secret, database), behaviour)) as url:
        yield Receiver(url, database, behaviour)


class LateSecretReceiver:
    """Serve first, learn the secret later (the secret exists only once the subscription is made)."""

    def __init__(self, tmp_path: Path, behaviour: Behaviour | None = None):
        self.database = tmp_path / f"receiver-{uuid.uuid4().hex[:8]}.sqlite3"
        self.behaviour = behaviour or Behaviour()
        self._app: ASGIApp | None = None

    def set_secret(self, secret: str) -> None:
        """Build the example receiver with the subscription's secret."""
        self._app = BehavingReceiver(receiver_app(secret, self.database), self.behaviour)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self._app(scope, receive, send)


# ---- events ---------------------------------------------------------------------------------------


def referral_created(
    department_id: str = "holbaek-1",
    *,
    target: str = "municipality",
    recipient_id: str | None = None,
    categories: tuple[str, ...] = ("rent_arrears", "eviction_risk"),
    severity: str = "high",
    concern_id: str | None = None,
    time: datetime | None = None,
) -> Envelope[ReferralCreated]:
    """A referral.created.v1 as routing would publish it."""
    municipality = MUNICIPALITY_OF[department_id]
    recipient = (
        recipient_id
        or {
            "municipality": f"municipality-{municipality}",
            "consultant": "consultant-holbaek",
            "association": "association-holbaek-naboskab",
        }[target]
    )
    now = time or datetime.now(UTC)
    concern = concern_id or str(uuid.uuid4())
    key = subject_key(SUBJECT_SECRET, "org-demo", tenancy_id=f"t-{concern[:6]}", department_id=department_id)
    data = ReferralCreated(
        referral_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{concern}|{target}")),
        concern_id=concern,
        subject_key=key,
        target=target,
        recipient_id=recipient,
        organisation_id="org-demo",
        department_id=department_id,
        municipality_code=municipality,
        categories=categories,
        severity=severity,
        urgent=severity == "acute",
        repeated=False,
        legal_basis="statutory_duty" if target == "municipality" else "none",
        disclosure="full" if target == "municipality" else "no_personal_details",
        task="act",
        rules_version=1,
        rule_id="rent_arrears_eviction_risk",
        ack_due_at=now + timedelta(days=1),
        created_at=now,
    )
    return make_event(data, source=ROUTING, subject=key, time=now)


def status_changed(created: Envelope[ReferralCreated], to_status: str, from_status: str = "requested", **extra: Any):
    """A referral.status_changed.v1 for a created referral."""
    d = created.data
    data = ReferralStatusChanged(
        referral_id=d.referral_id,
        concern_id=d.concern_id,
        target=d.target,
        municipality_code=d.municipality_code,
        department_id=d.department_id,
        from_status=from_status,
        to_status=to_status,
        changed_by_role=str(d.target),
        changed_at=datetime.now(UTC),
        **extra,
    )
    return make_event(data, source=ROUTING, subject=d.subject_key)


def sla_breached(created: Envelope[ReferralCreated]) -> Envelope[ReferralSlaBreached]:
    """A referral.sla_breached.v1 for a created referral."""
    d = created.data
    data = ReferralSlaBreached(
        referral_id=d.referral_id,
        concern_id=d.concern_id,
        target=d.target,
        recipient_id=d.recipient_id,
        municipality_code=d.municipality_code,
        department_id=d.department_id,
        severity=d.severity,
        ack_due_at=d.ack_due_at,
        breached_at=datetime.now(UTC),
    )
    return make_event(data, source=ROUTING, subject=d.subject_key)


def escalated(created: Envelope[ReferralCreated]) -> Envelope[ReferralEscalated]:
    """A referral.escalated.v1 for a created referral, to `escalation-<recipient>`."""
    d = created.data
    data = ReferralEscalated(
        referral_id=d.referral_id,
        concern_id=d.concern_id,
        target=d.target,
        recipient_id=d.recipient_id,
        municipality_code=d.municipality_code,
        department_id=d.department_id,
        severity=d.severity,
        ack_due_at=d.ack_due_at,
        escalation_contact_id=f"escalation-{d.recipient_id}",
        escalated_at=datetime.now(UTC),
    )
    return make_event(data, source=ROUTING, subject=d.subject_key)


def concern_reported(concern_id: str, *, has_reporter_contact: bool = True, department_id: str = "holbaek-1"):
    """A concern.reported.v1 as intake would publish it."""
    now = datetime.now(UTC)
    key = subject_key(SUBJECT_SECRET, "org-demo", tenancy_id=f"t-{concern_id[:6]}", department_id=department_id)
    data = ConcernReported(
        concern_id=concern_id,
        organisation_id="org-demo",
        department_id=department_id,
        municipality_code=MUNICIPALITY_OF[department_id],
        subject_key=key,
        categories=("hoarding",),
        severity="medium",
        consent="not_asked",
        observed_at=now - timedelta(days=1),
        reported_at=now,
        reporter_role="caretaker",
        channel="http",
        has_reporter_contact=has_reporter_contact,
        has_resident_details=True,
    )
    return make_event(data, source="/services/intake", subject=key, time=now)


async def produce(bootstrap: str, topic: str, events: list[Envelope[Any]]) -> None:
    """Publish events keyed by their subject, and wait for the broker."""
    producer = AIOKafkaProducer(**producer_config(bootstrap, "notify-tests"))
    await producer.start()
    try:
        sends = [await producer.send(topic, encode(e), key=e.subject.encode()) for e in events]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


# ---- notify in this process ----------------------------------------------------------------------


def notify_settings(database_url: str, kafka_bootstrap: str, topic_prefix: str, **overrides: Any) -> NotifySettings:
    """Settings for an in-process notify on the test's topics and database; short timings for tests."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": kafka_bootstrap,
        "topic_prefix": topic_prefix,
        "topic_partitions": 3,
        "subject_key_secret": SUBJECT_SECRET,
        "master_key": MASTER_KEY,
        "local_dev": True,
        "environment": "test",
        "retry_base_s": 0.2,
        "retry_max_delay_s": 0.5,
        "delivery_poll_s": 0.1,
        "backlog_refresh_s": 0.5,
        "public_routing_url": "https://routing.example.dk",
        "public_intake_url": "https://intake.example.dk",
    }
    return NotifySettings(**{**values, **overrides})


@contextlib.asynccontextmanager
async def running_notify(settings: NotifySettings) -> AsyncIterator[httpx.AsyncClient]:
    """The notify app with its lifespan (consumer, workers, relay) in this process; yields an API client."""
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notify", timeout=30) as client:
            client.notify_app = app  # type: ignore[attr-defined] - for tests that swap a port (the resolver)
            yield client


async def wait_ready(client: httpx.AsyncClient, token: str, within: float = 60.0) -> None:
    """Until the service answers for the token (its API-client registry has caught up)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        response = await client.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 200:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("notify did not recognise the token in time")


def bearer(token: str) -> dict[str, str]:
    """Authorization header."""
    return {"Authorization": f"Bearer {token}"}

"""The whole platform for end-to-end scenarios: four service processes on isolated topics and fresh databases,
a real SMTP server, a real webhook receiver per municipality, a log of every event, and the stats numbers."""

import asyncio
import contextlib
import email
import email.policy
import json
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import SimpleNamespace
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.auth.admin import IssuedClient, new_client, publish_record
from shared.auth.principal import Role
from shared.contracts.envelope import Envelope, decode
from shared.contracts.topics import CONCERN_EVENTS, NOTIFICATION_EVENTS, REFERRAL_EVENTS
from shared.kafka.admin import ensure_topics
from shared.kafka.config import client_config, partitions_of
from tests.support.databases import migrated_database
from tests.support.notify_helpers import serving
from tests.support.polling import eventually
from tests.support.services import ServiceProcess, free_port

SERVICES = ("intake", "routing", "notify", "stats")
SUBJECT_KEY_SECRET = "test-subject-key-secret-0123456789"
MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LTAxMjM0NTY3ODlhYmNkZWY="
WEBHOOK_TYPES = [
    "referral.created.v1",
    "referral.status_changed.v1",
    "referral.sla_breached.v1",
    "referral.escalated.v1",
]


def bearer(client: IssuedClient) -> dict[str, str]:
    """The Authorization header of an issued client."""
    return {"Authorization": f"Bearer {client.token}"}


# ---- the consultant's mailbox -------------------------------------------------------------------


class Mailbox:
    """aiosmtpd handler: every message the SMTP server accepted, with its envelope recipients."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        """The messages delivered to one address."""
        return [m for rcpt, m in self.received if address in rcpt]

    def mentioning(self, text: str) -> list[tuple[list[str], EmailMessage]]:
        """The messages whose body mentions `text` (a referral or concern id)."""
        return [(r, m) for r, m in self.received if text in m.get_content()]


# ---- the municipalities' webhook receiver --------------------------------------------------------


@dataclass
class WebhookDelivery:
    """One request to a municipality's endpoint, as received."""

    municipality: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: dict[str, Any] | None


@dataclass
class WebhookInbox:
    """A receiver with one endpoint per municipality (`/webhooks/<code>`); verifies Standard Webhooks signatures."""

    secrets: dict[str, str] = field(default_factory=dict)
    deliveries: list[WebhookDelivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        """The ASGI app: 204 for a verified request, 400 for a bad signature, 503 before the secret is known."""

        async def receive(request: Request) -> Response:
            code, body = request.path_params["code"], await request.body()
            headers = dict(request.headers)
            secret = self.secrets.get(code)
            if secret is None:
                return Response(status_code=503)
            try:
                payload, verified = Webhook(secret).verify(body, headers), True
            except (WebhookVerificationError, ValueError):
                payload, verified = None, False
            with self.lock:
                self.deliveries.append(WebhookDelivery(code, headers, body, verified, payload))
            return Response(status_code=204 if verified else 400)

        return Starlette(routes=[Route("/webhooks/{code}", receive, methods=["POST"])])

    def of(self, municipality: str, **data: Any) -> list[WebhookDelivery]:
        """Verified deliveries to a municipality whose `data` has the given values."""
        with self.lock:
            found = [d for d in self.deliveries if d.municipality == municipality and d.verified]
        return [d for d in found if all(d.payload["data"].get(k) == v for k, v in data.items())]  # type: ignore[index]


# ---- every event of the run -----------------------------------------------------------------------


class EventLog:
    """Reads concern-, referral- and notification-events (read_committed) from the start into memory."""

    def __init__(self, bootstrap: str, prefix: str):
        self._bootstrap = bootstrap
        self._consumer = AIOKafkaConsumer(
            **client_config(bootstrap), enable_auto_commit=False, isolation_level="read_committed"
        )
        self._topics = [prefix + t for t in (CONCERN_EVENTS, REFERRAL_EVENTS, NOTIFICATION_EVENTS)]
        self._task: asyncio.Task[None] | None = None
        self.events: list[Envelope[Any]] = []

    async def start(self) -> None:
        """Assign every partition from the beginning and read in the background."""
        await self._consumer.start()
        partitions = await partitions_of(self._bootstrap, *self._topics)
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            for batch in (await self._consumer.getmany(timeout_ms=200)).values():
                self.events.extend(decode(record.value) for record in batch)

    async def stop(self) -> None:
        """Stop reading."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    def of(self, event_type: str, **data: Any) -> list[Envelope[Any]]:
        """Events of a type whose data has the given values."""
        found = [e for e in self.events if e.type == event_type]
        return [e for e in found if all(getattr(e.data, k) == v for k, v in data.items())]


async def everything_on(bootstrap: str, prefix: str) -> list[tuple[str, bytes]]:
    """(topic, bytes) of the key, value and headers of every record on every topic of the prefix (dead letters too)."""
    admin = AIOKafkaAdminClient(**client_config(bootstrap))
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(prefix)]
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(**client_config(bootstrap), enable_auto_commit=False)
    await consumer.start()
    found: list[tuple[str, bytes]] = []
    try:
        partitions = await partitions_of(bootstrap, *topics)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)

        async def at_the_ends() -> bool:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                for record in batch:
                    parts = [record.key or b"", record.value or b"", *(v for _, v in record.headers)]
                    found.extend((record.topic, part) for part in parts)
            return all([await consumer.position(p) >= ends[p] for p in partitions])

        await eventually(at_the_ends, within=30, what=f"every topic of {prefix} read to its end")
    finally:
        await consumer.stop()
    return found


# ---- the dashboard's numbers -----------------------------------------------------------------------


async def stats_numbers(http: httpx.AsyncClient, token: IssuedClient) -> Counter[str]:
    """The stats API's counts (overview and response times by municipality) as one flat counter."""
    overview = (await http.get("/v1/stats/overview", headers=bearer(token))).json()
    numbers: Counter[str] = Counter()
    concerns = overview["concerns"]
    numbers["concerns"] = concerns["total"]
    numbers.update({f"department.{d['department_id']}": d["concerns"] for d in concerns["by_department"]})
    numbers.update({f"municipality.{m['municipality_code']}": m["concerns"] for m in concerns["by_municipality"]})
    numbers.update({f"severity.{s['severity']}": s["concerns"] for s in concerns["by_severity"]})
    numbers.update({f"category.{c['category']}": c["concerns"] for c in overview["categories"]})
    numbers["repeat_tenancies"] = overview["repeat_tenancies"]["tenancies"]
    numbers["repeat_concerns"] = overview["repeat_tenancies"]["concerns"]
    numbers["referrals"] = overview["referrals"]["total"]
    for r in overview["referrals"]["by_target_and_status"]:
        numbers[f"referrals.{r['target']}.{r['status']}"] = r["referrals"]
    for o in overview["outcomes"]:
        numbers[f"outcome.{o['outcome']}"] = o["concerns"]
    numbers["costs_avoided_dkk"] = overview["costs_avoided"]["total_dkk"]
    times = await http.get("/v1/stats/response-times", params={"group_by": "municipality"}, headers=bearer(token))
    for group in times.json()["groups"]:
        for figure in ("referrals", "acknowledged", "completed"):
            numbers[f"times.{group['municipality']}.{figure}"] = group[figure]
    return +numbers  # without zeros


# ---- the platform ----------------------------------------------------------------------------------


async def _issue_clients(bootstrap: str, prefix: str) -> SimpleNamespace:
    async def issue(role: Role, **scope: object) -> IssuedClient:
        issued = new_client(name=f"scenario {role.value}", role=role, **scope)  # type: ignore[arg-type]
        await publish_record(bootstrap, issued.record, topic_prefix=prefix)
        return issued

    return SimpleNamespace(
        reporter=await issue(Role.REPORTER, organisation_id="org-demo"),
        holbaek=await issue(Role.MUNICIPALITY, municipality_code="0316"),
        kalundborg=await issue(Role.MUNICIPALITY, municipality_code="0326"),
        consultant=await issue(Role.CONSULTANT, department_ids=["holbaek-1", "holbaek-2", "hoeng-1"]),
        consultant_kalundborg=await issue(Role.CONSULTANT, department_ids=["kalundborg-1"]),
        association=await issue(Role.ASSOCIATION, department_ids=["holbaek-1", "holbaek-2"]),
        ops=await issue(Role.OPS),
        admin=await issue(Role.ADMIN),
        notify_account=await issue(Role.ADMIN),  # notify's service account in intake (reporter receipts)
    )


@contextlib.asynccontextmanager
async def running_platform(bootstrap: str, admin_database_url: str) -> AsyncIterator[SimpleNamespace]:
    """intake, routing, notify and stats as processes, SMTP and webhook receivers, subscriptions made, events read."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(bootstrap, partitions=3, prefix=prefix)
    clients = await _issue_clients(bootstrap, prefix)
    mailbox, inbox = Mailbox(), WebhookInbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    ports = {s: free_port() for s in SERVICES}
    urls = {s: f"http://127.0.0.1:{p}" for s, p in ports.items()}
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "TOPIC_PREFIX": prefix,
        "TOPIC_PARTITIONS": "3",
        "SUBJECT_KEY_SECRET": SUBJECT_KEY_SECRET,
        "MASTER_KEY": MASTER_KEY,
        "LOCAL_DEV": "true",  # webhooks to the loopback receiver
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "INFO",
        "MIN_CELL_COUNT": "1",  # stats shows every count: the scenarios check exact figures (see test_stats_api)
    }
    extra = {
        "notify": {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "INTAKE_URL": urls["intake"],
            "INTAKE_TOKEN": clients.notify_account.token,
            "PUBLIC_ROUTING_URL": urls["routing"],
            "PUBLIC_INTAKE_URL": urls["intake"],
            "DELIVERY_POLL_S": "0.1",
            "RETRY_BASE_S": "0.5",
            "RETRY_MAX_DELAY_S": "2",
        },
    }
    events = EventLog(bootstrap, prefix)
    try:
        async with contextlib.AsyncExitStack() as stack:
            databases = {s: await stack.enter_async_context(migrated_database(admin_database_url, s)) for s in SERVICES}
            processes = {
                s: ServiceProcess(s, {**env, "DATABASE_URL": databases[s], **extra.get(s, {})}, port=ports[s])
                for s in SERVICES
            }
            log_starts = {s: p.log_path.stat().st_size if p.log_path.exists() else 0 for s, p in processes.items()}
            try:
                await asyncio.gather(*(asyncio.to_thread(p.start) for p in processes.values()))
                http = {
                    s: await stack.enter_async_context(httpx.AsyncClient(base_url=urls[s], timeout=30))
                    for s in SERVICES
                }
                for service in SERVICES:  # each follows the api-clients topic: wait until it knows the clients

                    async def known(service: str = service) -> bool:
                        whoami = await http[service].get("/v1/whoami", headers=bearer(clients.notify_account))
                        return whoami.status_code == 200

                    await eventually(known, within=60, what=f"{service} knowing the scenario's clients")
                receiver = stack.enter_context(serving(inbox.app()))
                for code, client in (("0316", clients.holbaek), ("0326", clients.kalundborg)):
                    subscribed = await http["notify"].post(
                        "/v1/subscriptions",
                        json={"url": f"{receiver}/webhooks/{code}", "event_types": WEBHOOK_TYPES},
                        headers=bearer(client),
                    )
                    assert subscribed.status_code == 201, subscribed.text
                    inbox.secrets[code] = subscribed.json()["secret"]
                await events.start()
                yield SimpleNamespace(
                    prefix=prefix,
                    bootstrap=bootstrap,
                    clients=clients,
                    processes=processes,
                    log_starts=log_starts,
                    http=http,
                    urls=urls,
                    mailbox=mailbox,
                    webhooks=inbox,
                    events=events,
                )
            finally:
                await events.stop()
                for process in processes.values():
                    process.stop()
    finally:
        smtp.stop()


def log_of(platform: SimpleNamespace, service: str) -> str:
    """What a service process logged during this run."""
    process = platform.processes[service]
    with process.log_path.open("rb") as log:
        log.seek(platform.log_starts[service])
        return log.read().decode(errors="replace")


def json_text(value: Any) -> str:
    """Compact JSON, as in an event or a webhook body (for searching planted text)."""
    return json.dumps(value, ensure_ascii=False)

"""The webhook and e-mail senders against fakes: signatures, pinning, answers, SMTP errors, templates."""

import json
from datetime import UTC, datetime
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from services.notify.adapters.address_book import AddressBook, Mailbox
from services.notify.adapters.deliveries import ClaimedDelivery
from services.notify.adapters.email import EmailSender, InMemoryMailTransport
from services.notify.adapters.reporter_contacts import InMemoryReporterContacts, ReporterContact
from services.notify.adapters.resolver import StaticResolver
from services.notify.adapters.secrets import SecretBox, new_signing_secret
from services.notify.adapters.templates import TemplateRenderer, danish_time
from services.notify.adapters.webhooks import WebhookSender
from services.notify.domain.fanout import consultant_emails, reporter_receipt
from services.notify.domain.model import AttemptKind, Channel
from services.notify.domain.payloads import Links
from tests.support.notify_helpers import MASTER_KEY, concern_reported, escalated, referral_created, sla_breached
from tests.support.reference import owner_directory

pytestmark = pytest.mark.unit

SUBSCRIPTION = "5b0c7a52-0000-4000-8000-000000000001"
BOX = SecretBox(MASTER_KEY)
SECRET = new_signing_secret()
RESOLVER = StaticResolver({"hooks.kommune.example.dk": ["93.184.216.34"], "rebound.example.dk": ["10.0.0.7"]})
LINKS = Links("https://routing.example.dk", "https://intake.example.dk")


def claimed(url: str = "https://hooks.kommune.example.dk/webhooks", **overrides: object) -> ClaimedDelivery:
    values: dict = {
        "id": "8d0f6a3e-0000-5000-8000-000000000002",
        "channel": Channel.WEBHOOK,
        "target_key": SUBSCRIPTION,
        "event_id": "evt-1",
        "event_type": "referral.created.v1",
        "event_time": datetime.now(UTC),
        "body": json.dumps({"type": "referral.created.v1", "data": {"referral_id": "r1"}}),
        "attempts": 1,
        "generation": 0,
        "window_started_at": datetime.now(UTC),
        "subscription_id": SUBSCRIPTION,
        "recipient_id": None,
        "template": None,
        "concern_id": None,
        "referral_id": "r1",
        "municipality_code": "0316",
        "subscription_url": url,
        "subscription_state": "active",
        "secret_ciphertext": BOX.seal(SECRET, SUBSCRIPTION),
        "client_id": "cli_x",
        "failing_since": None,
    }
    return ClaimedDelivery(**{**values, **overrides})


def sender(handler, *, allow_private: bool = False) -> tuple[WebhookSender, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return WebhookSender(httpx.MockTransport(record), RESOLVER, BOX, allow_private=allow_private, timeout_s=5), seen


async def test_a_webhook_is_signed_per_standard_webhooks_and_pinned_to_the_checked_address() -> None:
    webhooks, seen = sender(lambda r: httpx.Response(204))
    result = await webhooks.send(claimed())
    assert result.kind is AttemptKind.DELIVERED and result.status == 204
    [request] = seen
    assert request.url.host == "93.184.216.34"  # the address that was checked, not a second lookup
    assert request.headers["host"] == "hooks.kommune.example.dk"
    assert request.extensions["sni_hostname"] == "hooks.kommune.example.dk"
    assert request.headers["webhook-id"] == claimed().id
    body = Webhook(SECRET).verify(request.content, dict(request.headers))
    assert body["data"]["referral_id"] == "r1"


@pytest.mark.parametrize(
    ("answer", "kind", "reason"),
    [
        (httpx.Response(410), AttemptKind.GONE, "http_410"),
        (httpx.Response(500), AttemptKind.RETRY, "http_5xx"),
        (httpx.Response(404), AttemptKind.RETRY, "http_4xx"),
        (httpx.Response(302, headers={"location": "http://10.0.0.1/"}), AttemptKind.RETRY, "http_3xx"),
        (httpx.Response(429, headers={"retry-after": "30"}), AttemptKind.RETRY, "http_429"),
    ],
)
async def test_answers_other_than_2xx(answer: httpx.Response, kind: AttemptKind, reason: str) -> None:
    webhooks, seen = sender(lambda r: answer)
    result = await webhooks.send(claimed())
    assert (result.kind, result.reason) == (kind, reason) and len(seen) == 1
    if reason == "http_429":
        assert result.retry_after_s == 30


async def test_timeouts_and_refused_connections_are_retried() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    assert (await sender(slow)[0].send(claimed())).reason == "timeout"
    assert (await sender(refused)[0].send(claimed())).reason == "connection_error"


async def test_a_name_that_now_resolves_privately_is_not_called() -> None:
    webhooks, seen = sender(lambda r: httpx.Response(200))
    result = await webhooks.send(claimed("https://rebound.example.dk/webhooks"))
    assert (result.kind, result.reason) == (AttemptKind.RETRY, "target_refused") and seen == []


async def test_deliveries_of_inactive_subscriptions_are_cancelled_unsent() -> None:
    webhooks, seen = sender(lambda r: httpx.Response(200))
    for state in ("disabled", "deleted"):
        result = await webhooks.send(claimed(subscription_state=state))
        assert (result.kind, result.reason) == (AttemptKind.CANCELLED, f"subscription_{state}")
    assert seen == []


def email_delivery(planned, **overrides: object) -> ClaimedDelivery:
    values = {
        "id": planned.id,
        "channel": Channel.EMAIL,
        "target_key": planned.target_key,
        "event_id": planned.event_id,
        "event_type": planned.event_type,
        "event_time": planned.event_time,
        "body": planned.body,
        "attempts": 1,
        "generation": 0,
        "window_started_at": planned.event_time,
        "subscription_id": None,
        "recipient_id": planned.recipient_id,
        "template": planned.template,
        "concern_id": planned.concern_id,
        "referral_id": planned.referral_id,
        "municipality_code": None,
        "subscription_url": None,
        "subscription_state": None,
        "secret_ciphertext": None,
        "client_id": None,
        "failing_since": None,
    }
    return ClaimedDelivery(**{**values, **overrides})


BOOK = AddressBook({"consultant-holbaek": Mailbox("boligsocial.holbaek@example.dk", "Boligsocial konsulent (demo)")})


def mailer(transport: InMemoryMailTransport, contacts: InMemoryReporterContacts | None = None) -> EmailSender:
    return EmailSender(transport, TemplateRenderer(), BOOK, contacts, sender="Platformen <ikke-svar@example.dk>")


async def test_a_new_referral_mail_to_the_consultant_in_danish() -> None:
    transport = InMemoryMailTransport()
    created = referral_created("holbaek-1", target="consultant", severity="acute", categories=("threats_or_violence",))
    [planned] = consultant_emails(created, LINKS)
    result = await mailer(transport).send(email_delivery(planned))
    assert result.kind is AttemptKind.DELIVERED
    [message] = transport.sent
    assert message["To"].addresses[0].addr_spec == "boligsocial.holbaek@example.dk"
    assert message["Subject"] == "HASTER: Ny henvisning til dig – afdeling holbaek-1"
    assert message["Message-ID"] == f"<{planned.id}@example.dk>"
    text = message.get_content()
    assert "Kategori: trusler eller vold" in text and "ring 112" in text and "Alvorlighed: akut" in text


async def test_unknown_recipients_and_refused_mail_are_dead_and_outages_retried() -> None:
    created = referral_created("holbaek-1", target="consultant")
    [planned] = consultant_emails(created, LINKS)
    unknown = await mailer(InMemoryMailTransport()).send(email_delivery(planned, recipient_id="consultant-nowhere"))
    assert (unknown.kind, unknown.reason) == (AttemptKind.PERMANENT, "unknown_recipient")
    refused = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no such user", "x@example.dk")])
    rejected = await mailer(InMemoryMailTransport(fail_with=refused)).send(email_delivery(planned))
    assert (rejected.kind, rejected.reason) == (AttemptKind.PERMANENT, "smtp_rejected")
    down = await mailer(InMemoryMailTransport(fail_with=ConnectionRefusedError())).send(email_delivery(planned))
    assert (down.kind, down.reason) == (AttemptKind.RETRY, "smtp_unavailable")
    busy = aiosmtplib.SMTPResponseException(451, "try later")
    assert (await mailer(InMemoryMailTransport(fail_with=busy)).send(email_delivery(planned))).kind is AttemptKind.RETRY


async def test_a_mail_waits_for_the_reference_directory_and_then_goes_to_the_address_it_gives() -> None:
    created = referral_created("holbaek-1", target="consultant")
    [planned] = consultant_emails(created, LINKS)
    book, transport = AddressBook(), InMemoryMailTransport()
    sender = EmailSender(transport, TemplateRenderer(), book, None, sender="Platformen <ikke-svar@example.dk>")
    waiting = await sender.send(email_delivery(planned))
    assert (waiting.kind, waiting.reason) == (AttemptKind.RETRY, "reference_data_loading")  # not dead: retried
    book.replace(owner_directory())
    assert (await sender.send(email_delivery(planned))).kind is AttemptKind.DELIVERED
    assert transport.sent[0]["To"].addresses[0].addr_spec == owner_directory().recipients["consultant-holbaek"].email


async def test_reporter_receipts_go_to_the_contact_intake_holds_and_only_by_email() -> None:
    concern = "c0ffee00-0000-4000-8000-00000000000a"
    planned = reporter_receipt(concern_reported(concern))
    transport = InMemoryMailTransport()
    contacts = InMemoryReporterContacts({concern: ReporterContact("email", "anmelder@example.dk", "K7WX-3MPQ")})
    assert (await mailer(transport, contacts).send(email_delivery(planned))).kind is AttemptKind.DELIVERED
    assert transport.sent[0]["To"] == "anmelder@example.dk" and contacts.asked == [concern]
    # The reporter is told to quote the receipt code: the mail gives it, never the concern's id.
    text = transport.sent[0]["Subject"] + transport.sent[0].get_content()
    assert "K7WX-3MPQ" in text and concern not in text
    codeless = InMemoryReporterContacts({concern: ReporterContact("email", "anmelder@example.dk")})
    assert (await mailer(transport, codeless).send(email_delivery(planned))).kind is AttemptKind.RETRY
    sms = InMemoryReporterContacts({concern: ReporterContact("sms", "+4511223344", "K7WX-3MPQ")})
    assert (await mailer(transport, sms).send(email_delivery(planned))).reason == "unsupported_channel"
    gone = await mailer(transport, InMemoryReporterContacts()).send(email_delivery(planned))
    assert (gone.kind, gone.reason) == (AttemptKind.CANCELLED, "no_reporter_contact")
    assert len(transport.sent) == 1


def test_every_template_renders_from_the_thin_context_alone() -> None:
    renderer = TemplateRenderer()
    created = referral_created("hoeng-1", target="consultant")
    for planned in [
        *consultant_emails(created, LINKS),
        *consultant_emails(sla_breached(created), LINKS),
        *consultant_emails(escalated(created), LINKS),
    ]:
        subject, body = renderer.render(planned.template, json.loads(planned.body))
        assert subject and "afdeling hoeng-1" in subject and created.data.referral_id in body


def test_times_are_danish_local_time() -> None:
    assert danish_time("2025-03-04T08:30:00+00:00") == "4. marts 2025 kl. 09.30"
    assert danish_time(datetime(2025, 7, 1, 22, 5, tzinfo=UTC)) == "2. juli 2025 kl. 00.05"


def test_message_type_is_plain_text() -> None:
    message = EmailMessage()
    message.set_content("æøå")
    assert message.get_content_type() == "text/plain"

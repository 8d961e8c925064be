"""E-mail to a real SMTP server (aiosmtpd): Danish templates to consultants, receipts and updates to reporters."""

import email
import email.policy
import uuid
from dataclasses import dataclass, field

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.auth.principal import Role
from shared.contracts.topics import CONCERN_EVENTS, REFERRAL_EVENTS
from tests.support.notify_helpers import (
    concern_reported,
    escalated,
    notify_settings,
    produce,
    referral_created,
    running_notify,
    serving,
    sla_breached,
    status_changed,
    wait_ready,
)
from tests.support.polling import eventually
from tests.support.services import free_port

pytestmark = pytest.mark.integration

INTAKE_TOKEN = "crp_test_notify_service_account_token"
PLANTED = ("Grethe Planted-Jensen", "+45 12 34 56 78", "Hovedgaden 7, 4270 Høng")


@dataclass
class Mailbox:
    """aiosmtpd handler: keeps every message it accepts."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        """Messages addressed to `address`."""
        return [m for m, rcpt in zip(self.messages, self.recipients, strict=True) if address in rcpt]


def intake_stand_in(contacts: dict[str, dict], calls: list[tuple[str, str]]) -> Starlette:
    """intake's agreed `GET /v1/concerns/{id}/reporter-contact` (admin only), with planted extra details."""

    async def reporter_contact(request: Request) -> JSONResponse:
        concern_id = request.path_params["concern_id"]
        calls.append((concern_id, request.headers.get("authorization", "")))
        if request.headers.get("authorization") != f"Bearer {INTAKE_TOKEN}":
            return JSONResponse({"title": "Unauthorized"}, status_code=401)
        if concern_id not in contacts:
            return JSONResponse({"title": "Not found"}, status_code=404)
        # Fields beyond the agreed ones, as a careless intake might add: notify must not pass them on.
        return JSONResponse(
            {**contacts[concern_id], "name": PLANTED[0], "phone": PLANTED[1], "address_line": PLANTED[2]}
        )

    return Starlette(routes=[Route("/v1/concerns/{concern_id}/reporter-contact", reporter_contact)])


def _text(message: email.message.EmailMessage) -> str:
    return message["Subject"] + "\n" + message.get_content()


async def test_consultant_and_reporter_emails_arrive_in_danish_without_personal_details(
    fresh_database, issue_client, kafka_bootstrap: str, topic_prefix: str
) -> None:
    ops = await issue_client(Role.OPS)
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    reporting, silent, by_sms = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    calls: list[tuple[str, str]] = []
    contacts = {
        reporting: {"channel": "email", "address": "vicevaert.holbaek@example.dk", "receipt_code": "NVUP-BVCU"},
        by_sms: {"channel": "sms", "address": "+4511223344", "receipt_code": "K7WX-3MPQ"},
    }
    try:
        with serving(intake_stand_in(contacts, calls)) as intake_url:
            async with fresh_database("notify") as database_url:
                settings = notify_settings(
                    database_url,
                    kafka_bootstrap,
                    topic_prefix,
                    smtp_host="127.0.0.1",
                    smtp_port=smtp.port,
                    intake_url=intake_url,
                    intake_token=INTAKE_TOKEN,
                )
                async with running_notify(settings) as notify:
                    await wait_ready(notify, ops.token)
                    created = referral_created(
                        "hoeng-1", target="consultant", categories=("hoarding", "self_neglect"), concern_id=reporting
                    )
                    to_municipality = referral_created("hoeng-1", target="municipality", concern_id=reporting)
                    await produce(
                        kafka_bootstrap,
                        topic_prefix + CONCERN_EVENTS,
                        [
                            concern_reported(reporting, department_id="hoeng-1"),
                            concern_reported(silent, has_reporter_contact=False),
                            concern_reported(by_sms),
                        ],
                    )
                    await produce(
                        kafka_bootstrap,
                        topic_prefix + REFERRAL_EVENTS,
                        [
                            created,
                            to_municipality,
                            sla_breached(created),
                            escalated(created),
                            status_changed(created, "accepted", from_status="received"),
                            # A second recipient accepting tells the reporter nothing new.
                            status_changed(to_municipality, "accepted", from_status="received"),
                            status_changed(created, "completed", from_status="in_progress", outcome="eviction_avoided"),
                        ],
                    )

                    async def all_sent() -> bool:
                        return len(mailbox.messages) >= 7

                    await eventually(all_sent, within=60, what="seven e-mails at the SMTP server")

                    async def settled() -> bool:
                        conn = await asyncpg.connect(database_url)
                        try:
                            return not await conn.fetchval("SELECT count(*) FROM deliveries WHERE state = 'pending'")
                        finally:
                            await conn.close()

                    await eventually(settled, what="no e-mail left pending")
                    listed = await notify.get(
                        "/v1/deliveries", params={"channel": "email"}, headers={"Authorization": f"Bearer {ops.token}"}
                    )
                    states = {(d["recipient_id"], d["state"], d["last_reason"]) for d in listed.json()["items"]}
                    of_concern = await notify.get(
                        "/v1/deliveries",
                        params={"concern_id": reporting},
                        headers={"Authorization": f"Bearer {ops.token}"},
                    )
    finally:
        smtp.stop()

    assert len(mailbox.messages) == 7  # nothing twice, nothing for the municipality referral
    [new] = mailbox.to("boligsocial.holbaek@example.dk")[:1]
    assert new["Subject"] == "Ny henvisning til dig – afdeling hoeng-1"
    body = new.get_content()
    assert "Kategori: samlermani, selvforsømmelse" in body
    assert "Alvorlighed: høj" in body and " kl. " in body
    assert f"https://routing.example.dk/v1/referrals/{created.data.referral_id}" in body
    assert created.data.subject_key not in body
    consultant_subjects = [m["Subject"] for m in mailbox.to("boligsocial.holbaek@example.dk")]
    assert consultant_subjects[1:] == [
        "Påmindelse: henvisning venter på kvittering – afdeling hoeng-1",
        "Henvisning eskaleret – afdeling hoeng-1",
    ]
    [lead] = mailbox.to("boligsocial.leder.holbaek@example.dk")
    assert lead["Subject"] == "Eskalering: henvisning uden kvittering – afdeling hoeng-1"

    reporter = mailbox.to("vicevaert.holbaek@example.dk")
    assert [m["Subject"] for m in reporter] == [
        "Kvittering: vi har modtaget din bekymring (NVUP-BVCU)",
        "Din bekymring NVUP-BVCU er taget under behandling",
        "Din bekymring NVUP-BVCU er afsluttet",
    ]
    # Every mail to the reporter quotes the receipt code, none the concern's id.
    assert all("NVUP-BVCU" in m.get_content() and reporting not in _text(m) for m in reporter)
    everything = "\n".join(_text(m) for m in mailbox.messages)
    for planted in PLANTED:
        assert planted not in everything
    assert "eviction_avoided" not in everything and "udsættelse" not in _text(reporter[2])
    assert all(m["Message-ID"].endswith("@example.dk>") for m in mailbox.messages)

    # intake was asked with the service token, only for concerns whose reporter left a contact.
    assert {c for c, _ in calls} == {reporting, by_sms}
    assert {auth for _, auth in calls} == {f"Bearer {INTAKE_TOKEN}"}
    assert ("reporter", "cancelled", "unsupported_channel") in states
    # Support, having found the caller's concern by its receipt code, sees what was sent about it.
    about = of_concern.json()["items"]
    assert {d["concern_id"] for d in about} == {reporting}
    assert [d["state"] for d in about if d["recipient_id"] == "reporter"] == ["delivered"] * 3

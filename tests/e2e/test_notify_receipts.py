"""intake and notify as processes: a reporter who left an e-mail address gets a Danish receipt, nothing more."""

import asyncio
import email
import email.policy

import httpx
import pytest
from aiosmtpd.controller import Controller

from shared.auth.principal import Role
from tests.support.intake_harness import concern_body
from tests.support.notify_helpers import bearer
from tests.support.polling import eventually
from tests.support.services import ServiceProcess, free_port

pytestmark = pytest.mark.e2e


class Mailbox:
    """aiosmtpd handler keeping (recipients, message)."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"


async def test_a_reported_concern_gives_the_reporter_a_receipt_through_intakes_contact_endpoint(
    fresh_database, service_env, issue_client
) -> None:
    reporter = await issue_client(Role.REPORTER, organisation_id="org-demo")
    notify_account = await issue_client(Role.ADMIN)  # notify's service account in intake
    admin = await issue_client(Role.ADMIN)
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        async with fresh_database("intake") as intake_db, fresh_database("notify") as notify_db:
            intake = ServiceProcess("intake", {**service_env, "DATABASE_URL": intake_db})
            await asyncio.to_thread(intake.start)
            notify = ServiceProcess(
                "notify",
                {
                    **service_env,
                    "DATABASE_URL": notify_db,
                    "INTAKE_URL": intake.url,
                    "INTAKE_TOKEN": notify_account.token,
                    "SMTP_HOST": "127.0.0.1",
                    "SMTP_PORT": str(smtp.port),
                },
            )
            await asyncio.to_thread(notify.start)
            try:
                async with httpx.AsyncClient(base_url=intake.url, timeout=30) as http:

                    async def known() -> bool:
                        return (await http.get("/v1/whoami", headers=bearer(admin.token))).status_code == 200

                    await eventually(known, what="intake knowing the clients")
                    body = concern_body(
                        reporter={"role": "caretaker", "name": "Planted Reporter", "contact": "vicevaert@example.org"}
                    )
                    answer = await http.post("/v1/concerns", json=body, headers=bearer(reporter.token))
                    assert answer.status_code == 201, answer.text
                    concern_id, code = answer.json()["id"], answer.json()["receipt_code"]
                    silent = concern_body(reporter={"role": "caretaker"})  # no contact: no receipt
                    assert (
                        await http.post("/v1/concerns", json=silent, headers=bearer(reporter.token))
                    ).status_code == 201

                    async def receipt_sent() -> bool:
                        return len(mailbox.received) >= 1

                    await eventually(receipt_sent, within=90, what="the receipt at the SMTP server")
                    await asyncio.sleep(2)  # room for a second, unwanted e-mail to show up
                    audit = await http.get(f"/v1/concerns/{concern_id}/audit", headers=bearer(admin.token))
            finally:
                notify.stop()
                intake.stop()
    finally:
        smtp.stop()

    [(recipients, message)] = mailbox.received
    assert recipients == ["vicevaert@example.org"]
    assert message["Subject"] == f"Kvittering: vi har modtaget din bekymring ({code})"
    text = message.get_content()
    # The code the reporter was told to keep, never the id alone (a person cannot quote or look that up).
    assert f"Din kvitteringskode er {code}." in text and concern_id not in text and "ring 112" in text
    # Nothing of the report itself: not the reporter's name, the resident, or the description.
    for planted in ("Planted Reporter", "Fiktiv Beboer", "Testvej 1", "+45 11 22 33 44", "Stærk lugt"):
        assert planted not in text and planted not in message["Subject"]
    # intake audited notify's read of the contact, under the agreed basis.
    assert audit.status_code == 200
    reads = [a for a in audit.json() if a["action"] == "read_reporter_contact"]
    assert [(a["client_id"], a["basis"]) for a in reads] == [(notify_account.record.client_id, "reporter_notification")]

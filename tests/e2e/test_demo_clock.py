"""The demo clock with real processes: `crp demo advance` reminds and escalates via Kafka, notify and the mail sink."""

import asyncio
import email
import email.policy
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from shared.auth.principal import Role
from shared.contracts.topics import CONCERN_EVENTS, REFERRAL_EVENTS
from tests.support.notify_helpers import LateSecretReceiver, serving
from tests.support.polling import eventually
from tests.support.routing_events import concern_event, publish, read_committed
from tests.support.services import ROOT, ServiceProcess, free_port

pytestmark = pytest.mark.e2e
ADVANCE = "/v1/demo/clock/advance"
CLOCK_EVENTS = ("referral.sla_breached.v1", "referral.escalated.v1")


def _stack_home(home: Path, routing_url: str, admin_token: str) -> Path:
    """A local stack's home as `make up` writes it, as far as the demo clock reads it."""
    (home / "stack.env").write_text(f"ROUTING_URL={routing_url}\n")
    (home / "credentials.json").write_text(json.dumps([{"name": "demo admin", "role": "admin", "token": admin_token}]))
    return home


async def _crp_demo_advance(home: Path, working_days: int, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("LOCAL_DEV", "STACK_HOME")} | env
    command = [sys.executable, "-m", "shared.cli", "demo", "advance", "--working-days", str(working_days)]
    return await asyncio.to_thread(
        subprocess.run,
        [*command, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, "COLUMNS": "200"},
        cwd=ROOT,
    )


def _mail_sink(directory: Path, port: int) -> subprocess.Popen[bytes]:
    """The local stack's own SMTP sink (aiosmtpd): every message lands as a .eml file in `directory`."""
    command = [sys.executable, "-m", "deploy.mailsink", "--directory", str(directory), "--port", str(port)]
    return subprocess.Popen(command, cwd=ROOT)  # noqa: S603 - our own interpreter and module


def _webhook_types(receiver: LateSecretReceiver) -> list[str]:
    """The event types the example receiver applied, once each."""
    if not receiver.database.exists():
        return []
    with sqlite3.connect(receiver.database) as conn:
        return sorted(row[0] for row in conn.execute("SELECT type FROM referral_events"))


async def _subscribe(notify_url: str, token: str, receiver: LateSecretReceiver, receiver_url: str) -> None:
    """Holbæk's single entry subscribes the example receiver to its referrals' reminders and escalations."""
    async with httpx.AsyncClient(base_url=notify_url, timeout=10) as http:
        headers = {"Authorization": f"Bearer {token}"}

        async def known() -> bool:
            return (await http.get("/v1/whoami", headers=headers)).status_code == 200

        await eventually(known, what="notify knowing the municipality's token")
        types = ["referral.sla_breached.v1", "referral.escalated.v1"]
        answer = await http.post(
            "/v1/subscriptions", json={"url": receiver_url + "/webhooks", "event_types": types}, headers=headers
        )
        assert answer.status_code == 201, answer.text
        receiver.set_secret(answer.json()["secret"])


def _mails(directory: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(directory.glob("*.eml"))
    ]


async def test_advancing_the_demo_clock_reminds_then_escalates_through_events_and_e_mails(
    fresh_database, service_env, issue_client, topic_prefix: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    admin = await issue_client(Role.ADMIN)
    consultant = await issue_client(Role.CONSULTANT, department_ids=["holbaek-1"])
    holbaek = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    receiver = LateSecretReceiver(tmp_path)
    mail_dir, smtp_port = tmp_path / "mail", free_port()
    sink = _mail_sink(mail_dir, smtp_port)
    processes: list[ServiceProcess] = []
    try:
        with serving(receiver) as receiver_url:
            async with (
                fresh_database("intake") as intake_db,
                fresh_database("routing") as routing_db,
                fresh_database("notify") as notify_db,
            ):
                intake = ServiceProcess("intake", {**service_env, "DATABASE_URL": intake_db})
                # The clocks' own round runs at start and then not for an hour: only the advances make them fire.
                routing = ServiceProcess(
                    "routing", {**service_env, "DATABASE_URL": routing_db, "SCHEDULER_INTERVAL_S": "3600"}
                )
                notify = ServiceProcess(
                    "notify",
                    {
                        **service_env,
                        "DATABASE_URL": notify_db,
                        "INTAKE_URL": "http://127.0.0.1:9",
                        "SMTP_HOST": "127.0.0.1",
                        "SMTP_PORT": str(smtp_port),
                    },
                )
                for process in (intake, routing, notify):
                    processes.append(process)
                    await asyncio.to_thread(process.start)
                home = _stack_home(tmp_path, routing.url, admin.token)
                await _subscribe(notify.url, holbaek.token, receiver, receiver_url)
                # Rent arrears go to the consultant and to Holbæk's single entry; hoarding to the consultant alone.
                high = concern_event(categories=("rent_arrears",), severity="high")
                medium = concern_event(categories=("hoarding",), severity="medium")
                await publish(kafka_bootstrap, topic_prefix + CONCERN_EVENTS, [high, medium])
                created = await read_committed(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, expected=3)
                target_of = {e.data.referral_id: (e.data.concern_id, e.data.target.value) for e in created}
                async with httpx.AsyncClient(base_url=routing.url, timeout=30) as http:
                    as_admin = {"Authorization": f"Bearer {admin.token}"}

                    async def known() -> bool:
                        return (await http.get("/v1/referrals", headers=as_admin)).status_code == 200

                    await eventually(known, what="routing knowing the admin client")
                    as_consultant = {"Authorization": f"Bearer {consultant.token}"}
                    refused = await http.post(ADVANCE, json={"working_days": 1}, headers=as_consultant)
                    assert refused.status_code == 403  # admins only
                    bad = await http.post(ADVANCE, json={"working_days": 0}, headers=as_admin)
                    assert bad.status_code == 422 and "working_days" in bad.text

                # Tomorrow (one working day on): the high concern's two referrals are due: reminders.
                first = await _crp_demo_advance(home, 1)
                assert first.returncode == 0, first.stdout + first.stderr
                assert "3 open referral(s) moved, 2 reminder(s) sent (SLA breached), 0 escalation(s)" in first.stdout
                # One more: twice their due time, so they escalate; the medium one (3 days) still waits.
                second = await _crp_demo_advance(home, 1)
                assert second.returncode == 0, second.stdout + second.stderr
                assert "0 reminder(s) sent (SLA breached), 2 escalation(s)" in second.stdout

                events = await read_committed(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, expected=7)
                clocks = sorted((e.type, target_of[e.data.referral_id]) for e in events if e.type in CLOCK_EVENTS)
                concern = high.data.concern_id
                assert clocks == [
                    ("referral.escalated.v1", (concern, "consultant")),
                    ("referral.escalated.v1", (concern, "municipality")),
                    ("referral.sla_breached.v1", (concern, "consultant")),
                    ("referral.sla_breached.v1", (concern, "municipality")),
                ]
                contacts = {e.data.escalation_contact_id for e in events if e.type == "referral.escalated.v1"}
                assert contacts == {"escalation-consultant-holbaek", "escalation-municipality-0316"}

                async def webhooks_arrived() -> bool:
                    return _webhook_types(receiver) == sorted(CLOCK_EVENTS)

                await eventually(webhooks_arrived, within=60, what="Holbæk's reminder and escalation webhooks")

                def subjects() -> list[tuple[str, str]]:
                    return [(m["To"], m["Subject"].split(":")[0]) for m in _mails(mail_dir)]

                async def reminded_and_escalated() -> bool:
                    kinds = {kind for _, kind in subjects()}
                    return {"Påmindelse", "Eskalering"} <= kinds

                await eventually(reminded_and_escalated, within=60, what="the reminder and escalation e-mails")
                reminders = [to for to, kind in subjects() if kind == "Påmindelse"]
                assert len(reminders) == 1 and "boligsocial.holbaek@example.dk" in reminders[0]
    finally:
        for process in reversed(processes):
            process.stop()
        sink.terminate()
        sink.wait(10)


async def test_without_local_dev_routing_has_no_demo_clock_and_the_cli_refuses(
    fresh_database, service_env, issue_client, tmp_path: Path
) -> None:
    admin = await issue_client(Role.ADMIN)
    async with fresh_database("routing") as routing_db:
        routing = ServiceProcess("routing", {**service_env, "DATABASE_URL": routing_db, "LOCAL_DEV": "false"})
        await asyncio.to_thread(routing.start)
        try:
            async with httpx.AsyncClient(base_url=routing.url, timeout=30) as http:
                as_admin = {"Authorization": f"Bearer {admin.token}"}

                async def known() -> bool:
                    return (await http.get("/v1/referrals", headers=as_admin)).status_code == 200

                await eventually(known, what="routing knowing the admin client")
                assert (await http.post(ADVANCE, json={"working_days": 1}, headers=as_admin)).status_code == 404
                assert ADVANCE not in (await http.get("/openapi.json")).json()["paths"]
            home = _stack_home(tmp_path, routing.url, admin.token)
            at_routing = await _crp_demo_advance(home, 1)
            assert at_routing.returncode == 1
            assert "has no demo clock: LOCAL_DEV is off there" in at_routing.stdout
            here = await _crp_demo_advance(home, 1, LOCAL_DEV="false")
            assert here.returncode == 1 and "refused: LOCAL_DEV is off" in here.stdout
        finally:
            routing.stop()

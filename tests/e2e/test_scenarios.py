"""End to end, as the demo organisation lives it: concerns in over HTTP and from the housing systems, followed to
their referrals, the municipalities' signed webhooks, the consultants' e-mails, the recipients' answers and the
dashboard's numbers; then a sweep of every log and event for the personal details planted in the reports.

One platform (intake, routing, notify, stats as processes on isolated topics and fresh databases, a real SMTP
server, a real webhook receiver for Holbæk 0316 and Kalundborg 0326) serves the module. The scenarios run in
table order; each checks the stats API moved by exactly its own deltas.
"""

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from shared.contracts.inbound import InboundConcern, encode_inbound
from shared.contracts.topics import CONCERN_INBOUND
from shared.kafka.config import producer_config
from shared.subject_key import subject_key
from tests.support.polling import eventually
from tests.support.reference import owner_directory
from tests.support.scenario_table import (
    INBOUND_A_PERSON,
    SCENARIOS,
    TRIAGE_PHRASES,
    Move,
    Referral,
    Report,
    Scenario,
)
from tests.support.scenarios import (
    SERVICES,
    SUBJECT_KEY_SECRET,
    bearer,
    everything_on,
    log_of,
    running_platform,
    stats_numbers,
)

pytestmark = pytest.mark.e2e

# From the owner's reference directory (intake's), which notify follows: never a copy of their own.
MUNICIPALITY_OF = {d.id: d.municipality_code for _, d in owner_directory().departments()}
MAILBOXES = {rid: r.email for rid, r in owner_directory().recipients.items() if r.email}
# What a municipality's webhook may carry about a new referral (DESIGN: thin events; notify hides the pseudonym).
WEBHOOK_CREATED_FIELDS = {
    "event_id", "referral_id", "concern_id", "target", "recipient_id", "organisation_id", "department_id",
    "municipality_code", "categories", "severity", "urgent", "repeated", "legal_basis", "disclosure", "task",
    "ack_due_at", "created_at", "links",
}  # fmt: skip
ACK_DUE = {"acute": timedelta(hours=1)}  # the others count Danish working days
TAKEN_OVER = "Henvisning lagt sammen med din"  # the subject of the e-mail to a referral that took another over
TASK_LABELS = {
    "inform": "til orientering",
    "act": "handle på henvisningen",
    "obtain_consent": "indhente samtykke",
    "triage": "vurdere og visitere",
    "call": "ringe op med det samme",
}


# ---- the platform -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def platform(kafka_bootstrap: str, admin_database_url: str) -> AsyncIterator[SimpleNamespace]:
    """The four services, SMTP and webhook receivers, with the municipalities subscribed."""
    async with running_platform(kafka_bootstrap, admin_database_url) as running:
        yield running


# ---- the scenario pipeline --------------------------------------------------------------------------


async def _report(platform: SimpleNamespace, report: Report, idempotency_key: str) -> str:
    """Send the report (HTTP or concern-inbound) and return the concern's id."""
    if report.system is None:
        answer = await platform.http["intake"].post(
            "/v1/concerns",
            json=report.body(),
            headers={**bearer(platform.clients.reporter), "Idempotency-Key": idempotency_key},
        )
        assert answer.status_code == 201, answer.text
        receipt = answer.json()
        assert receipt["status"] == "received" and len(receipt["receipt_code"]) == 9
        assert sorted(g["category"] for g in receipt["guidance"]) == sorted(report.categories)
        assert all(g["language"] == "da" and g["call_112"] for g in receipt["guidance"])
        # What triage read, in Danish at once (danger first, with 112); only the codes go on the event.
        assert sorted(h["code"] for h in receipt["hints"]) == sorted(report.hints)
        assert all(h["title"] and h["text"] for h in receipt["hints"])
        return receipt["id"]
    observed = (datetime.now(UTC) - timedelta(hours=5)).isoformat()
    payload = dict(report.payload or {})
    if report.system == "beboerapp-b":
        payload["report"] = payload["report"] | {"observedAt": observed}
    else:
        payload["observeret_tid"] = observed
    message = InboundConcern(system=report.system, external_id=f"ext-{uuid.uuid4().hex[:10]}", payload=payload)
    producer = AIOKafkaProducer(**producer_config(platform.bootstrap, "scenario-housing-system"))
    await producer.start()
    try:
        topic = platform.prefix + CONCERN_INBOUND
        await producer.send_and_wait(topic, encode_inbound(message), key=message.key.encode())
    finally:
        await producer.stop()
    key = subject_key(SUBJECT_KEY_SECRET, "org-demo", tenancy_id=report.tenancy, department_id=report.department)
    found: list[Any] = []

    async def reported() -> bool:
        found[:] = platform.events.of("concern.reported.v1", subject_key=key, source_system=report.system)
        return bool(found)

    await eventually(reported, within=60, what=f"the {report.system} concern reported by intake")
    event = found[0].data
    assert (event.channel, event.department_id, event.municipality_code) == (
        "inbound",
        report.department,
        MUNICIPALITY_OF[report.department],
    )
    assert sorted(event.categories) == sorted(report.categories) and event.severity == report.severity
    assert sorted(event.hints or ()) == sorted(report.hints)
    assert event.children_in_household == report.children
    return event.concern_id


def _check_created(data: Any, expect: Referral, report: Report, concern_id: str) -> None:
    """A referral.created.v1 carries what the rules decided (its model admits no other fields)."""
    assert data.concern_id == concern_id and data.organisation_id == "org-demo"
    assert (data.recipient_id, data.target, data.task, data.rule_id) == (
        expect.recipient,
        expect.target,
        expect.task,
        expect.rule,
    )
    assert (data.legal_basis, data.disclosure, data.suggested_function) == (
        expect.basis,
        expect.disclosure,
        expect.function,
    )
    assert sorted(data.categories) == sorted(expect.categories or report.categories)
    assert data.severity == (expect.severity or report.severity)
    assert (data.urgent, data.repeated) == (expect.urgent, expect.repeated)
    assert (data.department_id, data.municipality_code) == (report.department, MUNICIPALITY_OF[report.department])
    assert bool(data.underretning) == expect.underretning
    if expect.underretning:  # 1 working day (24 hours when acute); its receipt confirmed within 6 working days
        assert data.receipt_due_at - data.created_at >= timedelta(days=6)
        assert timedelta(days=1) <= data.ack_due_at - data.created_at <= timedelta(days=5)
    elif data.severity in ACK_DUE or data.urgent:
        assert data.ack_due_at - data.created_at == ACK_DUE.get(data.severity, timedelta(hours=1))
        assert data.receipt_due_at is None
    else:
        assert data.ack_due_at - data.created_at >= timedelta(days=1)
        assert data.receipt_due_at is None


async def _referrals(
    platform: SimpleNamespace, scenario: Scenario, concerns: list[str], wanted: list[Referral]
) -> dict:
    """Wait for the `wanted` referral.created.v1 events and check them; returns every referral of the concerns so far,
    as (report index, recipient) -> event."""
    keys = {(r.report % len(concerns), r.recipient) for r in wanted}
    found: dict[tuple[int, str], Any] = {}

    async def created() -> bool:
        for index, concern_id in enumerate(concerns):
            for event in platform.events.of("referral.created.v1", concern_id=concern_id):
                found[(index, event.data.recipient_id)] = event
        return keys <= set(found)

    await eventually(created, within=60, what=f"{scenario.id}: referrals to {sorted(keys)} on referral-events")
    for expect in wanted:
        index = expect.report % len(concerns)
        event = found[(index, expect.recipient)]
        _check_created(event.data, expect, scenario.reports[index], concerns[index])
        assert event.data.replaces_referral_id == (
            found[(index, expect.replaces)].data.referral_id if expect.replaces else None
        )
    return found


async def _webhooks(platform: SimpleNamespace, referral: Any, statuses: list[str]) -> None:
    """The municipality's endpoint got the referral and each status change, signed and thin."""
    code, referral_id = referral.data.municipality_code, referral.data.referral_id
    expected = {("referral.created.v1", None), *(("referral.status_changed.v1", s) for s in statuses)}

    def seen() -> dict[str, Any]:
        return {d.headers["webhook-id"]: d for d in platform.webhooks.of(code, referral_id=referral_id)}

    async def delivered() -> bool:
        kinds = {(d.payload["type"], d.payload["data"].get("to_status")) for d in seen().values()}
        return kinds == expected

    await eventually(delivered, within=60, what=f"webhooks to {code} for referral {referral_id}")
    deliveries = seen()
    assert len(deliveries) == len(expected)  # one webhook-id per event: retries would reuse it, never a new one
    events = {e.id: e for e in platform.events.of("referral.status_changed.v1", referral_id=referral_id)}
    events[referral.id] = referral
    for delivery in deliveries.values():
        assert delivery.headers["webhook-signature"].startswith("v1,") and delivery.headers["webhook-timestamp"]
        assert delivery.headers["content-type"].startswith("application/json")
        data = delivery.payload["data"]
        assert data["links"] == {
            "referral": f"{platform.urls['routing']}/v1/referrals/{referral_id}",
            "concern": f"{platform.urls['intake']}/v1/concerns/{referral.data.concern_id}",
        }
        event = events[data["event_id"]]  # the webhook is the event: the same id, the same facts, thinner
        assert delivery.payload["type"] == event.type
        hidden = {"subject_key", "rules_version", "rule_id"}
        facts = event.data.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=hidden)
        assert {k: v for k, v in data.items() if k not in ("event_id", "links")} == facts
        if event.type == "referral.created.v1":
            optional = {
                k for k in ("suggested_function", "replaces_referral_id", "underretning", "receipt_due_at") if k in data
            }
            assert set(data) - optional == WEBHOOK_CREATED_FIELDS, sorted(set(data) ^ WEBHOOK_CREATED_FIELDS)
            # An underretning goes to the children and youth entry, a recipient apart from the single entry.
            entry = "children" if data.get("underretning") else "municipality"
            assert data["recipient_id"] == f"{entry}-{code}"
    others = [d for d in platform.webhooks.deliveries if d.municipality != code]
    assert not [d for d in others if d.payload and d.payload["data"].get("referral_id") == referral_id]


async def _consultant_email(platform: SimpleNamespace, referral: Any) -> None:
    """The consultant (or the escalation contact) got one Danish e-mail about the referral, without people."""
    data = referral.data
    address = MAILBOXES[data.recipient_id]

    def about() -> list[Any]:  # a referral that took a rejected one over is told so in an e-mail of its own
        mails = platform.mailbox.to(address)
        return [m for m in mails if data.referral_id in m.get_content() and not m["Subject"].startswith(TAKEN_OVER)]

    async def arrived() -> bool:
        return bool(about())

    await eventually(arrived, within=60, what=f"the e-mail to {address} about {data.referral_id}")
    [message] = about()
    subject = f"{'HASTER: ' if data.urgent else ''}Ny henvisning til dig – afdeling {data.department_id}"
    assert message["Subject"] == subject
    text = message.get_content()
    assert f"Afdeling: {data.department_id} (kommunekode {data.municipality_code})" in text
    assert f"{platform.urls['routing']}/v1/referrals/{data.referral_id}" in text
    assert "ingen navne eller beskrivelser" in text
    assert ("ring 112" in text) == data.urgent
    assert ("gentagen bekymring" in text) == data.repeated
    assert TASK_LABELS[str(data.task)] in text


def _recipient_client(report: Report, target: str) -> str:
    """The scenario client that speaks for a referral's recipient."""
    if target == "municipality":
        return {"0316": "holbaek", "0326": "kalundborg"}[MUNICIPALITY_OF[report.department]]
    if target == "consultant" and report.department == "kalundborg-1":
        return "consultant_kalundborg"
    return target


async def _recipient_view(platform: SimpleNamespace, report: Report, concern_id: str, expect: Referral) -> None:
    """What the recipient reads at intake: details exactly when its referral allows them."""
    client = _recipient_client(report, expect.target)
    http, headers = platform.http["intake"], bearer(getattr(platform.clients, client))
    views: list[Any] = []

    async def known() -> bool:
        answer = await http.get(f"/v1/concerns/{concern_id}", headers=headers)
        views[:] = [answer]
        return answer.status_code == 200 and bool(answer.json()["referrals"])

    await eventually(known, within=60, what=f"intake showing {concern_id} to the {expect.target}")
    view = views[0].json()
    # intake names what this caller sees: all of it, the case without people (an association), or anonymously.
    shown = {"full": "full", "no_personal_details": "anonymous", "anonymous": "anonymous"}[expect.disclosure]
    assert view["disclosure"] == ("no_personal_details" if expect.target == "association" else shown)
    if expect.disclosure == "full":
        assert view["details"]["description"] == report.person.description
    else:
        assert view["details"] is None
        assert not [p for p in report.person.planted() if p in views[0].text]
    if expect.target == "association":
        assert sorted(view["categories"]) == sorted(expect.categories or ())


async def _move(platform: SimpleNamespace, scenario: Scenario, move: Move, referrals: dict, count: int) -> Any:
    """One answer by a recipient; checks the answer, the event and the referral's state afterwards."""
    referral = referrals[(move.report % count, move.recipient)].data
    body = {"to": move.to} | {k: v for k, v in (("reason", move.reason), ("outcome", move.outcome)) if v}
    answer = await platform.http["routing"].post(
        f"/v1/referrals/{referral.referral_id}/transitions",
        json=body,
        headers=bearer(getattr(platform.clients, move.by)),
    )
    assert answer.status_code == move.status, (scenario.id, move, answer.text)
    if move.status != 200:
        assert answer.headers["content-type"] == "application/problem+json" and answer.json()["detail"]
        return None
    result = answer.json()
    assert result["referral"]["status"] == move.to
    if move.rerouted_to:
        assert result["rerouted_to"]["recipient_id"] == move.rerouted_to
        if move.merged:  # the recipient's open referral took it over: the same referral, still open
            assert (
                result["rerouted_to"]["referral_id"]
                == referrals[(move.report % count, move.rerouted_to)].data.referral_id
            )
        else:
            assert result["rerouted_to"]["replaces_referral_id"] == referral.referral_id
    return result


async def _statuses(platform: SimpleNamespace, referral: Any, statuses: list[str], moves: list[Move]) -> None:
    """referral.status_changed.v1 once per move, in order, by the recipient's role; the API agrees."""
    referral_id = referral.data.referral_id

    async def all_changed() -> bool:
        return len(platform.events.of("referral.status_changed.v1", referral_id=referral_id)) >= len(statuses)

    await eventually(all_changed, within=60, what=f"status changes of {referral_id}")
    changes = [e.data for e in platform.events.of("referral.status_changed.v1", referral_id=referral_id)]
    assert [str(c.to_status) for c in changes] == statuses
    assert [str(c.from_status) for c in changes] == ["requested", *statuses][: len(statuses)]
    for change, move in zip(changes, moves, strict=True):
        assert change.outcome == move.outcome and change.reason == move.reason
        assert change.changed_by_role == ("admin" if move.by == "admin" else referral.data.target)
    shown = await platform.http["routing"].get(f"/v1/referrals/{referral_id}", headers=bearer(platform.clients.admin))
    assert shown.json()["status"] == (statuses[-1] if statuses else "requested")


def _stats_delta(scenario: Scenario, referrals: dict, finals: dict, acknowledged: set) -> Counter[str]:
    """What the dashboard must show more after the scenario (ground truth from the table)."""
    delta: Counter[str] = Counter()
    for report in scenario.reports:
        code = MUNICIPALITY_OF[report.department]
        delta.update(["concerns", f"department.{report.department}", f"municipality.{code}"])
        delta.update([f"severity.{report.severity}", *(f"category.{c}" for c in report.categories)])
    outcomes: set[tuple[int, str]] = set()
    for key, event in referrals.items():
        data, status = event.data, finals.get(key, ("requested", None))
        delta.update(["referrals", f"referrals.{data.target}.{status[0]}", f"times.{data.municipality_code}.referrals"])
        if key in acknowledged:
            delta[f"times.{data.municipality_code}.acknowledged"] += 1
        if status[0] == "completed":
            delta[f"times.{data.municipality_code}.completed"] += 1
            outcomes.add((key[0], status[1]))
    for _, outcome in outcomes:
        delta[f"outcome.{outcome}"] += 1
        if outcome in ("eviction_avoided", "dwelling_restored"):
            delta["costs_avoided_dkk"] += 500_000
    delta.update(scenario.repeats)
    return delta


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
async def test_scenario(platform: SimpleNamespace, scenario: Scenario) -> None:
    """Report, route, notify, answer, count: every hop checked against the table."""
    stats, ops = platform.http["stats"], platform.clients.ops
    before = await stats_numbers(stats, ops)

    keys = [str(uuid.uuid4()) for _ in scenario.reports]
    concerns = [await _report(platform, report, key) for report, key in zip(scenario.reports, keys, strict=True)]
    if scenario.replay_last:  # the reporter's app retries: the same answer, no second concern
        again = await platform.http["intake"].post(
            "/v1/concerns",
            json=scenario.reports[-1].body(),
            headers={**bearer(platform.clients.reporter), "Idempotency-Key": keys[-1]},
        )
        assert again.status_code == 201 and again.json()["id"] == concerns[-1]

    referrals = await _referrals(platform, scenario, concerns, [r for r in scenario.referrals if not r.replaces])
    for expect in [r for r in scenario.referrals if r.replaces is None]:
        index = expect.report % len(concerns)
        await _recipient_view(platform, scenario.reports[index], concerns[index], expect)

    finals: dict[tuple[int, str], tuple[str, str | None]] = {}
    acknowledged: set[tuple[int, str]] = set()
    for move in scenario.moves:
        if await _move(platform, scenario, move, referrals, len(concerns)) is not None:
            key = (move.report % len(concerns), move.recipient)
            finals[key] = (move.to, move.outcome)
            acknowledged.add(key)
        if move.rerouted_to:
            wanted = [r for r in scenario.referrals if (r.recipient, r.report) == (move.rerouted_to, move.report)]
            referrals.update(await _referrals(platform, scenario, concerns, wanted))
    table = {(r.report % len(concerns), r.recipient) for r in scenario.referrals}
    assert set(referrals) == table, f"{scenario.id}: referrals {sorted(referrals)}, the table says {sorted(table)}"

    for key, event in referrals.items():
        done = [m for m in scenario.moves if (m.report % len(concerns), m.recipient) == key and m.status == 200]
        statuses = [m.to for m in done]
        await _statuses(platform, event, statuses, done)
        if event.data.target == "municipality":
            await _webhooks(platform, event, statuses)
        if event.data.target == "consultant":
            await _consultant_email(platform, event)

    await _no_second_referral(platform, scenario, concerns, referrals)

    for index, concern_id in enumerate(concerns):
        await _reporter_emails(platform, scenario, index, concern_id, finals)

    if scenario.erase:
        await _erase(platform, concerns[0], referrals)

    expected = +(before + _stats_delta(scenario, referrals, finals, acknowledged))
    seen: list[Counter[str]] = []

    async def counted() -> bool:
        seen[:] = [await stats_numbers(stats, ops)]
        return seen[0] == expected

    try:
        await eventually(counted, within=60, what=f"{scenario.id}: the dashboard's numbers")
    except AssertionError:
        diff = {k: (seen[0][k] - before[k], expected[k] - before[k]) for k in set(seen[0]) | set(expected)}
        raise AssertionError(
            f"stats (seen, expected) deltas: { {k: v for k, v in diff.items() if v[0] != v[1]} }"
        ) from None


async def _no_second_referral(
    platform: SimpleNamespace, scenario: Scenario, concerns: list[str], referrals: dict
) -> None:
    """Issue 15.3: one referral.created.v1 per concern and recipient; a merged re-route names the open referral,
    whose recipient gets one e-mail saying its referral took the rejected one over, with its task."""
    for concern_id in concerns:
        created = Counter(e.data.recipient_id for e in platform.events.of("referral.created.v1", concern_id=concern_id))
        assert not [r for r, n in created.items() if n > 1], f"{scenario.id}: a second referral: {created}"
    for move in (m for m in scenario.moves if m.rerouted_to and m.status == 200):
        rejected = referrals[(move.report % len(concerns), move.recipient)].data.referral_id
        (change,) = [
            e.data
            for e in platform.events.of("referral.status_changed.v1", referral_id=rejected)
            if e.data.to_status == "rejected"
        ]
        carried = referrals[(move.report % len(concerns), move.rerouted_to)].data
        assert (change.rerouted_to_referral_id, change.merged_into_open) == (carried.referral_id, move.merged)
        if move.merged:
            address = MAILBOXES[move.rerouted_to]

            def told(referral_id: str = carried.referral_id, address: str = address) -> list[Any]:
                mails = platform.mailbox.to(address)
                return [m for m in mails if m["Subject"].startswith(TAKEN_OVER) and referral_id in m.get_content()]

            async def arrived(told=told) -> bool:  # noqa: ANN001
                return bool(told())

            await eventually(arrived, within=60, what=f"{scenario.id}: the e-mail that {move.rerouted_to} took over")
            [mail] = told()
            assert f"Din opgave er nu: {TASK_LABELS[str(change.rerouted_task)]}" in mail.get_content()


async def _reporter_emails(platform: SimpleNamespace, scenario: Scenario, index: int, concern_id: str, finals) -> None:
    """The reporter who left an e-mail gets a receipt, then word when the concern is taken on and when it is closed."""
    report = scenario.reports[index]
    code = await _followed_by_receipt_code(platform, report, concern_id)
    own = {k: v for k, v in finals.items() if k[0] == index}
    subjects = [f"Kvittering: vi har modtaget din bekymring ({code})"]
    if any(status in ("accepted", "in_progress", "completed") for status, _ in own.values()):
        subjects.append(f"Din bekymring {code} er taget under behandling")
    if any(status == "completed" for status, _ in own.values()):
        subjects.append(f"Din bekymring {code} er afsluttet")

    def mine() -> list[Any]:
        return [m for m in platform.mailbox.to(report.person.contact) if code in m.get_content()]

    async def arrived() -> bool:
        return sorted(m["Subject"] for m in mine()) == sorted(subjects)

    await eventually(arrived, within=60, what=f"{scenario.id}: the reporter's e-mails")
    for message in mine():
        text = message.get_content()
        assert "Af hensyn til beboerens privatliv" in text
        assert "kvitteringskode" in text and code in text and concern_id not in text  # the code, never the id
        assert not [p for p in report.person.planted() if p in text and p != report.person.contact]
        assert not [outcome for _, outcome in own.values() if outcome and outcome in text]


async def _followed_by_receipt_code(platform: SimpleNamespace, report: Report, concern_id: str) -> str:
    """The concern's receipt code as support sees it; a concern reported over HTTP its reporter follows by it."""
    intake = platform.http["intake"]
    by_ops = await intake.get(f"/v1/concerns/{concern_id}", headers=bearer(platform.clients.ops))
    code = by_ops.json()["receipt_code"]
    assert by_ops.status_code == 200 and code, by_ops.text
    if report.system is None:
        followed = await intake.get(f"/v1/concerns/{code.lower()}", headers=bearer(platform.clients.reporter))
        assert followed.status_code == 200, followed.text
        assert (followed.json()["id"], followed.json()["receipt_code"]) == (concern_id, code)
    return code


async def _erase(platform: SimpleNamespace, concern_id: str, referrals: dict) -> None:
    """Erasure: concern.erased.v1, no details for anyone, the referrals kept and marked, the reporter forgotten."""
    intake, admin = platform.http["intake"], bearer(platform.clients.admin)
    for _ in range(2):  # repeating it is harmless
        erased = await intake.post(f"/v1/concerns/{concern_id}/erasure", headers=admin)
        assert erased.status_code in (200, 202), erased.text

    async def announced() -> bool:
        return len(platform.events.of("concern.erased.v1", concern_id=concern_id)) == 1

    await eventually(announced, within=60, what="concern.erased.v1 on concern-events")
    for client in (platform.clients.consultant, platform.clients.admin):
        view = (await intake.get(f"/v1/concerns/{concern_id}", headers=bearer(client))).json()
        assert view["status"] == "erased" and view["details"] is None
    contact = await intake.get(f"/v1/concerns/{concern_id}/reporter-contact", headers=admin)
    assert contact.status_code == 404
    routing = platform.http["routing"]
    for event in referrals.values():

        async def marked(referral_id: str = event.data.referral_id) -> bool:
            shown = (await routing.get(f"/v1/referrals/{referral_id}", headers=admin)).json()
            return shown["concern_erased"] is True and shown["status"] != "cancelled"

        await eventually(marked, within=60, what="routing marking the referral of the erased concern")


# ---- after all scenarios -----------------------------------------------------------------------------


async def test_every_delivery_is_counted_once_on_the_dashboard(platform: SimpleNamespace) -> None:
    """Webhooks and e-mails that arrived are the dashboard's delivered notifications; nothing sent twice."""
    webhook_ids = {d.headers["webhook-id"] for d in platform.webhooks.deliveries if d.verified}
    message_ids = [m["Message-ID"] for _, m in platform.mailbox.received]
    assert webhook_ids and message_ids
    assert len(message_ids) == len(set(message_ids)), "an e-mail was sent twice"
    assert not [d for d in platform.webhooks.deliveries if not d.verified]
    stats, ops = platform.http["stats"], bearer(platform.clients.ops)

    async def counted() -> bool:
        channels = {
            n["channel"]: n for n in (await stats.get("/v1/stats/overview", headers=ops)).json()["notifications"]
        }
        webhook, mail = channels.get("webhook", {}), channels.get("email", {})
        return (webhook.get("delivered"), mail.get("delivered")) == (len(webhook_ids), len(message_ids)) and not (
            webhook.get("failed") or mail.get("failed")
        )

    await eventually(counted, within=60, what="the dashboard counting every webhook and e-mail delivered")


async def test_stats_names_and_counts_the_departments_as_intake_gives_them(platform: SimpleNamespace) -> None:
    """Issue 15.1: one source of reference data. Stats' department names and tenancies (the denominators of its
    rates and hotspots) are intake's, and routing, notify and stats hold intake's directory, version and content."""
    ops, admin = bearer(platform.clients.ops), bearer(platform.clients.admin)
    given = (await platform.http["intake"].get("/v1/departments", headers=bearer(platform.clients.reporter))).json()
    hotspots = (await platform.http["stats"].get("/v1/stats/hotspots", headers=ops)).json()
    assert {d["department_id"]: (d["name"], d["tenancies"]) for d in hotspots["departments"]} == {
        d["id"]: (d["name"], d["tenancies"]) for d in given
    }
    owner = (await platform.http["intake"].get("/v1/reference-data", headers=admin)).json()
    for service in ("routing", "notify", "stats"):
        assert (await platform.http[service].get("/v1/reference-data", headers=ops)).json() == owner, service


async def test_no_planted_personal_data_in_logs_or_events(platform: SimpleNamespace) -> None:
    """No name, phone number, address, contact or description of any scenario in a log, on a topic, in a webhook or
    in an e-mail."""
    planted = sorted({p for s in SCENARIOS for r in s.reports for p in r.person.planted()} | set(TRIAGE_PHRASES))
    records = await everything_on(platform.bootstrap, platform.prefix)
    # concern-inbound itself carries the housing systems' raw reports (read by intake only); every other topic,
    # dead letters included, must be clean.
    inbound = platform.prefix + CONCERN_INBOUND
    platform_records = [value for topic, value in records if topic != inbound]
    logs = {s: log_of(platform, s) for s in SERVICES}
    webhook_bodies = [d.body.decode() for d in platform.webhooks.deliveries]
    # E-mails: the consultants' and the reporters' (a reporter's own address is only in the envelope and To).
    mails = [f"{m['Subject']}\n{m.get_content()}" for _, m in platform.mailbox.received]
    for value in planted:
        needle = value.encode()
        assert not [r for r in platform_records if needle in r], f"{value!r} on a topic"
        for service, text in logs.items():
            assert value not in text, f"{value!r} in {service}'s log"
        assert not [b for b in webhook_bodies if value in b], f"{value!r} in a webhook"
        assert not [m for m in mails if value in m], f"{value!r} in an e-mail"
    # The controls: every log has this run's lines, the inbound reports did carry planted details, and the other
    # topics hold the scenarios' events.
    assert all(logs.values())
    assert any(INBOUND_A_PERSON.description.encode() in value for topic, value in records if topic == inbound)
    concern_ids = {e.data.concern_id for e in platform.events.of("concern.reported.v1")}
    assert len(concern_ids) == sum(len(s.reports) for s in SCENARIOS)
    assert all(any(c.encode() in r for r in platform_records) for c in concern_ids)

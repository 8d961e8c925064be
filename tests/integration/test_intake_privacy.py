"""Who reads what of a concern, every read audited, and erasure by crypto-shredding (real PostgreSQL and Kafka)."""

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from services.intake.domain.receipts import is_receipt_code
from shared.contracts.envelope import decode, make_event
from shared.contracts.referrals import ReferralCreated, ReferralStatusChanged
from shared.contracts.topics import CONCERN_EVENTS, REFERRAL_EVENTS
from shared.kafka.config import producer_config
from shared.kafka.producer import KafkaEventPublisher
from tests.support.intake_harness import bearer, concern_body, intake_instance
from tests.support.polling import eventually, read_all

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def intake(kafka_bootstrap: str, admin_database_url: str):  # noqa: ANN201
    async with intake_instance(kafka_bootstrap, admin_database_url) as instance:
        producer = AIOKafkaProducer(**producer_config(kafka_bootstrap, "test-routing"))
        await producer.start()
        instance.routing = KafkaEventPublisher(producer)
        try:
            yield instance
        finally:
            await producer.stop()


def auth(intake: SimpleNamespace, who: str) -> dict[str, str]:
    return bearer(intake.tokens[who])


async def report(intake: SimpleNamespace, **overrides: object) -> str:
    response = await intake.client.post(
        "/v1/concerns", json=concern_body(**overrides), headers=auth(intake, "reporter")
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def db(intake: SimpleNamespace, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(intake.url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def refer(
    intake: SimpleNamespace, concern_id: str, target: str, disclosure: str, basis: str, **kw: object
) -> str:
    """Publish a referral.created.v1 as routing would, and wait until intake has applied it."""
    [row] = await db(intake, "SELECT subject_key FROM concerns WHERE id = $1::uuid", concern_id)
    now = datetime.now(UTC)
    values = {
        "referral_id": f"ref-{uuid.uuid4().hex[:12]}",
        "concern_id": concern_id,
        "subject_key": row["subject_key"],
        "target": target,
        "recipient_id": {"municipality": "municipality-0316", "consultant": "consultant-holbaek"}.get(
            target, "association-holbaek-naboskab"
        ),
        "organisation_id": "org-demo",
        "department_id": "holbaek-1",
        "municipality_code": "0316",
        "categories": ("mental_health", "loneliness"),
        "severity": "medium",
        "urgent": False,
        "repeated": False,
        "legal_basis": basis,
        "disclosure": disclosure,
        "task": "act",
        "rules_version": 1,
        "rule_id": "test_rule",
        "ack_due_at": now + timedelta(days=3),
        "created_at": now,
    }
    data = ReferralCreated(**(values | kw))
    await intake.routing.publish(intake.prefix + REFERRAL_EVENTS, make_event(data, source="/services/routing",
                                                                             subject=data.subject_key))  # fmt: skip

    async def applied() -> bool:
        return bool(await db(intake, "SELECT 1 FROM referrals WHERE referral_id = $1", data.referral_id))

    await eventually(applied, what="intake applying the referral")
    return data.referral_id


async def audit(intake: SimpleNamespace, concern_id: str) -> list[tuple[str, str, str]]:
    response = await intake.client.get(f"/v1/concerns/{concern_id}/audit", headers=auth(intake, "admin"))
    assert response.status_code == 200
    names = {client_id: name for name, client_id in intake.client_ids.items()}
    return [(names[e["client_id"]], e["action"], e["basis"]) for e in response.json()]


async def test_each_recipient_sees_what_its_referral_allows_and_every_read_is_audited(intake) -> None:  # noqa: ANN001
    concern_id = await report(intake, categories=["mental_health", "loneliness"], consent="given")
    municipality_ref = await refer(intake, concern_id, "municipality", "full", "consent")
    await refer(intake, concern_id, "consultant", "full", "none")
    association_ref = await refer(intake, concern_id, "association", "no_personal_details", "none",
                                  categories=("loneliness",))  # fmt: skip
    path = f"/v1/concerns/{concern_id}"

    municipality = (await intake.client.get(path, headers=auth(intake, "municipality"))).json()
    assert municipality["disclosure"] == "full" and municipality["details"]["resident"]["name"] == "Fiktiv Beboer"
    assert [r["referral_id"] for r in municipality["referrals"]] == [municipality_ref]
    assert municipality["status"] == "referred" and municipality["receipt_code"] is None

    consultant = (await intake.client.get(path, headers=auth(intake, "consultant"))).json()
    assert consultant["details"]["description"].startswith("Stærk lugt")

    association = (await intake.client.get(path, headers=auth(intake, "association"))).json()
    assert association["disclosure"] == "no_personal_details" and association["details"] is None
    assert association["categories"] == ["loneliness"] and association["consent"] is None
    assert [r["referral_id"] for r in association["referrals"]] == [association_ref]
    assert {h["referral_id"] for h in association["history"] if h["referral_id"]} == {association_ref}

    reporter = (await intake.client.get(path, headers=auth(intake, "reporter"))).json()
    assert reporter["details"]["tenancy_id"] and len(reporter["referrals"]) == 3
    assert all(r["recipient_id"] is None and r["status"] == "requested" for r in reporter["referrals"])

    ops = (await intake.client.get(path, headers=auth(intake, "ops"))).json()
    assert ops["details"] is None and len(ops["referrals"]) == 3
    for outsider in ("other_municipality", "other_reporter"):
        assert (await intake.client.get(path, headers=auth(intake, outsider))).status_code == 404

    assert await audit(intake, concern_id) == [
        ("municipality", "read_details", "consent"),
        ("consultant", "read_details", "housing_social_task"),
        ("reporter", "read_details", "own_report"),
    ]


async def test_without_a_legal_basis_a_municipality_gets_an_anonymous_view(intake) -> None:  # noqa: ANN001
    concern_id = await report(intake, consent="refused", categories=["mental_health"])
    await refer(intake, concern_id, "municipality", "anonymous", "none")
    view = (await intake.client.get(f"/v1/concerns/{concern_id}", headers=auth(intake, "municipality"))).json()
    assert view["disclosure"] == "anonymous" and view["details"] is None
    assert view["categories"] == ["mental_health"] and view["department_id"] == "holbaek-1"
    assert await audit(intake, concern_id) == []


async def test_a_rejected_referral_no_longer_opens_the_details_and_shows_in_the_history(intake) -> None:  # noqa: ANN001
    concern_id = await report(intake)
    referral_id = await refer(intake, concern_id, "municipality", "full", "consent")
    path = f"/v1/concerns/{concern_id}"
    assert (await intake.client.get(path, headers=auth(intake, "municipality"))).json()["details"] is not None
    changed = ReferralStatusChanged(
        referral_id=referral_id, concern_id=concern_id, target="municipality", municipality_code="0316",
        department_id="holbaek-1", from_status="requested", to_status="rejected", reason="not_our_responsibility",
        changed_by_role="municipality", changed_at=datetime.now(UTC) + timedelta(seconds=1),
    )  # fmt: skip
    await intake.routing.publish(intake.prefix + REFERRAL_EVENTS, make_event(changed, source="/services/routing",
                                                                             subject="sk_subject-of-test"))  # fmt: skip

    async def rejected() -> bool:
        view = (await intake.client.get(path, headers=auth(intake, "municipality"))).json()
        return view["referrals"][0]["status"] == "rejected"

    await eventually(rejected, what="intake applying the status change")
    view = (await intake.client.get(path, headers=auth(intake, "municipality"))).json()
    assert view["disclosure"] == "anonymous" and view["details"] is None
    steps = [(h["event"], h.get("to_status"), h.get("reason")) for h in view["history"]]
    assert steps == [("reported", None, None), ("referred", "requested", None),
                     ("status_changed", "rejected", "not_our_responsibility")]  # fmt: skip


async def test_a_rejection_merged_into_an_open_referral_gives_it_the_stronger_task(intake) -> None:  # noqa: ANN001
    concern_id = await report(intake)
    municipality_ref = await refer(intake, concern_id, "municipality", "full", "consent")
    consultant_ref = await refer(intake, concern_id, "consultant", "full", "consent", task="inform")
    changed = ReferralStatusChanged(
        referral_id=municipality_ref, concern_id=concern_id, target="municipality", municipality_code="0316",
        department_id="holbaek-1", from_status="received", to_status="rejected", reason="capacity",
        changed_by_role="municipality", changed_at=datetime.now(UTC) + timedelta(seconds=1),
        rerouted_to_referral_id=consultant_ref, merged_into_open=True, rerouted_to_target="consultant",
        rerouted_to_recipient_id="consultant-holbaek", rerouted_task="act",
    )  # fmt: skip
    await intake.routing.publish(intake.prefix + REFERRAL_EVENTS, make_event(changed, source="/services/routing",
                                                                             subject="sk_subject-of-test"))  # fmt: skip
    path = f"/v1/concerns/{concern_id}"

    async def taken_over() -> bool:
        view = (await intake.client.get(path, headers=auth(intake, "consultant"))).json()
        return [r["task"] for r in view["referrals"]] == ["act"]

    await eventually(taken_over, what="intake giving the consultant's open referral the merged task")
    view = (await intake.client.get(path, headers=auth(intake, "consultant"))).json()
    assert view["disclosure"] == "full" and view["referrals"][0]["referral_id"] == consultant_ref


async def test_erasure_destroys_the_key_emits_the_event_and_leaves_the_details_unreadable(intake) -> None:  # noqa: ANN001
    concern_id = await report(intake)
    await refer(intake, concern_id, "municipality", "full", "consent")
    path = f"/v1/concerns/{concern_id}"
    before = (await intake.client.get(path, headers=auth(intake, "admin"))).json()
    assert before["details"]["reporter"]["contact"] == "vicevaert@example.org"
    contact = await intake.client.get(path + "/reporter-contact", headers=auth(intake, "admin"))
    assert contact.json() == {"channel": "email", "address": "vicevaert@example.org",
                              "receipt_code": before["receipt_code"]}  # fmt: skip

    erased = await intake.client.post(path + "/erasure", headers=auth(intake, "admin"))
    assert erased.status_code == 200 and erased.json()["status"] == "erased"
    again = await intake.client.post(path + "/erasure", headers=auth(intake, "admin"))
    assert again.json() == erased.json()

    assert await db(intake, "SELECT 1 FROM concern_keys WHERE concern_id = $1::uuid", concern_id) == []
    [row] = await db(intake, "SELECT sealed, erased_at FROM concerns WHERE id = $1::uuid", concern_id)
    assert row["sealed"] is None and row["erased_at"] is not None
    for who in ("admin", "municipality", "reporter"):
        view = (await intake.client.get(path, headers=auth(intake, who))).json()
        assert view["status"] == "erased" and view["details"] is None, who
        assert view["history"][-1]["event"] == "erased"
    assert (await intake.client.get(path + "/reporter-contact", headers=auth(intake, "admin"))).status_code == 404

    events: list = []

    async def both_events() -> bool:
        records = await read_all(intake.bootstrap, intake.prefix + CONCERN_EVENTS, expected=1)
        events[:] = [r for r in records if decode(r.value).data.concern_id == concern_id]
        return len(events) >= 2

    await eventually(both_events, what="concern.reported and concern.erased on the topic")
    assert [decode(r.value).type for r in events] == ["concern.reported.v1", "concern.erased.v1"]
    assert len({(r.key, r.partition) for r in events}) == 1, "same key, same partition, in order"
    assert await audit(intake, concern_id) == [
        ("admin", "read_details", "admin"),
        ("admin", "read_reporter_contact", "reporter_notification"),
        ("admin", "erasure", "erasure_request"),
    ]


@pytest.mark.parametrize(
    ("contact", "expected"),
    [
        ("11 22 33 44", {"channel": "sms", "address": "+4511223344"}),
        ("ring til kontoret", {"channel": None, "address": "ring til kontoret"}),
        (None, None),
    ],
)
async def test_reporter_contact_for_receipts(intake, contact, expected) -> None:  # noqa: ANN001
    concern_id = await report(intake, reporter={"role": "caretaker", "contact": contact})
    response = await intake.client.get(f"/v1/concerns/{concern_id}/reporter-contact", headers=auth(intake, "admin"))
    if expected is None:
        assert response.status_code == 404
        assert await audit(intake, concern_id) == []
    else:
        answer = response.json()
        assert is_receipt_code(answer.pop("receipt_code")) and answer == expected
        assert await audit(intake, concern_id) == [("admin", "read_reporter_contact", "reporter_notification")]


async def test_erasing_an_unknown_concern_is_a_404(intake) -> None:  # noqa: ANN001
    response = await intake.client.post(f"/v1/concerns/{uuid.uuid4()}/erasure", headers=auth(intake, "admin"))
    assert response.status_code == 404

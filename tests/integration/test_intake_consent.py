"""Registering the resident's consent on a real intake (PostgreSQL, Kafka): before it the municipality's anonymous
consultation shows no resident name; after the consultant registers consent it does, and the audit names who
registered it; refused consent keeps the details withheld; nobody else may register it."""

import pytest
from aiokafka import AIOKafkaProducer

from shared.auth.principal import Role
from shared.kafka.config import producer_config
from shared.kafka.producer import KafkaEventPublisher
from tests.integration.test_intake_privacy import audit, auth, refer, report
from tests.support.intake_harness import STANDARD_CLIENTS, intake_instance

pytestmark = pytest.mark.integration
CLIENTS = STANDARD_CLIENTS | {"other_consultant": (Role.CONSULTANT, {"department_ids": ["kalundborg-1"]})}
NAME = "Fiktiv Beboer"


@pytest.fixture(scope="module")
async def intake(kafka_bootstrap: str, admin_database_url: str):  # noqa: ANN201
    async with intake_instance(kafka_bootstrap, admin_database_url, CLIENTS) as instance:
        producer = AIOKafkaProducer(**producer_config(kafka_bootstrap, "test-routing"))
        await producer.start()
        instance.routing = KafkaEventPublisher(producer)
        try:
            yield instance
        finally:
            await producer.stop()


async def without_consent(intake) -> str:  # noqa: ANN001
    """A concern reported without consent, routed as the rules do: the municipality's anonymous consultation and
    the consultant's task of obtaining consent."""
    concern_id = await report(intake, categories=["dementia_signs"], consent="not_asked")
    await refer(intake, concern_id, "municipality", "anonymous", "none")
    await refer(intake, concern_id, "consultant", "no_personal_details", "none", task="obtain_consent")
    return concern_id


async def municipality_view(intake, concern_id: str) -> dict:  # noqa: ANN001
    response = await intake.client.get(f"/v1/concerns/{concern_id}", headers=auth(intake, "municipality"))
    assert response.status_code == 200, response.text
    return response.json()


async def consent(intake, concern_id: str, who: str, body: object):  # noqa: ANN001, ANN201
    return await intake.client.post(f"/v1/concerns/{concern_id}/consent", json=body, headers=auth(intake, who))


async def test_registered_consent_lets_the_municipality_see_the_resident(intake) -> None:  # noqa: ANN001
    concern_id = await without_consent(intake)
    before = await municipality_view(intake, concern_id)
    assert before["disclosure"] == "anonymous" and before["details"] is None and NAME not in str(before)

    registered = await consent(intake, concern_id, "consultant", {"consent": "given"})

    assert registered.status_code == 200, registered.text
    assert registered.json()["consent"] == "given"
    assert registered.json()["registered_by"] == intake.client_ids["consultant"]
    after = await municipality_view(intake, concern_id)
    assert after["disclosure"] == "full" and after["details"]["resident"]["name"] == NAME
    assert [(r["legal_basis"], r["disclosure"]) for r in after["referrals"]] == [("consent", "full")]
    assert await audit(intake, concern_id) == [
        ("consultant", "register_consent", "consent_given"),
        ("municipality", "read_details", "consent"),
    ]
    # The same answer again is harmless; another answer is a conflict naming the field.
    assert (await consent(intake, concern_id, "consultant", {"consent": "given"})).status_code == 200
    changed = await consent(intake, concern_id, "consultant", {"consent": "refused"})
    assert changed.status_code == 409 and changed.json()["errors"][0]["field"] == "consent"


async def test_refused_consent_keeps_the_details_withheld(intake) -> None:  # noqa: ANN001
    concern_id = await without_consent(intake)

    refused = await consent(intake, concern_id, "consultant", {"consent": "refused"})

    assert refused.status_code == 200, refused.text
    after = await municipality_view(intake, concern_id)
    assert after["disclosure"] == "anonymous" and after["details"] is None and NAME not in str(after)
    assert await audit(intake, concern_id) == [("consultant", "register_consent", "consent_refused")]


async def test_nobody_else_may_register_it_and_a_bad_body_names_the_field(intake) -> None:  # noqa: ANN001
    concern_id = await without_consent(intake)

    assert (await consent(intake, concern_id, "other_consultant", {"consent": "given"})).status_code == 404
    for who in ("reporter", "municipality", "association"):
        assert (await consent(intake, concern_id, who, {"consent": "given"})).status_code == 403, who
    bad = await consent(intake, concern_id, "consultant", {"consent": "maybe"})
    assert bad.status_code == 422 and "consent" in bad.text
    assert (await consent(intake, concern_id, "consultant", {})).status_code == 422
    assert await audit(intake, concern_id) == []
    assert (await municipality_view(intake, concern_id))["details"] is None


async def test_an_erased_concern_takes_no_consent(intake) -> None:  # noqa: ANN001
    concern_id = await without_consent(intake)
    erased = await intake.client.post(f"/v1/concerns/{concern_id}/erasure", headers=auth(intake, "admin"))
    assert erased.status_code == 200

    refused = await consent(intake, concern_id, "consultant", {"consent": "given"})

    assert refused.status_code == 409, refused.text


async def test_the_route_is_in_the_openapi_document(intake) -> None:  # noqa: ANN001
    paths = (await intake.client.get("/openapi.json")).json()["paths"]
    assert "post" in paths["/v1/concerns/{concern_id}/consent"]


async def test_a_conflict_is_told_in_danish_when_asked(intake) -> None:  # noqa: ANN001
    concern_id = await without_consent(intake)
    assert (await consent(intake, concern_id, "consultant", {"consent": "refused"})).status_code == 200

    changed = await intake.client.post(
        f"/v1/concerns/{concern_id}/consent",
        json={"consent": "given"},
        headers=auth(intake, "consultant") | {"Accept-Language": "da"},
    )

    assert changed.status_code == 409
    assert changed.json()["detail"] == "beboerens nej til samtykke er allerede registreret"

"""intake's triage against real PostgreSQL and Kafka: the description is read on arrival (HTTP and concern-inbound),
the 201 answer shows the hints in Danish, only their codes go on concern.reported.v1, the text on no topic."""

from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaProducer

from shared.contracts.envelope import decode
from shared.contracts.inbound import InboundConcern, encode_inbound
from shared.contracts.topics import CONCERN_EVENTS, CONCERN_INBOUND
from shared.kafka.config import producer_config
from tests.support.intake_harness import bearer, concern_body, intake_instance, read_to_end
from tests.support.polling import eventually
from tests.unit.test_intake_data_files import EJENDOMSSYSTEM_A

pytestmark = pytest.mark.integration
SUICIDE = "Hun siger hun vil tage sit eget liv. Fiktiv-triage-markør-7781."
CHILD = "Den lille dreng står alene i opgangen om aftenen og er sulten. Fiktiv-triage-markør-7782."


@pytest.fixture(scope="module")
async def intake(kafka_bootstrap: str, admin_database_url: str):  # noqa: ANN201
    async with intake_instance(kafka_bootstrap, admin_database_url) as running:
        yield running


async def _events(intake: SimpleNamespace, concern_id: str | None = None) -> list:
    records = await read_to_end(intake.bootstrap, intake.prefix + CONCERN_EVENTS)
    return [r for r in records if concern_id is None or decode(r.value).data.concern_id == concern_id]


async def test_a_report_is_read_for_danger_and_answered_with_the_hints_in_danish(intake) -> None:  # noqa: ANN001
    body = concern_body(
        categories=["loneliness"],
        severity="low",
        description=SUICIDE,
        children_in_household="no",
        danger_confirmed=True,
    )
    headers = {**bearer(intake.tokens["reporter"]), "Idempotency-Key": "triage-1"}
    answer = await intake.client.post("/v1/concerns", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    receipt = answer.json()
    [hint] = receipt["hints"]
    assert hint["code"] == "possible_suicide_risk" and hint["call_112"] is True
    assert "112" in hint["text"] and hint["title"].startswith("Du skriver")
    again = await intake.client.post("/v1/concerns", json=body, headers=headers)  # a replay shows them too
    assert again.json()["hints"] == receipt["hints"]

    found: list = []

    async def arrived() -> bool:
        found[:] = await _events(intake, receipt["id"])
        return bool(found)

    await eventually(arrived, within=30, what="the concern's event")
    [record] = found
    data = decode(record.value).data
    assert data.hints == ("possible_suicide_risk",)
    assert (data.children_in_household, data.danger_confirmed) == ("no", True)
    for fragment in (b"eget liv", b"7781", b"Fiktiv"):
        assert fragment not in record.value


async def test_an_inbound_concern_is_read_too_and_children_in_the_household_mapped(intake) -> None:  # noqa: ANN001
    payload = EJENDOMSSYSTEM_A | {"afdelingsnr": "HB-101", "beskrivelse": CHILD, "boern_i_husstanden": "J"}
    message = InboundConcern(system="ejendomssystem-a", external_id="triage-inbound-1", payload=payload)
    producer = AIOKafkaProducer(**producer_config(intake.bootstrap, "test-housing-system"))
    await producer.start()
    try:
        await producer.send_and_wait(intake.prefix + CONCERN_INBOUND, encode_inbound(message), key=message.key.encode())
    finally:
        await producer.stop()
    found: list = []

    async def arrived() -> bool:
        found[:] = [
            r
            for r in await _events(intake)
            if getattr(decode(r.value).data, "source_system", None) == "ejendomssystem-a"
        ]
        return bool(found)

    await eventually(arrived, within=30, what="the inbound concern's event")
    data = decode(found[0].value).data
    assert data.hints == ("child_at_risk",) and data.children_in_household == "yes"
    # Only the raw inbound topic carries the text (the housing system wrote it there); no event of intake does.
    every = await read_to_end(intake.bootstrap, intake.prefix + CONCERN_EVENTS)
    assert not [r for r in every if b"7782" in r.value or b"7781" in r.value]

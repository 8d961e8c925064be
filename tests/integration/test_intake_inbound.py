"""Concerns from integrated housing systems on concern-inbound: both example formats, duplicates, dead letters."""

import json
import uuid
from types import SimpleNamespace

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from shared.contracts.envelope import decode
from shared.contracts.inbound import InboundConcern, encode_inbound
from shared.contracts.topics import CONCERN_EVENTS, CONCERN_INBOUND
from shared.kafka.config import producer_config
from shared.kafka.dead_letter_tools import read_dead_letters
from tests.support.intake_harness import bearer, intake_instance
from tests.support.polling import eventually, read_all
from tests.unit.test_intake_data_files import BEBOERAPP_B, EJENDOMSSYSTEM_A

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def intake(kafka_bootstrap: str, admin_database_url: str):  # noqa: ANN201
    async with intake_instance(kafka_bootstrap, admin_database_url) as instance:
        producer = AIOKafkaProducer(**producer_config(kafka_bootstrap, "test-housing-system"))
        await producer.start()
        instance.producer = producer
        try:
            yield instance
        finally:
            await producer.stop()


async def send(intake: SimpleNamespace, system: str, external_id: str, payload: dict | None = None,
               raw: bytes | None = None) -> bytes:  # fmt: skip
    """Send one inbound message as a housing system would; returns its key."""
    key = f"{system}:{external_id}".encode()
    value = raw if raw is not None else encode_inbound(
        InboundConcern(system=system, external_id=external_id, payload=payload or {})
    )  # fmt: skip
    await intake.producer.send_and_wait(intake.prefix + CONCERN_INBOUND, value, key=key)
    return key


async def concern_ids_of(intake: SimpleNamespace, system: str, external_id: str) -> list[str]:
    conn = await asyncpg.connect(intake.url)
    try:
        rows = await conn.fetch(
            "SELECT id::text FROM concerns WHERE external_system = $1 AND external_id = $2", system, external_id
        )
    finally:
        await conn.close()
    return [r["id"] for r in rows]


async def reported_event(intake: SimpleNamespace, system: str, external_id: str):  # noqa: ANN201
    """Wait for the concern of an inbound message, and return its concern.reported.v1 event."""

    async def stored() -> bool:
        return bool(await concern_ids_of(intake, system, external_id))

    await eventually(stored, what=f"the concern of {system}:{external_id}")
    [concern_id] = await concern_ids_of(intake, system, external_id)
    found: list = []

    async def published() -> bool:
        records = await read_all(intake.bootstrap, intake.prefix + CONCERN_EVENTS, expected=1)
        found[:] = [decode(r.value) for r in records if decode(r.value).data.concern_id == concern_id]
        return bool(found)

    await eventually(published, what="its concern.reported.v1")
    return found[0]


async def admin_view(intake: SimpleNamespace, concern_id: str) -> dict:
    response = await intake.client.get(f"/v1/concerns/{concern_id}", headers=bearer(intake.tokens["admin"]))
    assert response.status_code == 200
    return response.json()


async def test_ejendomssystem_a_concerns_take_the_same_path_as_http(intake) -> None:  # noqa: ANN001
    external_id = f"A-{uuid.uuid4().hex[:8]}"
    await send(intake, "ejendomssystem-a", external_id, EJENDOMSSYSTEM_A)
    event = await reported_event(intake, "ejendomssystem-a", external_id)
    data = event.data
    assert (data.channel.value, data.source_system) == ("inbound", "ejendomssystem-a")
    assert (data.department_id, data.municipality_code) == ("hoeng-1", "0326")
    assert [c.value for c in data.categories] == ["dementia_signs", "odour_nuisance"]
    assert (data.severity.value, data.consent.value, data.legal_basis.value) == ("high", "refused", "vital_interest")
    assert data.has_reporter_contact and data.has_resident_details
    view = await admin_view(intake, data.concern_id)
    assert view["details"]["tenancy_id"] == "201-0007"
    assert view["details"]["resident"] == {"name": "Fiktiv Grethe", "address": "Vængevej 3, 4270 Høng",
                                           "phone": None, "email": None, "date_of_birth": None}  # fmt: skip
    assert view["details"]["reporter"] == {"name": "Fiktiv Vicevært", "contact": "11 22 33 44"}


async def test_beboerapp_b_concerns_map_nested_json_and_numeric_codes(intake) -> None:  # noqa: ANN001
    external_id = f"b-{uuid.uuid4().hex[:8]}"
    await send(intake, "beboerapp-b", external_id, BEBOERAPP_B)
    data = (await reported_event(intake, "beboerapp-b", external_id)).data
    assert (data.department_id, data.municipality_code, data.reporter_role.value) == (
        "holbaek-1", "0316", "resident_representative"
    )  # fmt: skip
    assert [c.value for c in data.categories] == ["loneliness", "noise"]
    assert (data.severity.value, data.consent.value, data.has_resident_details) == ("low", "given", False)
    view = await admin_view(intake, data.concern_id)
    assert view["details"]["tenancy_id"] == "1101-12B" and view["details"]["description"].startswith("My neighbour")


async def test_a_duplicate_inbound_message_creates_one_concern(intake) -> None:  # noqa: ANN001
    external_id = f"b-{uuid.uuid4().hex[:8]}"

    async def replays() -> float:
        metrics = (await intake.client.get("/metrics")).text
        line = 'intake_concerns_replayed_total{source="inbound:beboerapp-b"} '
        return next((float(x.split()[-1]) for x in metrics.splitlines() if x.startswith(line)), 0.0)

    before = await replays()
    for _ in range(3):
        await send(intake, "beboerapp-b", external_id, BEBOERAPP_B)
    await reported_event(intake, "beboerapp-b", external_id)

    async def all_three_applied() -> bool:
        return await replays() >= before + 2

    await eventually(all_three_applied, what="the two duplicates being applied as replays")
    assert len(await concern_ids_of(intake, "beboerapp-b", external_id)) == 1
    [concern_id] = await concern_ids_of(intake, "beboerapp-b", external_id)
    records = await read_all(intake.bootstrap, intake.prefix + CONCERN_EVENTS, expected=1)
    assert sum(decode(r.value).data.concern_id == concern_id for r in records) == 1


async def test_messages_that_cannot_become_concerns_are_dead_lettered_with_the_reason(intake) -> None:  # noqa: ANN001
    reused = f"A-{uuid.uuid4().hex[:8]}"
    await send(intake, "ejendomssystem-a", reused, EJENDOMSSYSTEM_A)
    await reported_event(intake, "ejendomssystem-a", reused)
    run = uuid.uuid4().hex[:8]
    expected = {
        await send(intake, "garbage", run, raw=b"\x00{not json"): "invalid_json",
        await send(intake, "no-system", run, raw=json.dumps({"external_id": "x", "payload": {}}).encode()):
            "invalid_data",
        await send(intake, "ukendt-system", run, {"felt": 1}): "unknown_system",
        await send(intake, "ejendomssystem-a", f"{run}-code", EJENDOMSSYSTEM_A | {"sagstyper": ["??"]}):
            "invalid_mapping_result",
        await send(intake, "ejendomssystem-a", f"{run}-missing", {"afdelingsnr": "HB-101"}):
            "invalid_mapping_result",
        await send(intake, "beboerapp-b", f"{run}-dept", BEBOERAPP_B | {"report": BEBOERAPP_B["report"]
                                                                        | {"estateNo": 9999}}):
            "invalid_mapping_result",
        await send(intake, "ejendomssystem-a", reused, EJENDOMSSYSTEM_A | {"alvor": "1"}): "conflicting_duplicate",
    }  # fmt: skip
    letters: dict[bytes, str] = {}

    async def all_dead_lettered() -> bool:
        for letter in await read_dead_letters(intake.bootstrap, intake.prefix + CONCERN_INBOUND):
            letters[letter.key] = letter.reason
        return set(expected) <= set(letters)

    await eventually(all_dead_lettered, within=60, what="every refused message on concern-inbound.dlq")
    assert {key: letters[key] for key in expected} == expected
    assert len(await concern_ids_of(intake, "ejendomssystem-a", reused)) == 1
    metrics = (await intake.client.get("/metrics")).text
    assert 'intake_concerns_refused_total{reason="unknown_system",source="inbound:unknown"}' in metrics
    assert 'intake_concerns_refused_total{reason="conflicting_duplicate",source="inbound:ejendomssystem-a"}' in metrics

"""A NUL (or another control character) in any string intake or notify takes in, against the real PostgreSQL and
Kafka: a 422 naming the field over HTTP, a dead letter from Kafka, and nothing stored. PostgreSQL refuses NUL in
text and jsonb, so each of these was a 500 (schemathesis found the reference directory's) or a stuck record."""

import copy
import json
import uuid
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from shared.auth.principal import Role
from shared.contracts.envelope import encode
from shared.contracts.inbound import InboundConcern, encode_inbound
from shared.contracts.topics import CONCERN_INBOUND, REFERRAL_EVENTS
from shared.kafka.config import producer_config
from shared.kafka.dead_letter_tools import read_dead_letters
from tests.support.intake_harness import bearer, concern_body, intake_instance
from tests.support.notify_helpers import notify_settings, referral_created, running_notify, wait_ready
from tests.support.polling import eventually
from tests.support.reference import owner_directory
from tests.unit.test_intake_data_files import EJENDOMSSYSTEM_A

pytestmark = pytest.mark.integration


def fields(answer: Any) -> list[str]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in answer.json()["errors"]]


async def send_raw(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(**producer_config(bootstrap, "test-control-characters"))
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def dead_letter_reasons(bootstrap: str, topic: str, keys: set[bytes]) -> dict[bytes, str]:
    letters: dict[bytes, str] = {}

    async def all_there() -> bool:
        for letter in await read_dead_letters(bootstrap, topic):
            letters[letter.key] = letter.reason
        return keys <= set(letters)

    await eventually(all_there, within=60, what=f"every record with a NUL on {topic}.dlq")
    return {key: letters[key] for key in keys}


async def test_intake_refuses_nul_in_the_reference_directory_and_a_concern_with_a_422_naming_the_field(
    kafka_bootstrap: str, admin_database_url: str
) -> None:
    async with intake_instance(kafka_bootstrap, admin_database_url) as intake:
        admin = bearer(intake.tokens["admin"])
        content = owner_directory().content().model_dump(mode="json")
        first_recipient = next(iter(content["recipients"]))
        # Schemathesis' case: organisations: [{"name": "\u008f\u0000\u00c4", "id": "J7hKfu_Ud-d4"}] was a 500.
        schemathesis_case = {"organisations": [{"name": "\x8f\x00\xc4", "id": "J7hKfu_Ud-d4"}]}
        answer = await intake.client.put("/v1/reference-data", json=schemathesis_case, headers=admin)
        assert fields(answer) == ["organisations.0.name"]
        for path, value, field in (
            (("organisations", 0, "name"), "Boligselskab\x00", "organisations.0.name"),
            (("organisations", 0, "departments", 0, "name"), "Afd\x00", "organisations.0.departments.0.name"),
            (("recipients", first_recipient, "name"), "Konsulent\x01", f"recipients.{first_recipient}.name"),
            (("recipients", first_recipient, "email"), "k\x00@example.org", f"recipients.{first_recipient}.email"),
        ):
            changed = copy.deepcopy(content)
            node = changed
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = value
            answer = await intake.client.put("/v1/reference-data", json=changed, headers=admin)
            assert fields(answer) == [field]
        stored = await intake.client.get("/v1/reference-data", headers=admin)
        assert stored.json()["version"] == owner_directory().version

        reporter = bearer(intake.tokens["reporter"])
        for override, field in (
            ({"description": "Lugt\x00 fra opgangen"}, "description"),
            ({"tenancy_id": "17-\x00"}, "tenancy_id"),
            ({"reporter": {"role": "caretaker", "name": "Vicevært\x00"}}, "reporter.name"),
            ({"resident": {"address": "Testvej 1\x00"}}, "resident.address"),
        ):
            answer = await intake.client.post("/v1/concerns", json=concern_body(**override), headers=reporter)
            assert fields(answer) == [field]
        danish = await intake.client.post(
            "/v1/concerns", json=concern_body(description="x\x00"), headers=reporter | {"Accept-Language": "da"}
        )
        assert (
            danish.json()["errors"][0]["problem"] == "må ikke indeholde andre kontroltegn end tabulator og linjeskift"
        )
        conn = await asyncpg.connect(intake.url)
        try:
            assert await conn.fetchval("SELECT count(*) FROM concerns") == 0
        finally:
            await conn.close()


async def test_an_inbound_concern_with_a_nul_is_dead_lettered_naming_the_field_and_stores_nothing(
    kafka_bootstrap: str, admin_database_url: str
) -> None:
    async with intake_instance(kafka_bootstrap, admin_database_url) as intake:
        run = uuid.uuid4().hex[:8]
        topic = intake.prefix + CONCERN_INBOUND
        in_payload = encode_inbound(
            InboundConcern(
                system="ejendomssystem-a",
                external_id=f"A-{run}",
                payload=EJENDOMSSYSTEM_A | {"beskrivelse": "Lugt\x00 fra opgangen"},
            )
        )
        in_id = json.dumps({"system": "ejendomssystem-a", "external_id": f"A-\x00{run}", "payload": EJENDOMSSYSTEM_A})
        keys = {b"payload:" + run.encode(): in_payload, b"external-id:" + run.encode(): in_id.encode()}
        for key, value in keys.items():
            await send_raw(kafka_bootstrap, topic, key, value)
        in_payload_key, in_id_key = keys
        reasons = await dead_letter_reasons(kafka_bootstrap, topic, set(keys))
        assert reasons == {in_payload_key: "invalid_mapping_result", in_id_key: "invalid_data"}
        errors = {letter.key: letter.headers["dlq-error"] for letter in await read_dead_letters(kafka_bootstrap, topic)}
        assert "description" in errors[in_payload_key] and "external_id" in errors[in_id_key]
        assert "Lugt" not in errors[in_payload_key]  # fields, never values
        conn = await asyncpg.connect(intake.url)
        try:
            assert await conn.fetchval("SELECT count(*) FROM concerns") == 0
        finally:
            await conn.close()


async def test_notify_refuses_nul_in_a_subscription_and_dead_letters_an_event_with_one(
    fresh_database, issue_client, kafka_bootstrap: str, topic_prefix: str
) -> None:
    holbaek = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    async with (
        fresh_database("notify") as database_url,
        running_notify(notify_settings(database_url, kafka_bootstrap, topic_prefix)) as notify,
    ):
        await wait_ready(notify, holbaek.token)
        good = {"url": "http://127.0.0.1:9/webhooks", "event_types": ["referral.created.v1"]}
        for body, field in (
            (good | {"url": "http://127.0.0.1:9/web\x00hooks"}, "url"),
            (good | {"description": "Sagssystem\x00"}, "description"),
            (good | {"description": "Sagssystem\x1b[31m"}, "description"),
        ):
            answer = await notify.post("/v1/subscriptions", json=body, headers=bearer(holbaek.token))
            assert fields(answer) == [field]
        listed = await notify.get("/v1/subscriptions", headers=bearer(holbaek.token))
        assert listed.status_code == 200 and listed.json()["items"] == []

        # A referral event whose CloudEvents id holds a NUL: it cannot be stored in notify's inbox.
        event = json.loads(encode(referral_created()))
        event["id"] = f"{uuid.uuid4()}\x00"
        key = f"nul-{uuid.uuid4().hex[:8]}".encode()
        topic = topic_prefix + REFERRAL_EVENTS
        await send_raw(kafka_bootstrap, topic, key, json.dumps(event).encode())
        assert await dead_letter_reasons(kafka_bootstrap, topic, {key}) == {key: "invalid_envelope"}

"""Following a concern (issue 15, point 2) against real PostgreSQL and Kafka: by receipt code, "my concerns",
search by external ref, the code for ops and in the contact notify mails receipts with."""

import asyncio
import uuid
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaProducer

from shared.auth.principal import Role
from shared.contracts.inbound import InboundConcern, encode_inbound
from shared.contracts.topics import CONCERN_INBOUND
from shared.kafka.config import producer_config
from tests.support.intake_harness import bearer, concern_body, intake_instance
from tests.support.polling import eventually
from tests.unit.test_intake_data_files import EJENDOMSSYSTEM_A

pytestmark = pytest.mark.integration

ORG = {"organisation_id": "org-demo"}
CLIENTS = {
    "reporter": (Role.REPORTER, ORG),
    "other_reporter": (Role.REPORTER, ORG),
    "other_org": (Role.REPORTER, {"organisation_id": "org-elsewhere"}),
    "guesser": (Role.REPORTER, ORG),
    "parallel_guesser": (Role.REPORTER, ORG),
    "bystander": (Role.REPORTER, ORG),
    "lister": (Role.REPORTER, ORG),
    "consultant": (Role.CONSULTANT, {"department_ids": ["holbaek-1", "holbaek-2", "hoeng-1"]}),
    "municipality": (Role.MUNICIPALITY, {"municipality_code": "0316"}),
    "ops": (Role.OPS, {}),
    "admin": (Role.ADMIN, {}),
}


@pytest.fixture(scope="module")
async def intake(kafka_bootstrap: str, admin_database_url: str):  # noqa: ANN201
    async with intake_instance(kafka_bootstrap, admin_database_url, CLIENTS) as instance:
        yield instance


def auth(intake: SimpleNamespace, name: str) -> dict[str, str]:
    return bearer(intake.tokens[name])


async def report(intake: SimpleNamespace, name: str = "reporter", **overrides: object) -> dict:
    answer = await intake.client.post("/v1/concerns", json=concern_body(**overrides), headers=auth(intake, name))
    assert answer.status_code == 201, answer.text
    return answer.json()


async def get(intake: SimpleNamespace, ref: str, name: str):  # noqa: ANN201
    return await intake.client.get(f"/v1/concerns/{ref}", headers=auth(intake, name))


async def test_a_reporter_follows_its_concern_by_the_receipt_code_as_typed(intake) -> None:  # noqa: ANN001
    receipt = await report(intake)
    code = receipt["receipt_code"]
    for typed in (code, code.lower(), code.replace("-", ""), f"{code[:4]} {code[5:]}"):
        followed = await get(intake, typed, "reporter")
        assert followed.status_code == 200, (typed, followed.text)
        view = followed.json()
        assert (view["id"], view["receipt_code"], view["disclosure"]) == (receipt["id"], code, "full")
        assert view["details"]["reporter"]["name"] == "Test Vicevært"
    by_id = await get(intake, receipt["id"], "reporter")
    assert by_id.json()["receipt_code"] == code
    refused = await get(intake, "not-a-code", "reporter")
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == ["path.concern_id"]


async def test_another_reporters_code_answers_exactly_like_a_code_nobody_has(intake) -> None:  # noqa: ANN001
    code = (await report(intake))["receipt_code"]
    unknown = next(c for c in ("ZZZZ-ZZZZ", "YYYY-YYYY") if c != code)
    theirs = await get(intake, code, "other_reporter")
    nobodys = await get(intake, unknown, "other_reporter")
    assert theirs.status_code == nobodys.status_code == 404
    assert theirs.json() == nobodys.json() and theirs.headers["content-type"] == nobodys.headers["content-type"]
    # Recipients do not follow concerns by the reporter's code (they have referral ids): the same 404.
    for role in ("consultant", "municipality", "other_org"):
        assert (await get(intake, code, role)).json() == nobodys.json()


async def test_guessing_receipt_codes_is_refused_with_429_and_retry_after(intake) -> None:  # noqa: ANN001
    receipt = await report(intake, "guesser")
    own = receipt["receipt_code"]
    assert (await get(intake, own, "guesser")).status_code == 200  # hits are not counted
    burst = intake.settings.receipt_lookup_failures_burst
    misses = [f"{c}{c}{c}{c}-{c}{c}{c}{c}" for c in "ABCDEFGHJKLMNPQRSTUVWXYZ"][: burst + 1]
    answers = [await get(intake, miss, "guesser") for miss in misses if miss != own]
    assert [a.status_code for a in answers[:burst]] == [404] * burst
    refused = answers[burst]
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-type"] == "application/problem+json"
    # Once refused, a hit is refused too (else a 200 among the 429s would give the code away) ...
    danish = await intake.client.get(f"/v1/concerns/{own}", headers=auth(intake, "guesser") | {"Accept-Language": "da"})
    assert danish.status_code == 429 and danish.json()["detail"].startswith("For mange mislykkede opslag")
    # ... while its id still works, and other clients are not held back.
    assert (await get(intake, receipt["id"], "guesser")).status_code == 200
    assert (await get(intake, (await report(intake, "bystander"))["receipt_code"], "bystander")).status_code == 200


async def test_guesses_sent_in_parallel_are_counted_as_they_start(intake) -> None:  # noqa: ANN001
    burst = intake.settings.receipt_lookup_failures_burst
    misses = [f"{a}{b}{a}{b}-{b}{a}{b}{a}" for a in "ABCDEF" for b in "GHJKLM"][: burst * 3]
    answers = await asyncio.gather(*(get(intake, miss, "parallel_guesser") for miss in misses))
    statuses = [a.status_code for a in answers]
    assert statuses.count(404) <= burst and statuses.count(429) >= 2 * burst


async def test_ops_sees_and_finds_any_receipt_code_without_personal_details(intake) -> None:  # noqa: ANN001
    receipt = await report(intake, external_ref={"system": "beboerapp-b", "id": f"B-{uuid.uuid4().hex[:8]}"})
    for role, disclosure in (("ops", "anonymous"), ("admin", "full")):
        by_id = (await get(intake, receipt["id"], role)).json()
        assert by_id["receipt_code"] == receipt["receipt_code"] and by_id["external_ref"]["system"] == "beboerapp-b"
        by_code = await get(intake, receipt["receipt_code"].lower(), role)
        assert by_code.status_code == 200 and by_code.json()["id"] == receipt["id"]
        assert by_code.json()["disclosure"] == disclosure
    assert (await get(intake, receipt["receipt_code"], "ops")).json()["details"] is None


async def test_my_concerns_are_the_callers_own_newest_first_in_bounded_pages(intake) -> None:  # noqa: ANN001
    mine = [(await report(intake, "lister"))["id"] for _ in range(3)]
    await report(intake, "other_reporter")
    first = await intake.client.get("/v1/concerns", params={"limit": 2}, headers=auth(intake, "lister"))
    assert first.status_code == 200, first.text
    page = first.json()
    assert [i["id"] for i in page["items"]] == mine[::-1][:2] and page["next_offset"] == 2
    assert all(i["receipt_code"] and i["status"] == "received" and "details" not in i for i in page["items"])
    rest = await intake.client.get("/v1/concerns", params={"limit": 2, "offset": 2}, headers=auth(intake, "lister"))
    assert [i["id"] for i in rest.json()["items"]] == [mine[0]] and rest.json()["next_offset"] is None
    for bad, value in (("limit", 0), ("limit", 101), ("offset", -1), ("limit", "many")):
        refused = await intake.client.get("/v1/concerns", params={bad: value}, headers=auth(intake, "lister"))
        assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == [f"query.{bad}"]
    assert (await intake.client.get("/v1/concerns", headers=auth(intake, "municipality"))).status_code == 403
    everything = await intake.client.get("/v1/concerns", params={"limit": 100}, headers=auth(intake, "ops"))
    assert set(mine) <= {i["id"] for i in everything.json()["items"]}


async def test_search_by_external_ref_for_the_integration_and_ops(intake) -> None:  # noqa: ANN001
    ref = {"system": "beboerapp-b", "id": f"B-{uuid.uuid4().hex[:8]}"}
    receipt = await report(intake, external_ref=ref)
    await report(intake, external_ref={"system": "beboerapp-b", "id": ref["id"] + "-other"})
    query = {"external_ref_system": ref["system"], "external_ref_id": ref["id"]}

    async def search(name: str) -> list[dict]:
        answer = await intake.client.get("/v1/concerns", params=query, headers=auth(intake, name))
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]

    for name in ("reporter", "ops", "admin"):
        [found] = await search(name)
        assert (found["id"], found["receipt_code"], found["external_ref"]) == (receipt["id"], receipt["receipt_code"],
                                                                             ref)  # fmt: skip
    assert await search("other_reporter") == [] and await search("other_org") == []
    half = await intake.client.get("/v1/concerns", params={"external_ref_id": ref["id"]}, headers=auth(intake, "ops"))
    assert half.status_code == 422 and [e["field"] for e in half.json()["errors"]] == ["query.external_ref_system"]
    # PostgreSQL refuses NUL in text: a 422 naming the field, in the search and in the report (both were a 500).
    with_nul = query | {"external_ref_id": "B-\x00"}
    nul = await intake.client.get("/v1/concerns", params=with_nul, headers=auth(intake, "ops"))
    assert nul.status_code == 422 and [e["field"] for e in nul.json()["errors"]] == ["query.external_ref_id"]
    bad = concern_body(external_ref={"system": "beboerapp-b", "id": "B-\x00"})
    refused = await intake.client.post("/v1/concerns", json=bad, headers=auth(intake, "reporter"))
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == ["external_ref.id"]


async def test_the_organisations_integration_finds_its_inbound_concern_and_its_code(intake) -> None:  # noqa: ANN001
    external_id = f"A-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(**producer_config(intake.bootstrap, "test-housing-system"))
    await producer.start()
    try:
        message = InboundConcern(system="ejendomssystem-a", external_id=external_id, payload=EJENDOMSSYSTEM_A)
        await producer.send_and_wait(intake.prefix + CONCERN_INBOUND, encode_inbound(message), key=b"a")
    finally:
        await producer.stop()
    query = {"external_ref_system": "ejendomssystem-a", "external_ref_id": external_id}
    found: list[dict] = []

    async def stored() -> bool:
        answer = await intake.client.get("/v1/concerns", params=query, headers=auth(intake, "other_reporter"))
        found[:] = answer.json()["items"]
        return bool(found)

    await eventually(stored, within=30, what="the inbound concern found by its external ref")
    [concern] = found
    assert (
        concern["receipt_code"] and concern["channel"] == "inbound" and concern["source_system"] == "ejendomssystem-a"
    )
    ops_view = (await get(intake, concern["id"], "ops")).json()
    assert ops_view["receipt_code"] == concern["receipt_code"]
    elsewhere = await intake.client.get("/v1/concerns", params=query, headers=auth(intake, "other_org"))
    assert elsewhere.json()["items"] == []


async def test_the_reporter_contact_for_receipts_carries_the_receipt_code(intake) -> None:  # noqa: ANN001
    receipt = await report(intake)
    contact = await intake.client.get(f"/v1/concerns/{receipt['id']}/reporter-contact", headers=auth(intake, "admin"))
    assert contact.status_code == 200
    assert contact.json() == {"channel": "email", "address": "vicevaert@example.org",
                              "receipt_code": receipt["receipt_code"]}  # fmt: skip


async def test_a_consultant_follows_its_own_report_by_code_and_lists_it(intake) -> None:  # noqa: ANN001
    receipt = await report(intake, "consultant", reporter={"role": "consultant", "name": "Test Konsulent"})
    followed = await get(intake, receipt["receipt_code"], "consultant")
    assert followed.status_code == 200, followed.text
    assert (followed.json()["receipt_code"], followed.json()["disclosure"]) == (receipt["receipt_code"], "full")
    listed = await intake.client.get("/v1/concerns", headers=auth(intake, "consultant"))
    assert [i["id"] for i in listed.json()["items"]] == [receipt["id"]]
    assert (await intake.client.get("/v1/concerns", headers=auth(intake, "municipality"))).status_code == 403

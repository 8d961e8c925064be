"""intake's HTTP API against real PostgreSQL and Kafka: receipts, idempotency, refusals, auth, reference data."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import pytest

from shared.auth.principal import Role
from shared.contracts.envelope import decode
from shared.contracts.topics import CONCERN_EVENTS
from tests.support.intake_harness import (
    bearer,
    concern_body,
    intake_database,
    intake_settings,
    isolated_topics,
    issue,
    running_intake,
)
from tests.support.polling import eventually, read_all

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def api(kafka_bootstrap: str, admin_database_url: str):  # noqa: ANN201
    """One intake instance for the module, on its own topics and database, with a client of every role."""
    prefix = await isolated_topics(kafka_bootstrap)
    tokens = {
        "reporter": await issue(kafka_bootstrap, prefix, Role.REPORTER, organisation_id="org-demo"),
        "reporter_holbaek_1": await issue(
            kafka_bootstrap, prefix, Role.REPORTER, organisation_id="org-demo", department_ids=["holbaek-1"]
        ),
        "consultant": await issue(
            kafka_bootstrap, prefix, Role.CONSULTANT, department_ids=["holbaek-1", "holbaek-2", "hoeng-1"]
        ),
        "municipality": await issue(kafka_bootstrap, prefix, Role.MUNICIPALITY, municipality_code="0326"),
        "association": await issue(kafka_bootstrap, prefix, Role.ASSOCIATION, department_ids=["holbaek-1"]),
        "ops": await issue(kafka_bootstrap, prefix, Role.OPS),
        "admin": await issue(kafka_bootstrap, prefix, Role.ADMIN),
    }
    tokens = {name: issued.token for name, issued in tokens.items()}
    async with intake_database(admin_database_url) as url:
        settings = intake_settings(url, kafka_bootstrap, prefix)
        async with running_intake(settings, *tokens.values()) as client:
            yield SimpleNamespace(client=client, tokens=tokens, url=url, prefix=prefix, bootstrap=kafka_bootstrap)


def auth(api: SimpleNamespace, role: str = "reporter") -> dict[str, str]:
    return bearer(api.tokens[role])


async def events_of(api: SimpleNamespace, concern_id: str, expected: int = 1) -> list:
    """The concern's events on the topic, once at least `expected` have arrived."""
    found: list = []

    async def arrived() -> bool:
        records = await read_all(api.bootstrap, api.prefix + CONCERN_EVENTS, expected=1)
        found[:] = [r for r in records if decode(r.value).data.concern_id == concern_id]
        return len(found) >= expected

    await eventually(arrived, within=30, what=f"{expected} event(s) of concern {concern_id}")
    return found


async def rows(api: SimpleNamespace, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(api.url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_a_concern_is_stored_and_answered_with_receipt_guidance_and_a_thin_event(api) -> None:  # noqa: ANN001
    body = concern_body(categories=["noise", "threats_or_violence"], severity="acute", legal_basis="vital_interest")
    response = await api.client.post("/v1/concerns", json=body, headers=auth(api))
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["status"] == "received" and response.headers["location"] == f"/v1/concerns/{receipt['id']}"
    assert len(receipt["receipt_code"]) == 9 and receipt["receipt_code"][4] == "-"
    assert [g["category"] for g in receipt["guidance"]] == ["threats_or_violence", "noise"]
    assert "Ring 112" in receipt["guidance"][0]["call_112"]

    [record] = await events_of(api, receipt["id"])
    event = decode(record.value)
    assert event.type == "concern.reported.v1" and record.key.decode() == event.subject == event.data.subject_key
    data = event.data
    assert (data.department_id, data.municipality_code, data.organisation_id) == ("holbaek-1", "0316", "org-demo")
    assert (data.channel.value, data.severity.value, data.legal_basis.value) == ("http", "acute", "vital_interest")
    assert data.has_reporter_contact and data.has_resident_details and data.reporter_role.value == "caretaker"
    for personal in (body["description"], body["tenancy_id"], "Fiktiv Beboer", "vicevaert@example.org", "Testvej"):
        assert personal.encode() not in record.value
    [stored] = await rows(api, "SELECT sealed, receipt_code FROM concerns WHERE id = $1::uuid", receipt["id"])
    assert stored["receipt_code"] == receipt["receipt_code"] and b"Fiktiv" not in stored["sealed"]


async def test_a_replay_with_the_same_idempotency_key_returns_the_first_answer(api) -> None:  # noqa: ANN001
    body, key = concern_body(), str(uuid.uuid4())
    headers = auth(api) | {"Idempotency-Key": key}
    first = await api.client.post("/v1/concerns", json=body, headers=headers)
    second = await api.client.post("/v1/concerns", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    stored = await rows(api, "SELECT id FROM outbox_events WHERE key = (SELECT subject_key FROM concerns "
                             "WHERE id = $1::uuid)", first.json()["id"])  # fmt: skip
    assert len(stored) == 1


async def test_concurrent_requests_with_one_idempotency_key_create_one_concern(api) -> None:  # noqa: ANN001
    body, headers = concern_body(), auth(api) | {"Idempotency-Key": str(uuid.uuid4())}
    responses = await asyncio.gather(*(api.client.post("/v1/concerns", json=body, headers=headers) for _ in range(8)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    tenancy = await rows(api, "SELECT count(*) FROM concerns WHERE subject_key = (SELECT subject_key FROM concerns "
                              "WHERE id = $1::uuid)", responses[0].json()["id"])  # fmt: skip
    assert tenancy[0]["count"] == 1


async def test_an_idempotency_key_reused_with_another_body_is_refused(api) -> None:  # noqa: ANN001
    headers = auth(api) | {"Idempotency-Key": str(uuid.uuid4())}
    body = concern_body()
    assert (await api.client.post("/v1/concerns", json=body, headers=headers)).status_code == 201
    reused = await api.client.post("/v1/concerns", json=body | {"severity": "high"}, headers=headers)
    assert reused.status_code == 409
    assert reused.json()["errors"] == [{"field": "Idempotency-Key", "problem": "already used for a different request"}]


async def test_idempotency_keys_belong_to_one_client(api) -> None:  # noqa: ANN001
    key, body = str(uuid.uuid4()), concern_body()
    mine = await api.client.post("/v1/concerns", json=body, headers=auth(api) | {"Idempotency-Key": key})
    theirs = await api.client.post(
        "/v1/concerns", json=body, headers=auth(api, "consultant") | {"Idempotency-Key": key}
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


async def test_external_ref_is_a_natural_key(api) -> None:  # noqa: ANN001
    body = concern_body(external_ref={"system": "ejendomssystem-a", "id": f"HTTP-{uuid.uuid4().hex[:8]}"})
    first = await api.client.post("/v1/concerns", json=body, headers=auth(api))
    again = await api.client.post("/v1/concerns", json=body, headers=auth(api))
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    other = await api.client.post("/v1/concerns", json=body | {"description": "Noget andet."}, headers=auth(api))
    assert other.status_code == 409 and other.json()["errors"][0]["field"] == "external_ref"
    assert len(await events_of(api, first.json()["id"])) == 1


def _without(field: str) -> dict:
    return {k: v for k, v in concern_body().items() if k != field}


FUTURE = (datetime.now(UTC) + timedelta(days=1)).isoformat()
REFUSALS = [
    ("missing department", _without("department_id"), "department_id"),
    ("unknown department", concern_body(department_id="atlantis-1"), "department_id"),
    ("department outside the scope", concern_body(department_id="holbaek-2"), "department_id"),
    ("no categories", concern_body(categories=[]), "categories"),
    ("unknown category", concern_body(categories=["weather"]), "categories.0"),
    ("category twice", concern_body(categories=["noise", "noise"]), "categories"),
    ("unknown severity", concern_body(severity="urgent"), "severity"),
    ("unknown consent", concern_body(consent="maybe"), "consent"),
    ("consent is not a legal basis here", concern_body(legal_basis="consent"), "legal_basis"),
    ("blank description", concern_body(description="   "), "description"),
    ("description too long", concern_body(description="SENTINEL" + "x" * 4000), "description"),
    ("observed in the future", concern_body(observed_at=FUTURE), "observed_at"),
    ("observed_at without timezone", concern_body(observed_at="2025-03-04T08:30:00"), "observed_at"),
    ("observed_at not a time", concern_body(observed_at="SENTINEL"), "observed_at"),
    ("no reporter", _without("reporter"), "reporter"),
    ("unknown reporter role", concern_body(reporter={"role": "janitor"}), "reporter.role"),
    ("reporter name too long", concern_body(reporter={"role": "caretaker", "name": "n" * 201}), "reporter.name"),
    ("empty resident", concern_body(resident={}), "resident"),
    ("resident phone not a number", concern_body(resident={"phone": "SENTINEL"}), "resident.phone"),
    ("resident born in the future", concern_body(resident={"date_of_birth": "2999-01-01"}), "resident.date_of_birth"),
    ("tenancy id too long", concern_body(tenancy_id="t" * 65), "tenancy_id"),
    ("unknown field", concern_body(mood="SENTINEL"), "mood"),
    ("bad external system id", concern_body(external_ref={"system": "bad system!", "id": "1"}), "external_ref.system"),
]


@pytest.mark.parametrize(("case", "body", "field"), REFUSALS, ids=[r[0] for r in REFUSALS])
async def test_every_refusal_is_a_422_naming_the_field_without_echoing_it(api, case, body, field) -> None:  # noqa: ANN001
    response = await api.client.post("/v1/concerns", json=body, headers=auth(api, "reporter_holbaek_1"))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in problem["errors"]], problem
    assert "SENTINEL" not in response.text


@pytest.mark.parametrize(
    ("case", "content", "headers", "status", "field"),
    [
        ("not JSON", b"{not json", {}, 422, "body"),
        ("a JSON array", b"[1, 2]", {}, 422, "body"),
        ("Idempotency-Key too long", json.dumps(concern_body()).encode(), {"Idempotency-Key": "k" * 201}, 422,
         "header.Idempotency-Key"),
        ("Idempotency-Key with spaces", json.dumps(concern_body()).encode(), {"Idempotency-Key": "a b"}, 422,
         "header.Idempotency-Key"),
        ("body too large", json.dumps(concern_body(description="x" * 70_000)).encode(), {}, 413, None),
    ],
)  # fmt: skip
async def test_malformed_requests_are_refused(api, case, content, headers, status, field) -> None:  # noqa: ANN001
    headers = auth(api) | {"Content-Type": "application/json"} | headers
    response = await api.client.post("/v1/concerns", content=content, headers=headers)
    assert response.status_code == status, response.text
    if field:
        assert field in [e["field"] for e in response.json()["errors"]]
    else:
        assert "65536 bytes" in response.json()["detail"]


async def test_no_refusal_stored_anything(api) -> None:  # noqa: ANN001
    count_before = (await rows(api, "SELECT count(*) FROM concerns"))[0]["count"]
    for _, body, _ in REFUSALS:
        await api.client.post("/v1/concerns", json=body, headers=auth(api, "reporter_holbaek_1"))
    assert (await rows(api, "SELECT count(*) FROM concerns"))[0]["count"] == count_before


CONCERN = "/v1/concerns/00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("method", "path", "who", "status"),
    [
        ("POST", "/v1/concerns", None, 401),
        ("POST", "/v1/concerns", "invalid", 401),
        ("POST", "/v1/concerns", "municipality", 403),
        ("POST", "/v1/concerns", "association", 403),
        ("POST", "/v1/concerns", "ops", 403),
        ("GET", CONCERN, None, 401),
        ("GET", CONCERN, "invalid", 401),
        ("POST", CONCERN + "/erasure", None, 401),
        ("POST", CONCERN + "/erasure", "reporter", 403),
        ("POST", CONCERN + "/erasure", "consultant", 403),
        ("POST", CONCERN + "/erasure", "municipality", 403),
        ("POST", CONCERN + "/erasure", "ops", 403),
        ("GET", CONCERN + "/reporter-contact", "reporter", 403),
        ("GET", CONCERN + "/reporter-contact", "ops", 403),
        ("GET", CONCERN + "/reporter-contact", None, 401),
        ("GET", CONCERN + "/audit", "consultant", 403),
        ("GET", "/v1/departments", None, 401),
        ("GET", "/v1/guidance/noise", None, 401),
        ("GET", "/v1/guidance/noise", "invalid", 401),
    ],
)
async def test_auth_refusals(api, method, path, who, status) -> None:  # noqa: ANN001
    headers = {} if who is None else bearer("crp_not-a-real-token") if who == "invalid" else auth(api, who)
    response = await api.client.request(method, path, json=concern_body() if method == "POST" else None,
                                        headers=headers)  # fmt: skip
    assert response.status_code == status, response.text
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"


async def test_a_consultant_may_report_on_its_departments(api) -> None:  # noqa: ANN001
    ok = await api.client.post(
        "/v1/concerns", json=concern_body(department_id="hoeng-1"), headers=auth(api, "consultant")
    )
    refused = await api.client.post(
        "/v1/concerns", json=concern_body(department_id="roskilde-1"), headers=auth(api, "consultant")
    )
    assert (ok.status_code, refused.status_code) == (201, 422)


async def test_a_concern_is_hidden_from_callers_without_a_right_to_it(api) -> None:  # noqa: ANN001
    created = await api.client.post("/v1/concerns", json=concern_body(), headers=auth(api))
    path = f"/v1/concerns/{created.json()['id']}"
    for who in ("reporter_holbaek_1", "municipality", "association", "consultant"):
        assert (await api.client.get(path, headers=auth(api, who))).status_code == 404, who
    assert (await api.client.get(path, headers=auth(api))).status_code == 200
    assert (await api.client.get("/v1/concerns/not-a-uuid", headers=auth(api))).status_code == 422


async def test_guidance_per_category_in_danish(api) -> None:  # noqa: ANN001
    response = await api.client.get("/v1/guidance/hoarding", headers=auth(api, "association"))
    assert response.status_code == 200
    guidance = response.json()
    assert guidance["category"] == "hoarding" and guidance["language"] == "da" and "112" in guidance["call_112"]
    unknown = await api.client.get("/v1/guidance/weather", headers=auth(api))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "path.category"


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("reporter", ["aarhus-1", "hoeng-1", "holbaek-1", "holbaek-2", "kalundborg-1", "odense-1", "roskilde-1"]),
        ("reporter_holbaek_1", ["holbaek-1"]),
        ("consultant", ["hoeng-1", "holbaek-1", "holbaek-2"]),
        ("municipality", ["hoeng-1", "kalundborg-1"]),
        ("association", ["holbaek-1"]),
    ],
)
async def test_departments_in_the_callers_scope(api, who, expected) -> None:  # noqa: ANN001
    response = await api.client.get("/v1/departments", headers=auth(api, who))
    assert response.status_code == 200
    departments = response.json()
    assert [d["id"] for d in departments] == expected
    hoeng = [d for d in departments if d["id"] == "hoeng-1"]
    assert not hoeng or hoeng[0] | {"name": "-"} == {
        "id": "hoeng-1", "name": "-", "organisation_id": "org-demo", "municipality_code": "0326", "tenancies": 74
    }  # fmt: skip


async def test_reference_data_is_in_the_database(api) -> None:  # noqa: ANN001
    departments = await rows(api, "SELECT id, municipality_code FROM departments ORDER BY id")
    assert len(departments) == 7
    recipients = await rows(api, "SELECT recipient_id FROM department_recipients WHERE department_id = 'hoeng-1'")
    assert [r["recipient_id"] for r in recipients] == ["consultant-holbaek"]


async def test_metrics_count_accepted_and_refused_concerns_by_reason(api) -> None:  # noqa: ANN001
    await api.client.post("/v1/concerns", json=concern_body(department_id="atlantis-1"), headers=auth(api))
    await api.client.post("/v1/concerns", json=concern_body(severity="x"), headers=auth(api))
    await api.client.post("/v1/concerns", json=concern_body(), headers=auth(api))
    metrics = (await api.client.get("/metrics")).text
    assert 'intake_concerns_refused_total{reason="unknown_department",source="http"}' in metrics
    assert 'intake_concerns_refused_total{reason="invalid_request",source="http"}' in metrics
    assert 'intake_concerns_accepted_total{source="http"}' in metrics
    assert "outbox_oldest_pending_seconds" in metrics and "intake_concern_accept_seconds_bucket" in metrics
    assert 'http_request_duration_seconds_bucket{le="0.005",method="POST",route="/v1/concerns"}' in metrics

"""intake's refusals in Danish for `Accept-Language: da`, through its real edge (PostgreSQL, Kafka, the body limit
in front of it), English otherwise; field names stay English for integrators."""

import uuid

import pytest

from tests.integration.test_intake_privacy import auth, intake  # noqa: F401 - `intake` is a fixture
from tests.support.intake_harness import concern_body

pytestmark = pytest.mark.integration
DA = {"Accept-Language": "da-DK,da;q=0.9,en;q=0.5"}


async def test_intake_refuses_in_danish_when_asked_and_in_english_otherwise(intake) -> None:  # noqa: ANN001, F811
    client = intake.client
    bad = concern_body() | {"severity": "enormous", "categories": []}
    danish = await client.post("/v1/concerns", json=bad, headers=auth(intake, "reporter") | DA)
    assert (danish.status_code, danish.headers["content-language"]) == (422, "da")
    body = danish.json()
    assert body["title"] == "Ugyldig forespørgsel"
    assert {e["field"] for e in body["errors"]} == {"severity", "categories"}
    assert not [e for e in body["errors"] if "should" in e["problem"] or "Input" in e["problem"]], body
    english = await client.post("/v1/concerns", json=bad, headers=auth(intake, "reporter"))
    assert (english.headers["content-language"], english.json()["title"]) == ("en", "Invalid request")
    assert [e["field"] for e in english.json()["errors"]] == [e["field"] for e in body["errors"]]

    missing = await client.get(f"/v1/concerns/{uuid.uuid4()}", headers=auth(intake, "admin") | DA)
    assert (missing.status_code, missing.json()["title"], missing.json()["detail"]) == (
        404,
        "Findes ikke",
        "Findes ikke.",
    )
    anonymous = await client.get(f"/v1/concerns/{uuid.uuid4()}", headers=DA)
    assert (anonymous.status_code, anonymous.json()["detail"]) == (401, "Bearer-token mangler.")
    huge = await client.post(
        "/v1/concerns",
        content=b"x" * 2_000_000,
        headers=auth(intake, "reporter") | DA | {"Content-Type": "application/json"},
    )
    assert (huge.status_code, huge.headers["content-language"]) == (413, "da")
    assert huge.json()["detail"].startswith("Forespørgslens indhold er større end grænsen på")

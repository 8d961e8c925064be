"""One source of reference data (issue 15, point 1): a change to intake's directory reaches every service.

The whole platform as processes. An admin changes the directory at its owner (PUT to intake): new tenancies and a
new name for a department, another consultant for another, a new e-mail address. Then stats, routing and notify
each serve exactly the owner's directory (same version, same content), stats computes its rates and hotspots on the
new tenancies, routing refers to the new consultant and notify mails the new address.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.polling import eventually
from tests.support.reference import owner_directory
from tests.support.scenarios import bearer, running_platform

pytestmark = pytest.mark.e2e

FOLLOWERS = ("routing", "notify", "stats")


@pytest.fixture(scope="module")
async def platform(kafka_bootstrap: str, admin_database_url: str) -> AsyncIterator[SimpleNamespace]:
    """The four services, SMTP and webhook receivers."""
    async with running_platform(kafka_bootstrap, admin_database_url) as running:
        yield running


async def _served_everywhere(platform: SimpleNamespace, owner: dict[str, Any]) -> None:
    """Wait until stats, routing and notify each serve the owner's directory: same version, same content."""
    ops = bearer(platform.clients.ops)
    for service in FOLLOWERS:

        async def same(service: str = service) -> bool:
            answer = await platform.http[service].get("/v1/reference-data", headers=ops)
            return answer.status_code == 200 and answer.json()["version"] == owner["version"]

        await eventually(same, within=30, what=f"{service} holding directory {owner['version'][:12]}")
        held = (await platform.http[service].get("/v1/reference-data", headers=ops)).json()
        assert held == owner, f"{service} serves another directory than intake's"


def _concern(department_id: str, categories: list[str]) -> dict[str, Any]:
    return {
        "department_id": department_id,
        "categories": categories,
        "severity": "medium",
        "description": "Testbekymring om referencedata. (Fiktivt testeksempel.)",
        "observed_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "reporter": {"role": "caretaker", "name": "Test Vicevært", "contact": "vicevaert@example.org"},
        "consent": "given",
    }


async def test_every_service_serves_the_owners_directory_at_start(platform: SimpleNamespace) -> None:
    answer = await platform.http["intake"].get("/v1/reference-data", headers=bearer(platform.clients.admin))
    assert answer.status_code == 200
    assert answer.json()["version"] == owner_directory().version
    await _served_everywhere(platform, answer.json())
    departments = await platform.http["intake"].get("/v1/departments", headers=bearer(platform.clients.reporter))
    hotspots = await platform.http["stats"].get("/v1/stats/hotspots", headers=bearer(platform.clients.ops))
    given = {d["id"]: (d["name"], d["tenancies"]) for d in departments.json()}
    assert {d["department_id"]: (d["name"], d["tenancies"]) for d in hotspots.json()["departments"]} == given


async def test_a_change_at_the_owner_reaches_stats_routing_and_notify(platform: SimpleNamespace) -> None:
    admin, ops = bearer(platform.clients.admin), bearer(platform.clients.ops)
    content = (await platform.http["intake"].get("/v1/reference-data", headers=admin)).json()
    del content["version"]
    departments = {d["id"]: d for d in content["organisations"][0]["departments"]}
    departments["holbaek-1"].update(name="Ladegårdsparken Nord (demo), Holbæk", tenancies=1000)
    departments["roskilde-1"]["consultants"] = ["consultant-kalundborg"]
    content["recipients"]["consultant-kalundborg"]["email"] = "ny.boligsocial.kalundborg@example.dk"
    changed = await platform.http["intake"].put("/v1/reference-data", json=content, headers=admin)
    assert changed.status_code == 200, changed.text
    owner = changed.json()
    assert owner["version"] != owner_directory().version
    await _served_everywhere(platform, owner)

    # stats: the names and tenancies the organisation gave, in the rate per 100 tenancies and the hotspots.
    for _ in range(5):
        answer = await platform.http["intake"].post(
            "/v1/concerns", json=_concern("holbaek-1", ["noise"]), headers=bearer(platform.clients.reporter)
        )
        assert answer.status_code == 201, answer.text

    async def counted() -> bool:
        overview = await platform.http["stats"].get("/v1/stats/overview", headers=ops)
        rows = [d for d in overview.json()["concerns"]["by_department"] if d["department_id"] == "holbaek-1"]
        return bool(rows) and rows[0]["concerns"] >= 5

    await eventually(counted, within=60, what="stats counting the concerns about holbaek-1")
    overview = (await platform.http["stats"].get("/v1/stats/overview", headers=ops)).json()
    (holbaek,) = [d for d in overview["concerns"]["by_department"] if d["department_id"] == "holbaek-1"]
    assert holbaek["name"] == "Ladegårdsparken Nord (demo), Holbæk" and holbaek["tenancies"] == 1000
    assert holbaek["rate_per_100_tenancies"] == round(100 * holbaek["concerns"] / 1000, 3)
    hotspots = (await platform.http["stats"].get("/v1/stats/hotspots", headers=ops)).json()
    (spot,) = [d for d in hotspots["departments"] if d["department_id"] == "holbaek-1"]
    assert spot["tenancies"] == 1000 and spot["rate_per_100_tenancies"] == holbaek["rate_per_100_tenancies"]
    tenancies = sum(d["tenancies"] for d in departments.values())
    assert hotspots["baselines"][0]["tenancies"] == tenancies

    # routing refers to the department's new consultant; notify mails that consultant's new address.
    answer = await platform.http["intake"].post(
        "/v1/concerns", json=_concern("roskilde-1", ["other"]), headers=bearer(platform.clients.reporter)
    )
    assert answer.status_code == 201, answer.text
    concern_id = answer.json()["id"]

    async def referred() -> bool:
        return bool(platform.events.of("referral.created.v1", concern_id=concern_id))

    await eventually(referred, within=60, what="routing referring the roskilde-1 concern")
    (created,) = platform.events.of("referral.created.v1", concern_id=concern_id)
    assert created.data.recipient_id == "consultant-kalundborg"

    async def mailed() -> bool:
        inbox = platform.mailbox.to("ny.boligsocial.kalundborg@example.dk")
        return any(created.data.referral_id in m.get_content() for m in inbox)

    await eventually(mailed, within=60, what="notify mailing the consultant's new address")

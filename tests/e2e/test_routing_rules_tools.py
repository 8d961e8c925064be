"""Rules tooling a person can use, against a real routing process: ETags, old versions and their diffs, simulating
intake's own body; and moves refused naming the field (422) apart from illegal moves (409), with the history."""

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest

from shared.auth.admin import new_client, publish_record
from shared.auth.principal import Role
from shared.contracts.topics import CONCERN_EVENTS
from shared.kafka.admin import ensure_topics
from tests.support.databases import migrated_database
from tests.support.intake_harness import concern_body
from tests.support.polling import eventually
from tests.support.reference import publish_owner_directory
from tests.support.routing_events import concern_event, publish
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e
ROLES = {
    "admin": (Role.ADMIN, {}),
    "ops": (Role.OPS, {}),
    "consultant": (Role.CONSULTANT, {"department_ids": ["holbaek-1"]}),
    "holbaek": (Role.MUNICIPALITY, {"municipality_code": "0316"}),
}


@pytest.fixture(scope="module")
async def routing(kafka_bootstrap: str, admin_database_url: str) -> AsyncIterator[SimpleNamespace]:
    """One routing process for the module on its own topics and database, the owner's directory, a client per role."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(kafka_bootstrap, partitions=3, prefix=prefix)
    headers = {}
    for name, (role, scope) in ROLES.items():
        issued = new_client(name=f"rules tools {name}", role=role, **scope)  # type: ignore[arg-type]
        await publish_record(kafka_bootstrap, issued.record, topic_prefix=prefix)
        headers[name] = {"Authorization": f"Bearer {issued.token}"}
    await publish_owner_directory(kafka_bootstrap, prefix)  # holbaek-1 lies in Holbæk (0316), kalundborg-1 in 0326
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "TOPIC_PREFIX": prefix,
        "TOPIC_PARTITIONS": "3",
        "SUBJECT_KEY_SECRET": "test-subject-key-secret-0123456789",
        "LOCAL_DEV": "true",
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
    }
    async with migrated_database(admin_database_url, "routing") as url:
        process = ServiceProcess("routing", {**env, "DATABASE_URL": url})
        await asyncio.to_thread(process.start)
        try:
            async with httpx.AsyncClient(base_url=process.url, timeout=10) as http:

                async def known() -> bool:
                    return (await http.get("/v1/rules", headers=headers["ops"])).status_code == 200

                await eventually(known, what="the clients reaching routing")
                yield SimpleNamespace(http=http, headers=headers, prefix=prefix, bootstrap=kafka_bootstrap)
        finally:
            process.stop()


async def store(routing: SimpleNamespace, document: dict) -> httpx.Response:
    """PUT a new version, naming the version read (If-Match)."""
    http, admin = routing.http, routing.headers["admin"]
    read = await http.get("/v1/rules", headers=admin)
    return await http.put("/v1/rules", json=document, headers={**admin, "If-Match": read.headers["ETag"]})


async def test_get_rules_sends_the_etag_put_takes_it_and_if_none_match_answers_304(routing) -> None:
    http, admin, ops = routing.http, routing.headers["admin"], routing.headers["ops"]
    read = await http.get("/v1/rules", headers=ops)
    assert read.status_code == 200
    tag = read.headers["ETag"]
    assert tag == f'"{read.json()["version"]}"' and read.headers["Cache-Control"] == "private, no-cache"
    for held in (tag, f"W/{tag}", f'"999999", {tag}', "*"):
        unchanged = await http.get("/v1/rules", headers={**ops, "If-None-Match": held})
        assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["ETag"] == tag
    assert (await http.get("/v1/rules", headers={**ops, "If-None-Match": '"999999"'})).status_code == 200
    assert (await http.get("/v1/rules", headers=routing.headers["consultant"])).status_code == 403
    # The reference directory routing follows is tagged the same way, by its version.
    directory_read = await http.get("/v1/reference-data", headers=ops)
    directory_tag = directory_read.headers["ETag"]
    assert directory_tag == f'"{directory_read.json()["version"]}"'
    held_directory = {**ops, "If-None-Match": directory_tag}
    assert (await http.get("/v1/reference-data", headers=held_directory)).status_code == 304

    stored = await http.put("/v1/rules", json=read.json()["document"], headers={**admin, "If-Match": tag})
    assert stored.status_code == 200
    new_tag = stored.headers["ETag"]
    assert new_tag == f'"{stored.json()["version"]}"' and new_tag != tag
    # The tag read before no longer names the version in force: a full answer, and a stale PUT is refused.
    again = await http.get("/v1/rules", headers={**ops, "If-None-Match": tag})
    assert again.status_code == 200 and again.headers["ETag"] == new_tag
    stale = await http.put("/v1/rules", json=read.json()["document"], headers={**admin, "If-Match": tag})
    assert stale.status_code == 412 and stale.headers["ETag"] == new_tag
    weak = await http.put("/v1/rules", json=read.json()["document"], headers={**admin, "If-Match": f"W/{new_tag}"})
    assert weak.status_code == 412  # If-Match compares strongly


async def test_old_versions_are_listed_read_and_diffed(routing) -> None:
    http, admin, ops = routing.http, routing.headers["admin"], routing.headers["ops"]
    base = (await http.get("/v1/rules", headers=ops)).json()
    changed = copy.deepcopy(base["document"])
    noise = next(r for r in changed["rules"] if r["id"] == "neighbour_conflict_noise")
    noise["refer"][0]["task"] = "triage"
    changed["rules"] = [r for r in changed["rules"] if r["id"] != "other"]
    changed["description"] = "Forsøg: støj visiteres."
    stored = await store(routing, changed)
    assert stored.status_code == 200, stored.text
    version = stored.json()["version"]
    assert version == base["version"] + 1

    listed = await http.get("/v1/rules/versions", params={"limit": 1}, headers=ops)
    assert listed.status_code == 200
    (newest,) = listed.json()["items"]
    assert newest["version"] == version and newest["description"] == "Forsøg: støj visiteres."
    assert newest["name"] == "default" and newest["created_by"].startswith("cli_") and "document" not in newest
    following = await http.get("/v1/rules/versions", params={"limit": 1, "before": version}, headers=ops)
    assert [v["version"] for v in following.json()["items"]] == [base["version"]]
    everything = (await http.get("/v1/rules/versions", params={"limit": 100}, headers=ops)).json()
    assert [v["version"] for v in everything["items"]] == list(range(version, 0, -1))
    assert everything["next_before"] is None and everything["items"][-1]["created_by"] == "default"
    assert (await http.get("/v1/rules/versions", params={"limit": 101}, headers=ops)).status_code == 422

    old = await http.get(f"/v1/rules/versions/{base['version']}", headers=ops)
    assert old.status_code == 200 and old.json()["document"] == base["document"]
    assert old.headers["ETag"] == f'"{base["version"]}"'
    cached = await http.get(
        f"/v1/rules/versions/{base['version']}", headers={**ops, "If-None-Match": old.headers["ETag"]}
    )
    assert cached.status_code == 304
    assert (await http.get("/v1/rules/versions/999999", headers=ops)).status_code == 404
    assert (await http.get("/v1/rules/versions", headers=routing.headers["holbaek"])).status_code == 403

    diff = (await http.get(f"/v1/rules/versions/{version}/diff", headers=admin)).json()
    assert diff["version"] == version and diff["against"] == base["version"]
    assert diff["rules"]["removed"] == ["other"] and diff["rules"]["added"] == []
    assert diff["rules"]["changed"] == [
        {"id": "neighbour_conflict_noise", "fields": [{"field": "refer.0.task", "before": "act", "after": "triage"}]}
    ]
    assert [f["field"] for f in diff["fields"]] == ["description"]
    assert "+    task: triage\n" in diff["unified"] and "-- id: other\n" in diff["unified"]
    assert f"--- version {base['version']}\n+++ version {version}\n" in diff["unified"]
    backwards = (await http.get(f"/v1/rules/versions/1/diff?against={version}", headers=ops)).json()
    assert backwards["against"] == version and backwards["rules"]["added"] == ["other"]
    first = (await http.get("/v1/rules/versions/1/diff", headers=ops)).json()
    assert first["against"] is None and "other" in first["rules"]["added"]
    unknown = await http.get(f"/v1/rules/versions/{version}/diff?against=999999", headers=ops)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "against"


async def test_simulate_takes_intakes_body_and_derives_the_municipality(routing) -> None:
    http, ops = routing.http, routing.headers["ops"]
    in_force = (await http.get("/v1/rules", headers=ops)).json()["version"]
    body = concern_body(categories=["rent_arrears"], severity="high", consent="not_asked")
    simulated = await http.post("/v1/rules/simulate", json={"concern": body}, headers=ops)
    assert simulated.status_code == 200, simulated.text
    result = simulated.json()
    assert result["municipality_code"] == "0316" and result["rules_version"] == in_force
    assert result["fired_rules"] == ["rent_arrears_eviction_risk"]
    referrals = {(r["target"], r["recipient_id"]): r for r in result["referrals"]}
    assert set(referrals) == {("consultant", "consultant-holbaek"), ("municipality", "municipality-0316")}
    municipality = referrals[("municipality", "municipality-0316")]
    assert (municipality["task"], municipality["legal_basis"], municipality["disclosure"]) == (
        "act",
        "statutory_duty",
        "full",
    )
    assert municipality["urgent"] is False and municipality["ack_due_at"] < municipality["escalate_at"]

    # A municipality that is not the department's is refused, naming the field; so is an unknown department.
    mismatch = await http.post("/v1/rules/simulate", json={"concern": body, "municipality_code": "0326"}, headers=ops)
    assert mismatch.status_code == 422 and mismatch.json()["errors"] == [
        {"field": "municipality_code", "problem": "the department lies in municipality 0316, not 0326"}
    ]
    agreeing = await http.post("/v1/rules/simulate", json={"concern": body, "municipality_code": "0316"}, headers=ops)
    assert agreeing.status_code == 200
    unknown = await http.post(
        "/v1/rules/simulate", json={"concern": {**body, "department_id": "nowhere-1"}}, headers=ops
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "concern.department_id"
    # intake's own validation applies: a body intake would refuse is refused here, naming the same field.
    no_description = {k: v for k, v in body.items() if k != "description"}
    refused = await http.post("/v1/rules/simulate", json={"concern": no_description}, headers=ops)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "concern.description"

    # The old facts-only input still works; its municipality is checked against the department too.
    facts = {"department_id": "kalundborg-1", "categories": ["noise"], "severity": "low", "consent": "given"}
    old = await http.post("/v1/rules/simulate", json={"concern": {**facts, "municipality_code": "0326"}}, headers=ops)
    assert old.status_code == 200 and old.json()["referrals"][0]["recipient_id"] == "consultant-kalundborg"
    old_mismatch = await http.post(
        "/v1/rules/simulate", json={"concern": {**facts, "municipality_code": "0316"}}, headers=ops
    )
    assert old_mismatch.status_code == 422 and old_mismatch.json()["errors"][0]["field"] == "facts.municipality_code"

    # Against the first version (the default rules) and against a draft; neither stores anything.
    assert (await http.post("/v1/rules/simulate", json={"concern": body, "rules_version": 1}, headers=ops)).json()[
        "rules_version"
    ] == 1
    missing = await http.post("/v1/rules/simulate", json={"concern": body, "rules_version": 999999}, headers=ops)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "rules_version"
    draft = (await http.get("/v1/rules", headers=ops)).json()["document"]
    rent = next(r for r in draft["rules"] if r["id"] == "rent_arrears_eviction_risk")
    rent["refer"] = [{"target": "consultant", "task": "triage"}]
    drafted = (await http.post("/v1/rules/simulate", json={"concern": body, "rules": draft}, headers=ops)).json()
    assert drafted["rules_version"] is None
    assert [(r["recipient_id"], r["task"]) for r in drafted["referrals"]] == [("consultant-holbaek", "triage")]
    assert (await http.get("/v1/rules", headers=ops)).json()["version"] == in_force
    assert (await http.get("/v1/referrals", headers=ops)).json()["items"] == []
    forbidden = await http.post("/v1/rules/simulate", json={"concern": body}, headers=routing.headers["consultant"])
    assert forbidden.status_code == 403


async def test_moves_refused_for_a_bad_reason_or_outcome_are_422_and_answers_carry_the_history(routing) -> None:
    http, holbaek, admin = routing.http, routing.headers["holbaek"], routing.headers["admin"]
    concern = concern_event(categories=("mental_health",), consent="given")
    await publish(routing.bootstrap, routing.prefix + CONCERN_EVENTS, [concern])

    async def routed() -> list:
        params = {"concern_id": concern.data.concern_id}
        return (await http.get("/v1/referrals", params=params, headers=holbaek)).json()["items"]

    await eventually(routed, what="the concern routed")
    (listed,) = await routed()
    assert listed["history"] == []  # in the list too, never null
    url = f"/v1/referrals/{listed['referral_id']}/transitions"
    read = await http.get(f"/v1/referrals/{listed['referral_id']}", headers=holbaek)
    tag = read.headers["ETag"]
    assert tag.startswith('W/"') and read.json()["history"] == []
    held = {**holbaek, "If-None-Match": tag}
    assert (await http.get(f"/v1/referrals/{listed['referral_id']}", headers=held)).status_code == 304

    received = await http.post(url, json={"to": "received"}, headers=holbaek)
    assert received.status_code == 200
    moved = await http.get(f"/v1/referrals/{listed['referral_id']}", headers=held)
    assert moved.status_code == 200 and moved.headers["ETag"] != tag  # the move changed the answer
    assert [h["to_status"] for h in received.json()["referral"]["history"]] == ["received"]
    for body in ({"to": "rejected"}, {"to": "rejected", "reason": "bored"}):
        refused = await http.post(url, json=body, headers=holbaek)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "reason"
    needless_reason = await http.post(url, json={"to": "accepted", "reason": "capacity"}, headers=holbaek)
    assert needless_reason.status_code == 422 and needless_reason.json()["errors"][0]["field"] == "reason"
    bad_outcome = await http.post(url, json={"to": "completed", "outcome": "fixed_it"}, headers=holbaek)
    assert bad_outcome.status_code == 422 and bad_outcome.json()["errors"][0]["field"] == "outcome"
    illegal = await http.post(url, json={"to": "completed", "outcome": "no_action_needed"}, headers=holbaek)
    assert illegal.status_code == 409  # illegal from received, whatever the body
    for step in ({"to": "accepted"}, {"to": "in_progress"}):
        assert (await http.post(url, json=step, headers=holbaek)).status_code == 200
    no_outcome = await http.post(url, json={"to": "completed"}, headers=holbaek)
    assert no_outcome.status_code == 422 and no_outcome.json()["errors"][0]["field"] == "outcome"
    needless = await http.post(url, json={"to": "on_hold", "outcome": "no_action_needed"}, headers=holbaek)
    assert needless.status_code == 422 and needless.json()["errors"][0]["field"] == "outcome"
    done = await http.post(url, json={"to": "completed", "outcome": "support_established"}, headers=holbaek)
    assert done.status_code == 200
    steps = ["received", "accepted", "in_progress", "completed"]
    assert [h["to_status"] for h in done.json()["referral"]["history"]] == steps
    (after,) = (await http.get("/v1/referrals", params={"concern_id": concern.data.concern_id}, headers=admin)).json()[
        "items"
    ]
    assert [h["to_status"] for h in after["history"]] == steps and after["history"][-1][
        "outcome"
    ] == "support_established"


async def test_a_rejection_answers_both_referrals_with_their_histories(routing) -> None:
    http, holbaek = routing.http, routing.headers["holbaek"]
    concern = concern_event(categories=("mental_health",), consent="given")
    await publish(routing.bootstrap, routing.prefix + CONCERN_EVENTS, [concern])

    async def routed() -> list:
        params = {"concern_id": concern.data.concern_id}
        return (await http.get("/v1/referrals", params=params, headers=holbaek)).json()["items"]

    await eventually(routed, what="the concern routed")
    (referral,) = await routed()
    url = f"/v1/referrals/{referral['referral_id']}/transitions"
    assert (await http.post(url, json={"to": "received"}, headers=holbaek)).status_code == 200
    rejected = await http.post(url, json={"to": "rejected", "reason": "not_our_responsibility"}, headers=holbaek)
    assert rejected.status_code == 200, rejected.text
    answer = rejected.json()
    assert [h["to_status"] for h in answer["referral"]["history"]] == ["received", "rejected"]
    assert answer["referral"]["history"][-1]["reason"] == "not_our_responsibility"
    assert answer["rerouted_to"]["history"] == []


async def test_simulate_shows_an_underretnings_due_times_as_the_referral_gets_them(routing) -> None:
    """A child's concern: the children and youth entry's underretning is due in 1 working day, whatever severity."""
    http, ops = routing.http, routing.headers["ops"]
    body = concern_body(categories=["child_welfare"], severity="low", consent="not_asked")
    friday = "2025-03-07T09:00:00Z"
    simulated = await http.post("/v1/rules/simulate", json={"concern": body, "reported_at": friday}, headers=ops)
    assert simulated.status_code == 200, simulated.text
    (entry,) = [r for r in simulated.json()["referrals"] if r["recipient_id"] == "children-0316"]
    assert entry["ack_due_at"].startswith("2025-03-10T09:00:00"), entry  # Monday: 1 working day, not low's 6

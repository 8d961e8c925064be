"""On the real PostgreSQL, through routing's HTTP routes: a hoarding hint on a lonely resident's concern suggests
the consultant; the consultant confirms (a referral, its referral.created.v1 in the outbox) or dismisses it, once;
a consultant of another department does not see it, ops may look but not decide."""

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI, Request

from services.routing import metrics
from services.routing.domain.clock import FakeClock
from services.routing.entrypoints import api
from services.routing.handlers.concerns import apply_concern_events
from shared.auth.principal import Principal, Role
from shared.web.auth import current_principal
from tests.integration.test_routing_store import routing_deps
from tests.support.routing_events import concern_event

pytestmark = pytest.mark.integration
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
PRINCIPALS = {
    "holbaek": Principal("consultant-holbaek", Role.CONSULTANT, department_ids=frozenset({"holbaek-1"})),
    "odense": Principal("consultant-odense", Role.CONSULTANT, department_ids=frozenset({"odense-1"})),
    "municipality": Principal("holbaek-1", Role.MUNICIPALITY, municipality_code="0316"),
    "ops": Principal("ops-1", Role.OPS),
}


def _app(deps) -> FastAPI:  # noqa: ANN001
    app = FastAPI()
    app.include_router(api.referrals.router)
    app.state.deps = deps

    def principal(request: Request) -> Principal:
        return PRINCIPALS[request.headers["x-as"]]

    app.dependency_overrides[current_principal] = principal
    return app


async def _created(pool) -> list[dict]:  # noqa: ANN001
    rows = await pool.fetch("SELECT payload FROM outbox_events WHERE event_type = 'referral.created.v1' ORDER BY id")
    return [json.loads(bytes(r["payload"]))["data"] for r in rows]


async def test_a_hoarding_hint_suggests_the_consultant_who_confirms_or_dismisses_once(fresh_database) -> None:
    clock = FakeClock(T0)
    async with fresh_database("routing") as url, routing_deps(url, clock) as deps:
        lonely = concern_event(categories=("loneliness",), severity="low", reported_at=T0, hints=("possible_hoarding",))
        dementia = concern_event(categories=("noise",), severity="medium", reported_at=T0, hints=("possible_dementia",))
        made_before = metrics.SUGGESTIONS_MADE._value.get()  # noqa: SLF001
        decided_before = {d: metrics.SUGGESTION_DECISIONS.labels(d)._value.get() for d in ("confirmed", "dismissed")}  # noqa: SLF001
        await apply_concern_events(deps, [lonely, dementia])
        await apply_concern_events(deps, [lonely])  # redelivered: no second suggestion
        before = await _created(deps.pool)
        assert {e["recipient_id"] for e in before if e["concern_id"] == lonely.data.concern_id} == {
            "association-holbaek-naboskab"
        }
        transport = httpx.ASGITransport(app=_app(deps))
        async with httpx.AsyncClient(transport=transport, base_url="http://routing") as http:
            as_ = {name: {"x-as": name} for name in PRINCIPALS}
            page = (
                await http.get("/v1/suggestions", params={"concern_id": lonely.data.concern_id}, headers=as_["holbaek"])
            ).json()
            (hoarding,) = page["items"]
            assert (hoarding["hint"], hoarding["target"], hoarding["recipient_id"], hoarding["status"]) == (
                "possible_hoarding",
                "consultant",
                "consultant-holbaek",
                "open",
            )
            sid = hoarding["suggestion_id"]
            url_of = f"/v1/suggestions/{sid}/decision"
            # Another department's consultant does not see it; the municipality may not decide; ops may look only.
            assert (await http.get("/v1/suggestions", headers=as_["odense"])).json()["items"] == []
            assert (await http.post(url_of, json={"decision": "confirm"}, headers=as_["odense"])).status_code == 404
            assert (
                await http.post(url_of, json={"decision": "confirm"}, headers=as_["municipality"])
            ).status_code == 403
            assert (await http.post(url_of, json={"decision": "confirm"}, headers=as_["ops"])).status_code == 403
            bad = await http.post(url_of, json={"decision": "maybe"}, headers=as_["holbaek"])
            assert bad.status_code == 422 and "decision" in bad.text
            assert (
                await http.post("/v1/suggestions/nope/decision", json={"decision": "dismiss"}, headers=as_["holbaek"])
            ).status_code == 404

            clock.advance(timedelta(minutes=10))
            confirmed = await http.post(url_of, json={"decision": "confirm"}, headers=as_["holbaek"])
            assert confirmed.status_code == 200, confirmed.text
            body = confirmed.json()
            referral = body["referral"]
            assert body["suggestion"]["status"] == "confirmed"
            assert body["suggestion"]["referral_id"] == referral["referral_id"]
            assert (referral["target"], referral["recipient_id"], referral["status"], referral["rule_id"]) == (
                "consultant",
                "consultant-holbaek",
                "requested",
                "suggestion_possible_hoarding",
            )
            again = await http.post(url_of, json={"decision": "dismiss"}, headers=as_["holbaek"])
            assert again.status_code == 409 and "decided already" in again.text
            after = await _created(deps.pool)
            assert [e["referral_id"] for e in after[len(before) :]] == [referral["referral_id"]]
            # The consultant's referral view shows the concern's suggestions, decided.
            view = (await http.get(f"/v1/referrals/{referral['referral_id']}", headers=as_["holbaek"])).json()
            assert [(s["suggestion_id"], s["status"]) for s in view["suggestions"]] == [(sid, "confirmed")]

            # The dementia hint on the noise concern suggests the municipality (the consultant has it): dismissed.
            page = (
                await http.get("/v1/suggestions", params={"concern_id": dementia.data.concern_id}, headers=as_["ops"])
            ).json()
            (to_municipality,) = page["items"]
            assert (to_municipality["recipient_id"], to_municipality["suggested_function"]) == (
                "municipality-0316",
                "dementia_coordinator",
            )
            dismissed = await http.post(
                f"/v1/suggestions/{to_municipality['suggestion_id']}/decision",
                json={"decision": "dismiss", "reason": "Kendt af kommunen"},
                headers=as_["holbaek"],
            )
            assert dismissed.status_code == 200 and dismissed.json()["referral"] is None
            assert dismissed.json()["suggestion"]["status"] == "dismissed"
        row = await deps.pool.fetchrow(
            "SELECT status, decided_by, decided_by_role, reason, referral_id FROM referral_suggestions "
            "WHERE suggestion_id = $1",
            to_municipality["suggestion_id"],
        )
        assert tuple(row) == ("dismissed", "consultant-holbaek", "consultant", "Kendt af kommunen", None)
        assert await deps.pool.fetchval("SELECT count(*) FROM referral_suggestions") == 2
        assert metrics.SUGGESTIONS_MADE._value.get() - made_before == 2  # noqa: SLF001
        for decision in ("confirmed", "dismissed"):
            assert metrics.SUGGESTION_DECISIONS.labels(decision)._value.get() - decided_before[decision] == 1  # noqa: SLF001
        assert len(await _created(deps.pool)) == len(after)  # a dismissal refers nobody
        # The events, with codes and ids only (never the reason): one suggestion each, one decision each.
        rows = await deps.pool.fetch(
            "SELECT event_type, key, payload FROM outbox_events WHERE event_type LIKE 'referral.suggest%' ORDER BY id"
        )
        events = [(r["event_type"], r["key"], json.loads(bytes(r["payload"]))["data"]) for r in rows]
        assert [(t, d["suggestion_id"]) for t, _, d in events] == [
            ("referral.suggested.v1", sid),
            ("referral.suggested.v1", to_municipality["suggestion_id"]),
            ("referral.suggestion_decided.v1", sid),
            ("referral.suggestion_decided.v1", to_municipality["suggestion_id"]),
        ]
        assert events[0][1] == lonely.subject
        assert (events[2][2]["decision"], events[2][2]["referral_id"]) == ("confirmed", referral["referral_id"])
        assert (events[3][2]["decision"], events[3][2]["decided_by_role"]) == ("dismissed", "consultant")
        assert "Kendt" not in json.dumps([d for _, _, d in events])

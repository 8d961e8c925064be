"""Routing's HTTP edge as a real process: rules (versions, validation, simulate), moves and their refusals."""

import asyncio

import httpx
import pytest
import yaml

from services.routing.settings import DEFAULT_RULES
from shared.auth.principal import Role
from shared.contracts.topics import CONCERN_EVENTS, REFERRAL_EVENTS
from tests.support.polling import eventually
from tests.support.routing_events import concern_event, publish, read_committed
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e


def bearer(client) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.token}"}


async def test_rules_moves_and_clear_refusals(
    fresh_database, service_env, issue_client, topic_prefix: str, kafka_bootstrap: str
) -> None:
    admin, ops = bearer(await issue_client(Role.ADMIN)), bearer(await issue_client(Role.OPS))
    reporter = bearer(await issue_client(Role.REPORTER, organisation_id="org-demo"))
    holbaek = bearer(await issue_client(Role.MUNICIPALITY, municipality_code="0316"))
    consultant = bearer(await issue_client(Role.CONSULTANT, department_ids=["holbaek-1", "holbaek-2", "hoeng-1"]))
    async with fresh_database("routing") as database_url:
        process = ServiceProcess("routing", {**service_env, "DATABASE_URL": database_url})
        await asyncio.to_thread(process.start)
        try:
            async with httpx.AsyncClient(base_url=process.url, timeout=10) as http:

                async def clients_known() -> bool:
                    return (await http.get("/v1/rules", headers=ops)).status_code == 200

                await eventually(clients_known, what="the clients reaching routing")
                # Rules: version 1 is the default document; a bad document is refused naming the field.
                current = (await http.get("/v1/rules", headers=admin)).json()
                assert current["version"] == 1 and current["created_by"] == "default"
                document = yaml.safe_load(DEFAULT_RULES.read_text())
                broken = {**document, "rules": [{**document["rules"][0], "when": {"severities": ["urgent"]}}]}
                refused = await http.put("/v1/rules", json=broken, headers=admin)
                assert refused.status_code == 422
                assert refused.json()["errors"][0]["field"] == "rules.0.when.severities.0"
                not_yaml = await http.put(
                    "/v1/rules", content=b"rules: [unclosed", headers={**admin, "Content-Type": "application/yaml"}
                )
                assert not_yaml.status_code == 422 and not_yaml.json()["errors"][0]["field"] == "body"
                assert (await http.put("/v1/rules", json=document, headers=ops)).status_code == 403
                stale = await http.put("/v1/rules", json=document, headers={**admin, "If-Match": '"7"'})
                assert stale.status_code == 412
                # Version 2 sends loneliness to the consultant, not to the association registered for Holbæk.
                loneliness = next(rule for rule in document["rules"] if rule["id"] == "loneliness")
                loneliness["refer"] = [{"target": "consultant", "task": "act"}]
                stored = await http.put(
                    "/v1/rules",
                    content=yaml.safe_dump(document, allow_unicode=True).encode(),
                    headers={**admin, "Content-Type": "application/yaml", "If-Match": '"1"'},
                )
                assert stored.status_code == 200 and stored.json()["version"] == 2
                simulated = await http.post(
                    "/v1/rules/simulate",
                    json={
                        "concern": {
                            "department_id": "holbaek-1",
                            "municipality_code": "0316",
                            "categories": ["loneliness", "hoarding"],
                            "severity": "low",
                            "consent": "given",
                            "prior_concerns_90d": 2,
                        }
                    },
                    headers=ops,
                )
                result = simulated.json()
                assert result["rules_version"] == 2 and result["repeated"] is True and result["severity"] == "medium"
                assert result["fired_rules"] == ["ability_to_live", "ability_to_live_repeated", "loneliness"]
                assert {(r["target"], r["recipient_id"]) for r in result["referrals"]} == {
                    ("consultant", "consultant-holbaek"),
                    ("municipality", "municipality-0316"),
                }
                assert (await http.get("/v1/referrals", headers=admin)).json()["items"] == []  # no side effects

                # A concern routed with version 2; moves by the recipient; refusals say why.
                concern = concern_event(categories=("mental_health",), consent="given")
                await publish(kafka_bootstrap, topic_prefix + CONCERN_EVENTS, [concern])

                async def routed() -> list:
                    items = (await http.get("/v1/referrals", headers=holbaek)).json()["items"]
                    return items

                await eventually(routed, what="the concern routed")
                (referral,) = await routed()
                assert referral["rules_version"] == 2 and referral["rule_id"] == "mental_health"
                url = f"/v1/referrals/{referral['referral_id']}"
                assert (await http.get("/v1/referrals", headers=reporter)).status_code == 403
                assert (await http.get("/v1/referrals/no-such-referral", headers=admin)).status_code == 404
                assert (await http.get(url, headers=consultant)).status_code == 404  # not the consultant's
                illegal = await http.post(url + "/transitions", json={"to": "completed"}, headers=holbaek)
                assert (
                    illegal.status_code == 409 and "cannot move from requested to completed" in illegal.json()["detail"]
                )
                by_ops = await http.post(url + "/transitions", json={"to": "received"}, headers=ops)
                assert by_ops.status_code == 403
                bad = await http.post(url + "/transitions", json={"to": "finished"}, headers=holbaek)
                assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "to"
                for step in ({"to": "received"}, {"to": "rejected", "reason": "not_our_responsibility"}):
                    moved = await http.post(url + "/transitions", json=step, headers=holbaek)
                    assert moved.status_code == 200, moved.text
                rerouted = moved.json()["rerouted_to"]
                assert (
                    rerouted["target"] == "consultant" and rerouted["replaces_referral_id"] == referral["referral_id"]
                )
                assert (
                    await http.get(f"/v1/referrals/{rerouted['referral_id']}", headers=consultant)
                ).status_code == 200
                history = (await http.get(url, headers=holbaek)).json()["history"]
                assert [h["to_status"] for h in history] == ["received", "rejected"]
                assert history[1]["rerouted_to"] == rerouted["referral_id"]
                overdue = (await http.get("/v1/referrals?overdue=true", headers=admin)).json()["items"]
                assert overdue == []
            events = await read_committed(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, expected=4)
            assert [e.type for e in events] == [
                "referral.created.v1",
                "referral.status_changed.v1",
                "referral.status_changed.v1",
                "referral.created.v1",
            ]
            assert events[-1].data.replaces_referral_id == referral["referral_id"]
        finally:
            process.stop()

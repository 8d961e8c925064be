"""Routing as a real process: concerns in, referrals out once each, the HTTP edge scoped by token."""

import asyncio

import httpx
import pytest

from shared.auth.principal import Role
from shared.contracts.topics import CONCERN_EVENTS, REFERRAL_EVENTS
from tests.support.polling import eventually
from tests.support.routing_events import HOENG, concern_event, publish, read_committed
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e


async def test_concerns_become_referrals_once_and_recipients_see_only_theirs(
    fresh_database, service_env, issue_client, topic_prefix: str, kafka_bootstrap: str
) -> None:
    holbaek = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    kalundborg = await issue_client(Role.MUNICIPALITY, municipality_code="0326")
    async with fresh_database("routing") as database_url:
        env = {**service_env, "DATABASE_URL": database_url, "SCHEDULER_INTERVAL_S": "0.5", "LAG_INTERVAL_S": "0.5"}
        process = ServiceProcess("routing", env)
        await asyncio.to_thread(process.start)
        try:
            in_holbaek = concern_event(categories=("rent_arrears",), severity="high")
            in_hoeng = concern_event(categories=("substance_abuse",), consent="given", place=HOENG)
            # The same event three times: one set of referrals.
            await publish(
                kafka_bootstrap, topic_prefix + CONCERN_EVENTS, [in_holbaek, in_holbaek, in_hoeng, in_holbaek]
            )
            events = await read_committed(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, expected=4)
            created = [e.data for e in events if e.type == "referral.created.v1"]
            assert len(created) == len({c.referral_id for c in created}) == 4
            by_concern = {(c.concern_id, c.target.value) for c in created}
            assert by_concern == {
                (in_holbaek.data.concern_id, "consultant"),
                (in_holbaek.data.concern_id, "municipality"),
                (in_hoeng.data.concern_id, "municipality"),
                (in_hoeng.data.concern_id, "consultant"),
            }
            hoeng_municipal = next(
                c for c in created if c.concern_id == in_hoeng.data.concern_id and c.target == "municipality"
            )
            async with httpx.AsyncClient(base_url=process.url, timeout=10) as http:
                as_holbaek = {"Authorization": f"Bearer {holbaek.token}"}
                as_kalundborg = {"Authorization": f"Bearer {kalundborg.token}"}

                async def known() -> bool:
                    return (await http.get("/v1/referrals", headers=as_kalundborg)).status_code == 200

                await eventually(known, what="the municipality clients reaching routing")
                mine = (await http.get("/v1/referrals", headers=as_holbaek)).json()["items"]
                assert [r["concern_id"] for r in mine] == [in_holbaek.data.concern_id]
                assert mine[0]["legal_basis"] == "statutory_duty" and mine[0]["rules_version"] == 1
                theirs = f"/v1/referrals/{hoeng_municipal.referral_id}"
                assert (await http.get(theirs, headers=as_holbaek)).status_code == 404
                move = await http.post(theirs + "/transitions", json={"to": "received"}, headers=as_holbaek)
                assert move.status_code == 404
                assert (await http.get(theirs, headers=as_kalundborg)).json()["status"] == "requested"
                moved = await http.post(theirs + "/transitions", json={"to": "received"}, headers=as_kalundborg)
                assert moved.status_code == 200 and moved.json()["referral"]["status"] == "received"
                metrics = (await http.get("/metrics")).text
                assert 'routing_referrals_created_total{target="municipality"} 2.0' in metrics
                assert "category=" not in metrics  # an unauthenticated page names no concern's category
                assert (
                    'routing_transitions_total{from_status="requested",target="municipality",to_status="received"} 1.0'
                    in metrics
                )

                async def gauges() -> bool:
                    metrics = (await http.get("/metrics")).text
                    return 'routing_open_referrals{age="lt_1h",target="consultant"} 2.0' in metrics and (
                        "routing_consumer_lag{" in metrics
                    )

                await eventually(gauges, what="open referrals by age and consumer lag measured")
            events = await read_committed(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, expected=5)
            assert [e.data.to_status for e in events if e.type == "referral.status_changed.v1"] == ["received"]
        finally:
            process.stop()

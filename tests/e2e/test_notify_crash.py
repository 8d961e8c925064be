"""notify as a real process, killed with SIGKILL in the middle of 1,000 deliveries, then restarted."""

import asyncio
import sqlite3

import asyncpg
import httpx
import pytest

from shared.auth.principal import Role
from shared.contracts.envelope import decode
from shared.contracts.topics import NOTIFICATION_EVENTS, REFERRAL_EVENTS
from tests.support.notify_helpers import Behaviour, LateSecretReceiver, bearer, produce, referral_created, serving
from tests.support.polling import eventually, read_all
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e

EVENTS = 1_000


def _processed(receiver: LateSecretReceiver) -> dict[str, int]:
    with sqlite3.connect(receiver.database) as conn:
        return dict(conn.execute("SELECT webhook_id, deliveries FROM processed_webhooks").fetchall())


def _effects(receiver: LateSecretReceiver) -> list[str]:
    with sqlite3.connect(receiver.database) as conn:
        return [row[0] for row in conn.execute("SELECT event_id FROM referral_events")]


async def test_killed_during_a_thousand_deliveries_every_event_arrives_and_is_processed_once(
    fresh_database, service_env, issue_client, kafka_bootstrap: str, topic_prefix: str, tmp_path
) -> None:
    municipality = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    # A receiver that takes 20 ms per webhook, so the kill lands while deliveries are in flight.
    receiver = LateSecretReceiver(tmp_path, Behaviour(delay_s=0.02))
    async with fresh_database("notify") as database_url:
        env = {
            **service_env,
            "DATABASE_URL": database_url,
            "DELIVERY_LEASE_S": "5",
            "RETRY_BASE_S": "0.5",
            "RETRY_MAX_DELAY_S": "2",
            "DELIVERY_POLL_S": "0.2",
        }
        with serving(receiver) as receiver_url:
            first = ServiceProcess("notify", env)
            await asyncio.to_thread(first.start)
            try:
                async with httpx.AsyncClient(base_url=first.url, timeout=10) as http:

                    async def known() -> bool:
                        return (await http.get("/v1/whoami", headers=bearer(municipality.token))).status_code == 200

                    await eventually(known, what="notify knowing the municipality's token")
                    answer = await http.post(
                        "/v1/subscriptions",
                        json={"url": receiver_url + "/webhooks", "event_types": ["referral.created.v1"]},
                        headers=bearer(municipality.token),
                    )
                    assert answer.status_code == 201, answer.text
                    receiver.set_secret(answer.json()["secret"])
                events = [referral_created("holbaek-1" if i % 2 else "holbaek-2") for i in range(EVENTS)]
                await produce(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, events)

                async def under_way() -> bool:
                    return len(_processed(receiver)) >= 150

                await eventually(under_way, within=120, what="150 webhooks processed before the kill")
            finally:
                first.kill()
            at_kill = len(_processed(receiver))
            assert at_kill < EVENTS, "all deliveries finished before the kill; the test proves nothing"

            second = ServiceProcess("notify", env)
            await asyncio.to_thread(second.start)
            try:

                async def all_processed() -> bool:
                    return len(_processed(receiver)) == EVENTS

                await eventually(all_processed, within=180, what=f"all {EVENTS} webhooks after the restart")
            finally:
                second.stop()

        conn = await asyncpg.connect(database_url)
        try:
            states = dict(await conn.fetch("SELECT state, count(*) FROM deliveries GROUP BY state"))
        finally:
            await conn.close()

    assert states == {"delivered": EVENTS}
    processed = _processed(receiver)
    effects = _effects(receiver)
    # Every event arrived at least once; the receiver applied each webhook-id exactly once.
    assert sorted(effects) == sorted(e.id for e in events)
    assert len(processed) == EVENTS and sum(processed.values()) >= EVENTS
    outcome_records = await read_all(kafka_bootstrap, topic_prefix + NOTIFICATION_EVENTS, expected=EVENTS, within=60)
    delivered = {
        decode(r.value).data.delivery_id for r in outcome_records if decode(r.value).type.endswith("delivered.v1")
    }
    assert delivered == set(processed)

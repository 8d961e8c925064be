"""Notify against the real broker, database and example receiver: scope, signatures, feed, outcome events."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from shared.auth.principal import Role
from shared.contracts.envelope import decode
from shared.contracts.topics import NOTIFICATION_EVENTS, REFERRAL_EVENTS
from tests.support.notify_helpers import (
    LateSecretReceiver,
    bearer,
    escalated,
    notify_settings,
    produce,
    referral_created,
    running_notify,
    serving,
    status_changed,
    wait_ready,
)
from tests.support.polling import eventually, read_all

pytestmark = pytest.mark.integration

ALL_TYPES = ["referral.created.v1", "referral.status_changed.v1", "referral.sla_breached.v1", "referral.escalated.v1"]


async def _subscribe(client: httpx.AsyncClient, token: str, url: str, types: list[str] = ALL_TYPES) -> dict:
    response = await client.post("/v1/subscriptions", json={"url": url, "event_types": types}, headers=bearer(token))
    assert response.status_code == 201, response.text
    return response.json()


async def _nothing_pending(database_url: str) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        return (
            await conn.fetchval("SELECT count(*) FROM deliveries WHERE state = 'pending' AND channel = 'webhook'") == 0
        )
    finally:
        await conn.close()


async def test_each_municipality_receives_exactly_its_own_referrals_signed(
    fresh_database, issue_client, kafka_bootstrap: str, topic_prefix: str, tmp_path
) -> None:
    holbaek = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    kalundborg = await issue_client(Role.MUNICIPALITY, municipality_code="0326")
    ops = await issue_client(Role.OPS)
    holbaek_inbox, kalundborg_inbox = LateSecretReceiver(tmp_path), LateSecretReceiver(tmp_path)
    async with fresh_database("notify") as database_url:
        settings = notify_settings(database_url, kafka_bootstrap, topic_prefix)
        with serving(holbaek_inbox) as holbaek_url, serving(kalundborg_inbox) as kalundborg_url:
            async with running_notify(settings) as notify:
                await wait_ready(notify, kalundborg.token)
                sub_holbaek = await _subscribe(notify, holbaek.token, holbaek_url + "/webhooks")
                sub_kalundborg = await _subscribe(notify, kalundborg.token, kalundborg_url + "/webhooks")
                assert sub_holbaek["secret"].startswith("whsec_") and sub_holbaek["secret"] != sub_kalundborg["secret"]
                holbaek_inbox.set_secret(sub_holbaek["secret"])
                kalundborg_inbox.set_secret(sub_kalundborg["secret"])

                to_holbaek = [
                    referral_created("holbaek-1"),
                    referral_created("holbaek-2"),
                    referral_created("holbaek-1"),
                ]
                to_kalundborg = [referral_created("hoeng-1"), referral_created("kalundborg-1")]
                # Referrals in Holbæk meant for the consultant or an association are not the municipality's.
                not_for_municipalities = [
                    referral_created("holbaek-1", target="consultant"),
                    referral_created("holbaek-2", target="association", categories=("loneliness",)),
                ]
                later = [status_changed(to_holbaek[0], "received"), escalated(to_kalundborg[1])]
                events = to_holbaek + to_kalundborg + not_for_municipalities + later
                await produce(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, events)

                expected_holbaek = {e.id for e in to_holbaek} | {later[0].id}
                expected_kalundborg = {e.id for e in to_kalundborg} | {later[1].id}

                async def all_arrived() -> bool:
                    got_h = {e["event_id"] for e in holbaek_inbox_events()}
                    got_k = {e["event_id"] for e in kalundborg_inbox_events()}
                    return got_h >= expected_holbaek and got_k >= expected_kalundborg

                def holbaek_inbox_events() -> list[dict]:
                    return _events(holbaek_inbox.database)

                def kalundborg_inbox_events() -> list[dict]:
                    return _events(kalundborg_inbox.database)

                await eventually(all_arrived, within=60, what="every municipality's referrals at its receiver")
                await eventually(lambda: _nothing_pending(database_url), what="no delivery left pending")

                # Exactly its own: nothing else arrived, nothing twice, and every request verified (no 400s).
                holbaek_events, kalundborg_events = holbaek_inbox_events(), kalundborg_inbox_events()
                assert sorted(e["event_id"] for e in holbaek_events) == sorted(expected_holbaek)
                assert sorted(e["event_id"] for e in kalundborg_events) == sorted(expected_kalundborg)
                assert {e["municipality_code"] for e in holbaek_events} == {"0316"}
                assert {e["municipality_code"] for e in kalundborg_events} == {"0326"}
                assert holbaek_inbox.behaviour.requests == len(expected_holbaek)
                assert kalundborg_inbox.behaviour.requests == len(expected_kalundborg)

                # Thin bodies: no subject key, links back to the API.
                body = json.loads(_bodies(holbaek_inbox.database)[0])
                assert "subject_key" not in body["data"] and "rule_id" not in body["data"]
                assert body["data"]["links"]["referral"].startswith("https://routing.example.dk/v1/referrals/")

                # The feed carries the same events, in order, to the same scope.
                feed = await notify.get("/v1/feed", headers=bearer(kalundborg.token))
                assert feed.status_code == 200
                feed_ids = [i["id"] for i in feed.json()["items"]]
                assert sorted(feed_ids) == sorted(expected_kalundborg)
                # In order per referral (one tenancy's events share a partition): created before escalated.
                assert feed_ids.index(to_kalundborg[1].id) < feed_ids.index(later[1].id)
                more = await notify.get(
                    "/v1/feed", params={"after": feed.json()["next_cursor"]}, headers=bearer(kalundborg.token)
                )
                assert more.json()["items"] == [] and more.json()["next_cursor"] == feed.json()["next_cursor"]

                # Ops see the deliveries, all delivered.
                listed = await notify.get("/v1/deliveries", params={"state": "delivered"}, headers=bearer(ops.token))
                assert len(listed.json()["items"]) == len(expected_holbaek) + len(expected_kalundborg)
                assert (await notify.get("/v1/deliveries", headers=bearer(holbaek.token))).status_code == 403

    # Every delivery is an event on notification-events, keyed by the subscription id.
    records = await read_all(
        kafka_bootstrap, topic_prefix + NOTIFICATION_EVENTS, expected=len(expected_holbaek) + len(expected_kalundborg)
    )
    webhook_records = [r for r in records if decode(r.value).data.channel == "webhook"]
    delivered = [decode(r.value) for r in webhook_records]
    assert {e.type for e in delivered} == {"notification.delivered.v1"}
    assert {e.data.event_id for e in delivered} == expected_holbaek | expected_kalundborg
    by_key = {r.key.decode() for r in webhook_records}
    assert by_key == {sub_holbaek["id"], sub_kalundborg["id"]}
    assert {e.data.municipality_code for e in delivered if e.data.subscription_id == sub_kalundborg["id"]} == {"0326"}


def _events(database) -> list[dict]:
    import sqlite3

    if not database.exists():
        return []
    with sqlite3.connect(database) as conn:
        try:
            rows = conn.execute("SELECT event_id, municipality_code FROM referral_events").fetchall()
        except sqlite3.OperationalError:
            return []
    return [{"event_id": r[0], "municipality_code": r[1]} for r in rows]


def _bodies(database) -> list[str]:
    import sqlite3

    with sqlite3.connect(database) as conn:
        return [r[0] for r in conn.execute("SELECT body FROM referral_events")]


async def test_the_example_receiver_rejects_a_tampered_body_and_an_old_timestamp(tmp_path) -> None:
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    receiver = LateSecretReceiver(tmp_path)
    receiver.set_secret(secret)
    signer = Webhook(secret)
    body = json.dumps({"type": "referral.created.v1", "data": {"event_id": "e1", "municipality_code": "0316"}})

    def signed(message_id: str, at: datetime, content: str) -> dict[str, str]:
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signer.sign(message_id, at, content),
            "content-type": "application/json",
        }

    now = datetime.now(UTC)
    with serving(receiver) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            tampered = body.replace("0316", "0326")
            answer = await http.post("/webhooks", content=tampered, headers=signed("msg_tampered", now, body))
            assert answer.status_code == 400
            old = now - timedelta(minutes=10)
            answer = await http.post("/webhooks", content=body, headers=signed("msg_old", old, body))
            assert answer.status_code == 400
            wrong_key = Webhook("whsec_" + "QmFkS2V5QmFkS2V5QmFkS2V5QmFkS2V5")
            headers = {**signed("msg_wrong", now, body), "webhook-signature": wrong_key.sign("msg_wrong", now, body)}
            assert (await http.post("/webhooks", content=body, headers=headers)).status_code == 400
            garbage = {**signed("msg_garbage", now, body), "webhook-signature": "v1"}
            assert (await http.post("/webhooks", content=body, headers=garbage)).status_code == 400
            # The same request, untouched and fresh, is processed once; its replay is recognised.
            good = signed("msg_" + uuid.uuid4().hex, now, body)
            assert (await http.post("/webhooks", content=body, headers=good)).json() == {"status": "processed"}
            assert (await http.post("/webhooks", content=body, headers=good)).json() == {"status": "duplicate"}
    assert [e["event_id"] for e in _events(receiver.database)] == ["e1"]

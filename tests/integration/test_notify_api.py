"""Notify's API edge against the real database: auth and scope on every endpoint, clear 4xx, revoked clients."""

import uuid

import pytest

from shared.auth.admin import publish_record, revoked
from shared.auth.principal import Role
from shared.contracts.topics import REFERRAL_EVENTS
from tests.support.notify_helpers import (
    LateSecretReceiver,
    bearer,
    notify_settings,
    produce,
    referral_created,
    running_notify,
    serving,
    wait_ready,
)
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

TYPES = ["referral.created.v1"]


async def test_subscriptions_are_owned_validated_and_secret_shown_once(
    fresh_database, issue_client, kafka_bootstrap: str, topic_prefix: str
) -> None:
    holbaek = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    kalundborg = await issue_client(Role.MUNICIPALITY, municipality_code="0326")
    reporter = await issue_client(Role.REPORTER, organisation_id="org-demo")
    ops = await issue_client(Role.OPS)
    async with (
        fresh_database("notify") as database_url,
        running_notify(notify_settings(database_url, kafka_bootstrap, topic_prefix)) as notify,
    ):
        await wait_ready(notify, ops.token)
        good = {"url": "http://127.0.0.1:9/webhooks", "event_types": TYPES, "description": "Sagssystem"}

        assert (await notify.post("/v1/subscriptions", json=good)).status_code == 401
        for who in (reporter, ops):  # roles that receive no referrals cannot subscribe
            assert (await notify.post("/v1/subscriptions", json=good, headers=bearer(who.token))).status_code == 403

        bad = await notify.post(
            "/v1/subscriptions",
            json={"url": "http://127.0.0.1:9/w", "event_types": ["concern.reported.v1"], "colour": "red"},
            headers=bearer(holbaek.token),
        )
        assert bad.status_code == 422
        fields = {e["field"] for e in bad.json()["errors"]}
        assert {"event_types.0", "colour"} <= fields
        empty = await notify.post(
            "/v1/subscriptions", json={"url": good["url"], "event_types": []}, headers=bearer(holbaek.token)
        )
        assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "event_types"

        created = await notify.post("/v1/subscriptions", json=good, headers=bearer(holbaek.token))
        assert created.status_code == 201
        subscription = created.json()
        assert subscription["secret"].startswith("whsec_") and subscription["state"] == "active"
        path = f"/v1/subscriptions/{subscription['id']}"

        shown = await notify.get(path, headers=bearer(holbaek.token))
        assert shown.status_code == 200 and "secret" not in shown.json()
        assert subscription["secret"] not in (await notify.get("/v1/subscriptions", headers=bearer(ops.token))).text
        assert (await notify.get(path, headers=bearer(kalundborg.token))).status_code == 404  # not revealed
        assert (await notify.delete(path, headers=bearer(kalundborg.token))).status_code == 404
        assert (await notify.get(f"/v1/subscriptions/{uuid.uuid4()}", headers=bearer(holbaek.token))).status_code == 404
        assert (await notify.get("/v1/subscriptions/not-a-uuid", headers=bearer(holbaek.token))).status_code == 422
        mine = await notify.get("/v1/subscriptions", headers=bearer(holbaek.token))
        assert [s["id"] for s in mine.json()["items"]] == [subscription["id"]]
        assert (await notify.get("/v1/subscriptions", headers=bearer(kalundborg.token))).json()["items"] == []

        assert (await notify.delete(path, headers=bearer(holbaek.token))).status_code == 204
        assert (await notify.get(path, headers=bearer(holbaek.token))).status_code == 404

        # The feed and the ops endpoints check role, scope and input too.
        assert (await notify.get("/v1/feed", headers=bearer(reporter.token))).status_code == 403
        bad_cursor = await notify.get("/v1/feed", params={"after": "garbage!"}, headers=bearer(holbaek.token))
        assert bad_cursor.status_code == 422 and "after" in bad_cursor.json()["detail"]
        assert (await notify.get("/v1/deliveries", headers=bearer(holbaek.token))).status_code == 403
        bad_state = await notify.get("/v1/deliveries", params={"state": "lost"}, headers=bearer(ops.token))
        assert bad_state.status_code == 422 and bad_state.json()["errors"][0]["field"] == "query.state"
        unknown = f"/v1/deliveries/{uuid.uuid4()}/redeliver"
        assert (await notify.post(unknown, headers=bearer(ops.token))).status_code == 404


async def test_a_revoked_clients_subscription_receives_nothing_more(
    fresh_database, issue_client, kafka_bootstrap: str, topic_prefix: str, tmp_path
) -> None:
    leaving = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    staying = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    leaving_inbox, staying_inbox = LateSecretReceiver(tmp_path), LateSecretReceiver(tmp_path)
    async with fresh_database("notify") as database_url:
        with serving(leaving_inbox) as leaving_url, serving(staying_inbox) as staying_url:
            async with running_notify(notify_settings(database_url, kafka_bootstrap, topic_prefix)) as notify:
                await wait_ready(notify, staying.token)
                for client, inbox, url in (
                    (leaving, leaving_inbox, leaving_url),
                    (staying, staying_inbox, staying_url),
                ):
                    answer = await notify.post(
                        "/v1/subscriptions",
                        json={"url": url + "/webhooks", "event_types": TYPES},
                        headers=bearer(client.token),
                    )
                    inbox.set_secret(answer.json()["secret"])
                await produce(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, [referral_created("holbaek-1")])

                async def both_got_one() -> bool:
                    return leaving_inbox.behaviour.requests == 1 and staying_inbox.behaviour.requests == 1

                await eventually(both_got_one, what="the first referral at both receivers")

                await publish_record(kafka_bootstrap, revoked(leaving.record), topic_prefix=topic_prefix)

                async def revoked_seen() -> bool:
                    return (await notify.get("/v1/whoami", headers=bearer(leaving.token))).status_code == 401

                await eventually(revoked_seen, what="notify seeing the revocation")
                await produce(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, [referral_created("holbaek-2")])

                async def staying_got_two() -> bool:
                    return staying_inbox.behaviour.requests == 2

                await eventually(staying_got_two, what="the second referral at the remaining subscriber")
                assert leaving_inbox.behaviour.requests == 1

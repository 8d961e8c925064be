"""Retries against a real receiver: 500s then 200, Retry-After, 410 Gone, days of failure, a hanging endpoint."""

import asyncio

import httpx
import pytest

from shared.auth.principal import Role
from shared.contracts.envelope import decode
from shared.contracts.topics import NOTIFICATION_EVENTS, REFERRAL_EVENTS
from tests.support.notify_helpers import (
    Behaviour,
    LateSecretReceiver,
    bearer,
    notify_settings,
    produce,
    referral_created,
    running_notify,
    serving,
    wait_ready,
)
from tests.support.polling import eventually, read_all

pytestmark = pytest.mark.integration


async def _subscribe(notify: httpx.AsyncClient, token: str, receiver: LateSecretReceiver, url: str) -> str:
    response = await notify.post(
        "/v1/subscriptions",
        json={"url": url + "/webhooks", "event_types": ["referral.created.v1"]},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    receiver.set_secret(response.json()["secret"])
    return response.json()["id"]


async def _deliveries(notify: httpx.AsyncClient, ops_token: str, subscription_id: str) -> list[dict]:
    response = await notify.get(
        "/v1/deliveries", params={"subscription_id": subscription_id}, headers=bearer(ops_token)
    )
    assert response.status_code == 200
    return response.json()["items"]


async def test_failures_then_success_are_retried_and_recorded(
    fresh_database, issue_client, kafka_bootstrap: str, topic_prefix: str, tmp_path
) -> None:
    municipality = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    ops = await issue_client(Role.OPS)
    flaky = LateSecretReceiver(tmp_path, Behaviour(fail_first=3, status=500))
    async with fresh_database("notify") as database_url:
        settings = notify_settings(database_url, kafka_bootstrap, topic_prefix)
        with serving(flaky) as url:
            async with running_notify(settings) as notify:
                await wait_ready(notify, municipality.token)
                subscription_id = await _subscribe(notify, municipality.token, flaky, url)
                event = referral_created("holbaek-1")
                await produce(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, [event])

                async def delivered() -> bool:
                    items = await _deliveries(notify, ops.token, subscription_id)
                    return bool(items) and items[0]["state"] == "delivered"

                await eventually(delivered, within=60, what="the delivery after three 500s")
                [delivery] = await _deliveries(notify, ops.token, subscription_id)
                assert delivery["attempts"] == 4 and delivery["event_id"] == event.id
                assert flaky.behaviour.requests == 4
                metrics = (await notify.get("/metrics")).text
                assert 'notify_delivery_attempts_total{channel="webhook",result="http_5xx"}' in metrics
                assert 'notify_deliveries_total{channel="webhook",outcome="delivered"}' in metrics
                assert 'notify_delivery_latency_seconds_count{channel="webhook"}' in metrics
                # Per subscription, for the on-call alert on one receiver failing (deploy/prometheus/rules).
                for result, count in (("http_5xx", 3), ("ok", 1)):
                    labels = f'result="{result}",subscription="{subscription_id}"'
                    assert f"notify_webhook_attempts_total{{{labels}}} {count}.0" in metrics
    records = await read_all(kafka_bootstrap, topic_prefix + NOTIFICATION_EVENTS, expected=4)
    outcomes = sorted((decode(r.value) for r in records), key=lambda e: e.data.attempts)
    assert [(e.type, e.data.attempts) for e in outcomes] == [
        ("notification.failed.v1", 1),
        ("notification.failed.v1", 2),
        ("notification.failed.v1", 3),
        ("notification.delivered.v1", 4),
    ]
    assert all(e.data.reason == "http_5xx" and not e.data.final for e in outcomes[:3])
    # The receiver processed the event once, under one webhook-id across all attempts.
    assert len(flaky_processed := _processed(flaky)) == 1 and list(flaky_processed.values()) == [1]


def _processed(receiver: LateSecretReceiver) -> dict[str, int]:
    import sqlite3

    with sqlite3.connect(receiver.database) as conn:
        return dict(conn.execute("SELECT webhook_id, deliveries FROM processed_webhooks").fetchall())


async def test_retry_after_is_honoured(
    fresh_database, issue_client, kafka_bootstrap: str, topic_prefix: str, tmp_path
) -> None:
    municipality = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    busy = LateSecretReceiver(tmp_path, Behaviour(fail_first=1, status=503, retry_after="2"))
    async with fresh_database("notify") as database_url:
        # Backoff alone would retry within 0.1 s; the receiver asked for 2 s.
        settings = notify_settings(database_url, kafka_bootstrap, topic_prefix, retry_base_s=0.1, retry_max_delay_s=0.1)
        with serving(busy) as url:
            async with running_notify(settings) as notify:
                await wait_ready(notify, municipality.token)
                await _subscribe(notify, municipality.token, busy, url)
                await produce(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, [referral_created("holbaek-2")])
                await eventually(lambda: _async(len(_processed(busy)) == 1), within=30, what="delivery after 503")
    first, second = busy.behaviour.times[:2]
    assert second - first >= 1.9


async def _async(value: bool) -> bool:
    return value


async def test_410_disables_the_subscription_and_ops_can_redeliver_after_enabling(
    fresh_database, issue_client, kafka_bootstrap: str, topic_prefix: str, tmp_path
) -> None:
    municipality = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    ops = await issue_client(Role.OPS)
    gone = LateSecretReceiver(tmp_path, Behaviour(always=410))
    async with fresh_database("notify") as database_url:
        settings = notify_settings(database_url, kafka_bootstrap, topic_prefix)
        with serving(gone) as url:
            async with running_notify(settings) as notify:
                await wait_ready(notify, municipality.token)
                subscription_id = await _subscribe(notify, municipality.token, gone, url)
                await produce(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, [referral_created("holbaek-1")])

                async def disabled() -> bool:
                    response = await notify.get(
                        f"/v1/subscriptions/{subscription_id}", headers=bearer(municipality.token)
                    )
                    return response.json()["state"] == "disabled"

                await eventually(disabled, within=30, what="the subscription disabled after 410")
                sub = (
                    await notify.get(f"/v1/subscriptions/{subscription_id}", headers=bearer(municipality.token))
                ).json()
                assert sub["disabled_reason"] == "gone"
                [dead] = await _deliveries(notify, ops.token, subscription_id)
                assert dead["state"] == "dead" and dead["attempts"] == 1 and dead["last_status"] == 410
                assert gone.behaviour.requests == 1  # no retry after 410

                # Later events are not sent to a disabled subscription.
                await produce(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, [referral_created("holbaek-2")])
                await asyncio.sleep(1.0)
                assert gone.behaviour.requests == 1

                # Redelivery needs the subscription enabled; then the dead delivery goes out again.
                redeliver = f"/v1/deliveries/{dead['id']}/redeliver"
                assert (await notify.post(redeliver, headers=bearer(ops.token))).status_code == 409
                assert (await notify.post(redeliver, headers=bearer(municipality.token))).status_code == 403
                gone.behaviour.always = None
                enabled = await notify.post(
                    f"/v1/subscriptions/{subscription_id}/enable", headers=bearer(municipality.token)
                )
                assert enabled.status_code == 200 and enabled.json()["state"] == "active"
                assert (await notify.post(redeliver, headers=bearer(ops.token))).status_code == 202

                async def redelivered() -> bool:
                    items = {d["id"]: d for d in await _deliveries(notify, ops.token, subscription_id)}
                    return items[dead["id"]]["state"] == "delivered"

                await eventually(redelivered, within=30, what="the redelivered delivery")
                assert list(_processed(gone)) == [dead["id"]]
    records = await read_all(kafka_bootstrap, topic_prefix + NOTIFICATION_EVENTS, expected=2)
    failed = [decode(r.value) for r in records if decode(r.value).type == "notification.failed.v1"]
    assert any(e.data.reason == "http_410" and e.data.final for e in failed)


async def test_a_subscription_failing_for_days_is_disabled_and_ops_are_told(
    fresh_database, issue_client, kafka_bootstrap: str, topic_prefix: str, tmp_path
) -> None:
    municipality = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    broken = LateSecretReceiver(tmp_path, Behaviour(always=500))
    async with fresh_database("notify") as database_url:
        # "Days" shrunk to a second and a half for the test.
        settings = notify_settings(database_url, kafka_bootstrap, topic_prefix, subscription_disable_after_s=1.5)
        with serving(broken) as url:
            async with running_notify(settings) as notify:
                await wait_ready(notify, municipality.token)
                subscription_id = await _subscribe(notify, municipality.token, broken, url)
                await produce(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, [referral_created("holbaek-1")])

                async def disabled() -> bool:
                    response = await notify.get(
                        f"/v1/subscriptions/{subscription_id}", headers=bearer(municipality.token)
                    )
                    return response.json()["state"] == "disabled"

                await eventually(disabled, within=30, what="the failing subscription disabled")
                sub = (
                    await notify.get(f"/v1/subscriptions/{subscription_id}", headers=bearer(municipality.token))
                ).json()
                assert sub["disabled_reason"] == "failing"
                metrics = (await notify.get("/metrics")).text
                assert 'notify_subscriptions_disabled_total{reason="failing"}' in metrics
                assert broken.behaviour.requests >= 2
    # How many attempts fail before the subscription is given up depends on timing; the final one comes last.
    records: list = []

    async def final_reported() -> bool:
        records[:] = await read_all(kafka_bootstrap, topic_prefix + NOTIFICATION_EVENTS, expected=2)
        return any(getattr(decode(r.value).data, "final", False) for r in records)

    await eventually(final_reported, within=30, what="the final delivery failure reported")
    final = [decode(r.value) for r in records if getattr(decode(r.value).data, "final", False)]
    # At least once on the topic (the outbox may send a record again), once by event id: what consumers apply.
    by_id = {e.id: e for e in final}
    assert len(by_id) == 1, [(e.id, e.data.delivery_id, e.data.attempts, e.data.failed_at) for e in final]
    assert next(iter(by_id.values())).data.reason == "http_5xx"
    assert all(r.key.decode() == subscription_id for r in records)


async def test_a_hanging_receiver_does_not_delay_another_subscribers_deliveries(
    fresh_database, issue_client, kafka_bootstrap: str, topic_prefix: str, tmp_path
) -> None:
    holbaek_a = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    holbaek_b = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    hanging = LateSecretReceiver(tmp_path, Behaviour(hang_s=60))
    healthy = LateSecretReceiver(tmp_path)
    async with fresh_database("notify") as database_url:
        # Four workers in all, two per subscription: without the per-subscription limit the hanging
        # endpoint would hold every worker until its 60 s timeout.
        settings = notify_settings(
            database_url,
            kafka_bootstrap,
            topic_prefix,
            delivery_workers=4,
            per_target_concurrency=2,
            webhook_timeout_s=60,
        )
        with serving(hanging) as hanging_url, serving(healthy) as healthy_url:
            async with running_notify(settings) as notify:
                await wait_ready(notify, holbaek_b.token)
                stuck = await _subscribe(notify, holbaek_a.token, hanging, hanging_url)
                await _subscribe(notify, holbaek_b.token, healthy, healthy_url)
                events = [referral_created("holbaek-1") for _ in range(20)]
                await produce(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, events)
                await eventually(
                    lambda: _async(len(_processed(healthy)) == 20),
                    within=20,
                    what="all 20 deliveries to the healthy subscriber while the other hangs",
                )
                assert hanging.behaviour.requests == 2  # only its own two slots are stuck
                assert _processed(hanging) == {}

                # Ops see the stuck subscription's backlog (all 20 still pending) in the metrics.
                async def backlog_shown() -> bool:
                    metrics = (await notify.get("/metrics")).text
                    return f'notify_delivery_backlog{{channel="webhook",target="{stuck}"}} 20.0' in metrics

                await eventually(backlog_shown, within=10, what="the stuck subscription's backlog in the metrics")

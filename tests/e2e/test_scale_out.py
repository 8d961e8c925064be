"""Scale-out on one machine: 6 partitions per topic, intake ×1, routing, notify and stats ×2 each, as real processes.

Concerns go in over HTTP; one worker of each of routing, notify and stats is killed with SIGKILL while they flow.
Afterwards: every referral produced once, every webhook processed once by id, the statistics exact.
"""

import asyncio
import contextlib
import random
import re
import sqlite3
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from services.routing.domain.routing import decide
from services.routing.handlers.concerns import facts_of
from shared.auth.principal import Role
from shared.contracts.topics import CONCERN_EVENTS, NOTIFICATION_EVENTS, REFERRAL_EVENTS
from shared.kafka.admin import ensure_topics
from tests.support.intake_harness import concern_body
from tests.support.notify_helpers import LateSecretReceiver, bearer, serving
from tests.support.platform import smtp_sink
from tests.support.polling import eventually
from tests.support.reference import default_rules
from tests.support.routing_events import read_committed
from tests.support.services import ServiceProcess

# Its waits add up to 1,620 s at worst (start 240, as seven processes import at once on a loaded machine; notify
# knowing both municipalities 2 x 60, workers busy 120, streaming 120, concerns 60, referrals 240, webhooks 2 x 240,
# stats 180, outcomes 60), past the global 300 s:
# a slow run must fail on the wait that ran out, with its message, not be killed with a thread dump.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]
PARTITIONS = 6
BEFORE_KILL, DURING_KILL = 150, 450
DEPARTMENTS = {"holbaek-1": "0316", "holbaek-2": "0316", "hoeng-1": "0326"}
CATEGORIES = ["rent_arrears", "eviction_risk", "mental_health", "hoarding", "noise", "loneliness", "substance_abuse"]
WORKERS = ("routing", "notify", "stats")


@pytest.fixture
async def topic_prefix(kafka_bootstrap: str) -> str:
    """This test's isolated topics with 6 partitions (the shared fixture makes 3); issue_client and service_env
    use it too, so the API clients live on these topics."""
    prefix = f"so{uuid.uuid4().hex[:10]}."
    await ensure_topics(kafka_bootstrap, partitions=PARTITIONS, prefix=prefix)
    return prefix


def reports(count: int, seed: int) -> list[dict]:
    """Concerns about distinct tenancies (no repeats) across departments, categories, severities and consent."""
    rng = random.Random(seed)
    return [
        concern_body(
            department_id=rng.choice(list(DEPARTMENTS)),
            tenancy_id=f"so-{uuid.uuid4().hex[:10]}",
            categories=rng.sample(CATEGORIES, rng.choice((1, 2))),
            severity=rng.choice(("low", "medium", "high", "acute")),
            consent=rng.choice(("given", "refused", "not_asked")),
        )
        for _ in range(count)
    ]


async def post_all(http: httpx.AsyncClient, token: str, bodies: list[dict], accepted: dict[str, dict]) -> None:
    """POST every body with 8 in flight; each must be accepted (201)."""
    gate = asyncio.Semaphore(8)

    async def post(body: dict) -> None:
        async with gate:
            answer = await http.post("/v1/concerns", json=body, headers=bearer(token))
            assert answer.status_code == 201, answer.text
            accepted[answer.json()["id"]] = body

    await asyncio.gather(*(post(b) for b in bodies))


async def applied_events(process: ServiceProcess) -> float:
    """events_handled_total{outcome="applied"} of one process, summed over its labels."""
    async with httpx.AsyncClient(base_url=process.url, timeout=5) as http:
        text = (await http.get("/metrics")).text
    return sum(float(v) for v in re.findall(r'events_handled_total\{[^}]*outcome="applied"[^}]*\} ([\d.e+]+)', text))


def received(receiver: LateSecretReceiver) -> tuple[Counter, set[str]]:
    """Event ids the receiver processed (how often each) and the webhook-ids it processed."""
    with sqlite3.connect(receiver.database) as conn:
        effects = Counter(row[0] for row in conn.execute("SELECT event_id FROM referral_events"))
        webhook_ids = {row[0] for row in conn.execute("SELECT webhook_id FROM processed_webhooks")}
    return effects, webhook_ids


def environments(service_env: dict, databases: dict[str, str], tmp_path: Path, smtp_port: int) -> dict:
    """Per service: its database (shared by its two workers) and the settings that keep this test short."""
    base = {**service_env, "TOPIC_PARTITIONS": str(PARTITIONS)}
    return {
        "intake": base | {"DATABASE_URL": databases["intake"]},
        "routing": base | {"DATABASE_URL": databases["routing"], "LAG_INTERVAL_S": "1"},
        "notify": base
        | {
            "DATABASE_URL": databases["notify"],
            "SMTP_PORT": str(smtp_port),
            "DELIVERY_LEASE_S": "5",
            "DELIVERY_POLL_S": "0.2",
            "RETRY_BASE_S": "0.5",
            "RETRY_MAX_DELAY_S": "2",
        },
        # Faust's default session timeout is 60 s: a killed worker's partitions would wait that long.
        "stats": base | {"DATABASE_URL": databases["stats"], "BROKER_SESSION_TIMEOUT": "10"},
    }


async def test_two_workers_each_on_six_partitions_lose_and_double_nothing_when_one_of_each_is_killed(
    fresh_database, service_env, issue_client, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    reporter = await issue_client(Role.REPORTER, organisation_id="org-demo")
    ops = await issue_client(Role.OPS)
    municipalities = {code: await issue_client(Role.MUNICIPALITY, municipality_code=code) for code in ("0316", "0326")}
    receivers = {code: LateSecretReceiver(tmp_path) for code in municipalities}
    accepted: dict[str, dict] = {}
    async with contextlib.AsyncExitStack() as stack:
        databases = {s: await stack.enter_async_context(fresh_database(s)) for s in ("intake", *WORKERS)}
        smtp_port = stack.enter_context(smtp_sink())
        envs = environments(service_env, databases, tmp_path, smtp_port)
        processes = {"intake": [ServiceProcess("intake", envs["intake"])]}
        for service in WORKERS:
            processes[service] = [
                ServiceProcess(service, envs[service] | {"F_DATADIR": str(tmp_path / f"{service}-{n}")})
                for n in range(2)
            ]
        everyone = [p for group in processes.values() for p in group]
        for process in everyone:
            stack.callback(process.stop)
        await asyncio.gather(*(asyncio.to_thread(p.start, ready_within=240) for p in everyone))
        urls = {code: stack.enter_context(serving(receiver)) for code, receiver in receivers.items()}
        intake = await stack.enter_async_context(httpx.AsyncClient(base_url=processes["intake"][0].url, timeout=30))
        notify = await stack.enter_async_context(httpx.AsyncClient(base_url=processes["notify"][0].url, timeout=30))

        for code, client in municipalities.items():

            async def known(token: str = client.token) -> bool:
                return (await notify.get("/v1/whoami", headers=bearer(token))).status_code == 200

            await eventually(known, within=60, what=f"notify knowing municipality {code}")
            answer = await notify.post(
                "/v1/subscriptions",
                json={"url": urls[code] + "/webhooks", "event_types": ["referral.created.v1"]},
                headers=bearer(client.token),
            )
            assert answer.status_code == 201, answer.text
            receivers[code].set_secret(answer.json()["secret"])

        await post_all(intake, reporter.token, reports(BEFORE_KILL, seed=11), accepted)

        async def every_worker_busy() -> bool:
            counts = await asyncio.gather(*(applied_events(p) for s in WORKERS for p in processes[s]))
            return all(c > 0 for c in counts)

        await eventually(
            every_worker_busy, within=120, what="both workers of routing, notify and stats applying events"
        )

        during = asyncio.create_task(post_all(intake, reporter.token, reports(DURING_KILL, seed=12), accepted))

        async def streaming() -> bool:
            return len(accepted) >= BEFORE_KILL + DURING_KILL // 4

        await eventually(streaming, within=120, what="concerns streaming in")
        for service in WORKERS:
            processes[service][1].kill()
        assert not during.done(), "every concern was posted before the kill; nothing was tested"
        await during
        assert len(accepted) == BEFORE_KILL + DURING_KILL

        # Every concern has exactly the referrals the rules give it, and no referral id was published twice.
        concerns = await read_committed(kafka_bootstrap, topic_prefix + CONCERN_EVENTS, expected=len(accepted))
        reported = {e.data.concern_id: e for e in concerns if e.type == "concern.reported.v1"}
        assert set(reported) == set(accepted)
        rules = default_rules()
        expected = Counter({c: len(decide(facts_of(e.data, repeated=False), rules)) for c, e in reported.items()})
        events = await read_committed(
            kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, expected=sum(expected.values()), within=240
        )
        created = [e for e in events if e.type == "referral.created.v1"]
        twice = [i for i, n in Counter(e.data.referral_id for e in created).items() if n > 1]
        assert not twice, f"referrals published twice: {twice[:5]}"
        assert Counter(e.data.concern_id for e in created) == expected

        # Each municipality's receiver got each of its referral events, and processed each once.
        processed: set[str] = set()
        for code, receiver in receivers.items():
            wanted = {e.id for e in created if e.data.target == "municipality" and e.data.municipality_code == code}
            assert wanted, f"no referral for municipality {code}: the webhook check proves nothing"

            async def all_arrived(receiver: LateSecretReceiver = receiver, wanted: set = wanted) -> bool:
                return set(received(receiver)[0]) == wanted

            await eventually(all_arrived, within=240, what=f"every webhook to municipality {code}")
            effects, webhook_ids = received(receiver)
            assert set(effects.values()) == {1} and len(webhook_ids) == len(wanted)
            processed |= webhook_ids

        # The statistics match the ground truth exactly.
        webhooks = sum(1 for e in created if e.data.target == "municipality")
        truth = {
            "concerns": len(accepted),
            "by_department": Counter(b["department_id"] for b in accepted.values()),
            "categories": Counter(c for b in accepted.values() for c in b["categories"]),
            "referrals": Counter((e.data.target, "requested") for e in created),
            "webhooks": webhooks,
        }
        stats = await stack.enter_async_context(httpx.AsyncClient(base_url=processes["stats"][0].url, timeout=30))

        async def seen_by_stats() -> dict:
            body = (await stats.get("/v1/stats/overview", headers=bearer(ops.token))).json()
            channels = {row["channel"]: row["delivered"] for row in body["notifications"] or []}
            return {
                "concerns": body["concerns"]["total"],
                "by_department": Counter(
                    {r["department_id"]: r["concerns"] for r in body["concerns"]["by_department"]}
                ),
                "categories": Counter({r["category"]: r["concerns"] for r in body["categories"]}),
                "referrals": Counter(
                    {(r["target"], r["status"]): r["referrals"] for r in body["referrals"]["by_target_and_status"]}
                ),
                "webhooks": channels.get("webhook", 0),
            }

        async def exact() -> bool:
            return await seen_by_stats() == truth

        try:
            await eventually(exact, within=180, what="stats equal to the ground truth")
        except AssertionError:
            assert await seen_by_stats() == truth  # shows the difference
        # notify reported each webhook it delivered, under the webhook-id the receiver processed.
        outcomes = await read_committed(kafka_bootstrap, topic_prefix + NOTIFICATION_EVENTS, expected=webhooks)
        delivered = {
            e.data.delivery_id
            for e in outcomes
            if e.type == "notification.delivered.v1" and e.data.channel == "webhook"
        }
        assert delivered == processed

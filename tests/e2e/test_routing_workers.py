"""Routing workers as real processes: killed in the middle of 2,000 concerns, and two workers sharing partitions."""

import asyncio
import random
import re
from collections import Counter

import asyncpg
import httpx
import pytest

from services.routing.domain.routing import decide
from services.routing.handlers.concerns import facts_of
from shared.contracts.topics import CONCERN_EVENTS, REFERRAL_EVENTS
from shared.contracts.vocabulary import Category
from tests.support.polling import eventually
from tests.support.reference import default_rules
from tests.support.routing_events import HOENG, HOLBAEK, KALUNDBORG, concern_event, publish, read_committed
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e
RULES = default_rules()


def mixed_concerns(count: int, seed: int) -> list:
    """Concerns of every category, severity, consent and place; each about its own tenancy (no repeats)."""
    rng = random.Random(seed)
    categories = list(Category)
    return [
        concern_event(
            categories=tuple(c.value for c in rng.sample(categories, rng.choice((1, 1, 2)))),
            severity=rng.choice(("low", "medium", "high", "acute")),
            consent=rng.choice(("given", "refused", "not_asked")),
            place=rng.choice((HOLBAEK, HOENG, KALUNDBORG)),
        )
        for _ in range(count)
    ]


def expected_referrals(concerns: list) -> Counter:
    """concern id -> how many referrals the default rules give it."""
    return Counter({e.data.concern_id: len(decide(facts_of(e.data, repeated=False), RULES)) for e in concerns})


async def assert_each_referral_once(database_url: str, kafka_bootstrap: str, topic: str, concerns: list) -> None:
    expected = expected_referrals(concerns)
    total = sum(expected.values())
    events = await read_committed(kafka_bootstrap, topic, expected=total, within=180)
    created = [e.data for e in events if e.type == "referral.created.v1"]
    ids = Counter(c.referral_id for c in created)
    assert not [i for i, n in ids.items() if n > 1], "a referral was published twice"
    assert Counter(c.concern_id for c in created) == expected
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT referral_id FROM referrals")
    finally:
        await conn.close()
    assert {r["referral_id"] for r in rows} == set(ids)


async def test_worker_killed_in_the_middle_of_2000_concerns_loses_and_doubles_nothing(
    fresh_database, service_env, topic_prefix: str, kafka_bootstrap: str
) -> None:
    concerns = mixed_concerns(2000, seed=4)
    async with fresh_database("routing") as database_url:
        env = {**service_env, "DATABASE_URL": database_url, "CONSUME_BATCH_SIZE": "50", "RELAY_BATCH_SIZE": "100"}
        first = ServiceProcess("routing", env)
        await asyncio.to_thread(first.start)
        conn = await asyncpg.connect(database_url)
        try:
            await publish(kafka_bootstrap, topic_prefix + CONCERN_EVENTS, concerns)

            async def well_under_way() -> bool:
                published = await conn.fetchval("SELECT count(*) FROM outbox_events WHERE published_at IS NOT NULL")
                return published >= 300

            await eventually(well_under_way, within=120, what="routing under way")
            first.kill()
            routed = await conn.fetchval("SELECT count(DISTINCT concern_id) FROM referrals")
            assert routed < len(concerns), "the worker finished before it was killed: nothing was tested"
        finally:
            await conn.close()
        second = ServiceProcess("routing", env)
        await asyncio.to_thread(second.start)
        try:
            await assert_each_referral_once(database_url, kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, concerns)
        finally:
            second.stop()


async def assigned_partitions(http: httpx.AsyncClient) -> set[str]:
    text = (await http.get("/metrics")).text
    return set(re.findall(r'routing_consumer_lag\{partition="(\d+)"', text))


async def test_two_workers_share_the_partitions_and_produce_each_referral_once(
    fresh_database, service_env, topic_prefix: str, kafka_bootstrap: str
) -> None:
    concerns = mixed_concerns(600, seed=7)
    async with fresh_database("routing") as database_url:
        env = {**service_env, "DATABASE_URL": database_url, "LAG_INTERVAL_S": "0.5", "CONSUME_BATCH_SIZE": "20"}
        workers = [ServiceProcess("routing", env), ServiceProcess("routing", env)]
        try:
            for worker in workers:
                await asyncio.to_thread(worker.start)
            async with httpx.AsyncClient(base_url=workers[0].url) as a, httpx.AsyncClient(base_url=workers[1].url) as b:

                async def shared() -> bool:
                    mine, theirs = await assigned_partitions(a), await assigned_partitions(b)
                    return bool(mine) and bool(theirs) and not mine & theirs and len(mine | theirs) == 3

                await eventually(shared, within=90, what="both workers holding partitions")
                await publish(kafka_bootstrap, topic_prefix + CONCERN_EVENTS, concerns)
                await assert_each_referral_once(database_url, kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, concerns)
                for http in (a, b):
                    metrics = (await http.get("/metrics")).text
                    applied = re.search(r'events_handled_total\{[^}]*outcome="applied"[^}]*\} ([\d.e+]+)', metrics)
                    assert applied and float(applied.group(1)) > 0, "one worker applied nothing"
        finally:
            for worker in workers:
                worker.stop()

"""The repeat rule in a real routing worker: its Faust table decides, replays and a restart count nothing twice."""

import asyncio
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.routing.domain.routing import decide
from services.routing.handlers.concerns import facts_of
from shared.contracts.topics import CONCERN_EVENTS, REFERRAL_EVENTS
from tests.support.reference import default_rules
from tests.support.routing_events import concern_event, publish, read_committed, subject
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e
RULES = default_rules()


def about(key: str, *days_ago: int) -> list:
    now = datetime.now(UTC)
    return [
        concern_event(categories=("noise",), severity="low", subject_key=key, reported_at=now - timedelta(days=d))
        for d in days_ago
    ]


def referrals(*concerns, repeated: bool = False) -> int:
    return sum(len(decide(facts_of(e.data, repeated=repeated), RULES)) for e in concerns)


async def table_hits(process: ServiceProcess) -> float:
    async with httpx.AsyncClient(base_url=process.url, timeout=5) as http:
        text = (await http.get("/metrics")).text
    found = re.search(r'routing_repeat_window_lookups_total\{result="hit"\} ([\d.e+]+)', text)
    return float(found.group(1)) if found else 0.0


async def test_third_concern_is_repeated_and_replays_across_a_restart_inflate_nothing(
    fresh_database, service_env, topic_prefix: str, kafka_bootstrap: str
) -> None:
    concerns, referral_topic = topic_prefix + CONCERN_EVENTS, topic_prefix + REFERRAL_EVENTS
    a1, a2, a3, a4 = about(subject(), 60, 30, 1, 0)
    b1, b2 = about(subject(), 10, 0)
    async with fresh_database("routing") as database_url:
        env = {**service_env, "DATABASE_URL": database_url}
        first = ServiceProcess("routing", env)
        await asyncio.to_thread(first.start)
        try:
            await publish(kafka_bootstrap, concerns, [a1, b1, a2, a1, b1, b1, a2])  # with redeliveries
            expected = referrals(a1, a2, b1)
            await read_committed(kafka_bootstrap, referral_topic, expected=expected)
            hits = await table_hits(first)
            await publish(kafka_bootstrap, concerns, [a3, b2])
            expected += referrals(a3, repeated=True) + referrals(b2)
            await read_committed(kafka_bootstrap, referral_topic, expected=expected)
            assert await table_hits(first) >= hits + 2, "a3 and b2 were not decided from the worker's table"
        finally:
            first.kill()
        second = ServiceProcess("routing", env)  # a new worker: an empty table, windows from PostgreSQL
        await asyncio.to_thread(second.start)
        try:
            await publish(kafka_bootstrap, concerns, [a1, a2, a3, b1, b2, a4])  # everything again, then a4
            expected += referrals(a4, repeated=True)
            events = await read_committed(kafka_bootstrap, referral_topic, expected=expected)
        finally:
            second.stop()
    created = [e.data for e in events if e.type == "referral.created.v1"]
    assert len(created) == expected and not [i for i, n in Counter(c.referral_id for c in created).items() if n > 1]
    flags = {(c.concern_id, c.severity.value, c.repeated) for c in created}
    assert flags == {
        (a1.data.concern_id, "low", False),
        (a2.data.concern_id, "low", False),
        (a3.data.concern_id, "medium", True),
        (a4.data.concern_id, "medium", True),
        (b1.data.concern_id, "low", False),
        (b2.data.concern_id, "low", False),  # b1 three times and b2: two concerns, not four
    }

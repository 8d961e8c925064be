"""intake as real processes: 1,000 concurrent concerns give 1,000 events once; a relay killed mid-way loses nothing."""

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from shared.auth.principal import Role
from shared.contracts.envelope import decode
from shared.contracts.topics import CONCERN_EVENTS
from shared.db.inbox import first_delivery
from shared.kafka.dead_letters import InMemoryDeadLetters
from shared.kafka.pipeline import Pipeline, consuming
from tests.support.intake_harness import bearer, concern_body, read_to_end
from tests.support.polling import eventually
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e


async def start(processes: list[ServiceProcess], token: str) -> None:
    await asyncio.gather(*(asyncio.to_thread(p.start) for p in processes))
    async with httpx.AsyncClient(timeout=10) as http:
        for process in processes:

            async def known(process: ServiceProcess = process) -> bool:
                response = await http.get(process.url + "/v1/whoami", headers=bearer(token))
                return response.status_code == 200

            await eventually(known, what=f"the reporter known to intake on {process.port}")


async def unpublished(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT count(*) FROM outbox_events WHERE published_at IS NULL")
    finally:
        await conn.close()


async def post_concerns(urls: list[str], token: str, count: int, tenancies: int) -> list[str]:
    """POST `count` concerns at once, spread over the processes and over `tenancies` tenancies."""
    run = uuid.uuid4().hex[:6]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:

        async def post(i: int) -> httpx.Response:
            body = concern_body(tenancy_id=f"{run}-{i % tenancies:04d}")
            return await http.post(urls[i % len(urls)] + "/v1/concerns", json=body, headers=bearer(token))

        responses = await asyncio.gather(*(post(i) for i in range(count)))
    assert [r.status_code for r in responses] == [201] * count
    return [r.json()["id"] for r in responses]


async def test_1000_concurrent_concerns_give_exactly_1000_events_each_once(
    fresh_database, service_env, issue_client, topic_prefix: str, kafka_bootstrap: str
) -> None:  # noqa: ANN001
    reporter = await issue_client(Role.REPORTER, organisation_id="org-demo")
    async with fresh_database("intake") as url:
        # Two intake processes on one database: two relays compete for the same outbox.
        processes = [ServiceProcess("intake", service_env | {"DATABASE_URL": url}) for _ in range(2)]
        try:
            await start(processes, reporter.token)
            ids = await post_concerns([p.url for p in processes], reporter.token, 1000, tenancies=250)
            assert len(set(ids)) == 1000

            async def drained() -> bool:
                return await unpublished(url) == 0

            await eventually(drained, within=120, what="every outbox row published")
        finally:
            for process in processes:
                process.stop()
    records = await read_to_end(kafka_bootstrap, topic_prefix + CONCERN_EVENTS)
    events = [decode(r.value) for r in records]
    assert [e.type for e in events] == ["concern.reported.v1"] * 1000
    assert sorted(e.data.concern_id for e in events) == sorted(ids)
    partitions: dict[str, set[int]] = {}
    for record, event in zip(records, events, strict=True):
        partitions.setdefault(event.subject, set()).add(record.partition)
    assert len(partitions) == 250 and all(len(p) == 1 for p in partitions.values())


REFUSE_MARKING = """
CREATE FUNCTION test_refuse_marking() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'marking published refused by the test';
END;
$$;
CREATE TRIGGER test_refuse_marking BEFORE UPDATE ON outbox_events FOR EACH ROW EXECUTE FUNCTION test_refuse_marking();
"""


async def test_a_relay_killed_between_publishing_and_marking_loses_nothing_and_the_inbox_applies_once(
    fresh_database, service_env, issue_client, topic_prefix: str, kafka_bootstrap: str
) -> None:  # noqa: ANN001
    reporter = await issue_client(Role.REPORTER, organisation_id="org-demo")
    topic = topic_prefix + CONCERN_EVENTS
    async with fresh_database("intake") as url:
        admin = await asyncpg.connect(url)
        try:
            # The relay can publish but never mark: every batch stays between the two steps.
            await admin.execute(REFUSE_MARKING)
            first = ServiceProcess("intake", service_env | {"DATABASE_URL": url})
            try:
                await start([first], reporter.token)
                ids = await post_concerns([first.url], reporter.token, 50, tenancies=20)

                async def all_published_once() -> bool:
                    seen = {decode(r.value).data.concern_id for r in await read_to_end(kafka_bootstrap, topic)}
                    return seen >= set(ids)

                await eventually(all_published_once, within=60, what="every event published at least once")
                assert await unpublished(url) == 50, "published, but none marked"
            finally:
                first.kill()  # SIGKILL: no shutdown, the relay dies between publishing and marking
            await admin.execute("DROP TRIGGER test_refuse_marking ON outbox_events")

            second = ServiceProcess("intake", service_env | {"DATABASE_URL": url})
            try:
                await start([second], reporter.token)

                async def drained() -> bool:
                    return await unpublished(url) == 0

                await eventually(drained, within=60, what="the restarted relay marking everything published")
            finally:
                second.stop()

            records = await read_to_end(kafka_bootstrap, topic)
            events = [decode(r.value) for r in records]
            assert {e.data.concern_id for e in events} == set(ids), "every event is on the topic"
            assert len(events) > 50, "some were published twice (the crash happened after publishing)"

            # An idempotent consumer (inbox in the same transaction as the effect) applies each event once.
            await admin.execute("CREATE TABLE effects (concern_id text NOT NULL)")
            seen = 0

            async def apply(events) -> None:  # noqa: ANN001
                nonlocal seen
                async with pool.acquire() as conn, conn.transaction():
                    for event in events:
                        if await first_delivery(conn, "test-inbox", event.id):
                            await conn.execute("INSERT INTO effects VALUES ($1)", event.data.concern_id)
                seen += len(events)

            pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
            pipeline = Pipeline(
                consumer="test-inbox",
                decoder=decode,
                apply=apply,
                handles={e.type for e in events},
                dead_letters=InMemoryDeadLetters(),
            )
            try:
                async with consuming(kafka_bootstrap, f"test-inbox-{uuid.uuid4().hex[:6]}", [topic], pipeline):

                    async def consumed() -> bool:
                        return seen >= len(events)

                    await eventually(consumed, within=60, what="the inbox consumer reading every record")
            finally:
                await pool.close()
            applied = [r["concern_id"] for r in await admin.fetch("SELECT concern_id FROM effects")]
            assert sorted(applied) == sorted(ids), "each event applied exactly once"
        finally:
            await admin.close()

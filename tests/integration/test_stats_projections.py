"""Stats projections against ground truth, and the rebuild against live, on the real broker and PostgreSQL."""

import asyncio
import contextlib
import uuid
from datetime import timedelta

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from services.stats.adapters import queries
from services.stats.adapters.applier import ProjectionApplier
from services.stats.adapters.rebuild import REBUILD_LOCK, RebuildRunning, rebuild
from services.stats.adapters.rebuild_sql import PROJECTION_TABLES, SHADOW
from services.stats.adapters.reference_data import reference_from_directory
from services.stats.domain import reports
from services.stats.domain.calendar import Period, today
from services.stats.domain.scope import Selection
from services.stats.handlers import EVENT_HANDLERS, IGNORED_EVENTS
from shared.contracts.envelope import decode
from shared.contracts.topics import CONCERN_EVENTS, NOTIFICATION_EVENTS, REFERRAL_EVENTS
from shared.kafka.config import producer_config
from shared.kafka.dead_letters import KafkaDeadLetters
from shared.kafka.pipeline import Pipeline, consuming
from tests.support.polling import eventually
from tests.support.reference import owner_directory
from tests.support.stats_stream import Stream, generate

pytestmark = pytest.mark.integration

CONSUMER = "stats-service"
TOPICS = (CONCERN_EVENTS, REFERRAL_EVENTS, NOTIFICATION_EVENTS)


@pytest.fixture
async def producer(kafka_bootstrap: str):
    producer = AIOKafkaProducer(**producer_config(kafka_bootstrap, "stats-tests"))
    await producer.start()
    yield producer
    await producer.stop()


@contextlib.asynccontextmanager
async def live_projections(kafka_bootstrap: str, prefix: str, database_url: str, producer: AIOKafkaProducer):
    """The live path of the agents (the shared pipeline + ProjectionApplier) on a consumer group of its own."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    apply_one = ProjectionApplier(pool, CONSUMER)

    async def apply(events: list) -> None:
        for event in events:
            await apply_one(event)

    processor = Pipeline(
        consumer=CONSUMER,
        decoder=decode,
        apply=apply,
        handles=EVENT_HANDLERS,
        ignores=IGNORED_EVENTS,
        dead_letters=KafkaDeadLetters(producer, CONSUMER),
    )
    group = f"stats-test-{uuid.uuid4().hex[:8]}"
    try:
        async with consuming(kafka_bootstrap, group, [prefix + t for t in TOPICS], processor):
            yield pool
    finally:
        await pool.close()


async def applied(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM processed_events WHERE consumer = $1", CONSUMER)


async def wait_applied(pool: asyncpg.Pool, expected: int) -> None:
    async def done() -> bool:
        return await applied(pool) >= expected

    await eventually(done, within=180, what=f"{expected} events applied")
    assert await applied(pool) == expected


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[tuple]]:
    """Every projection row, sorted; the inbox without its timestamps."""
    tables = {}
    for table in PROJECTION_TABLES:
        columns = "consumer, event_id" if table == "processed_events" else "*"
        rows = await pool.fetch(f"SELECT {columns} FROM {table}")  # noqa: S608
        tables[table] = sorted(tuple(r.values()) for r in rows)
    return tables


def period_of(stream: Stream) -> Period:
    return Period(stream.start.date() - timedelta(days=1), today())


async def test_projections_equal_the_ground_truth_of_a_mixed_stream_with_duplicates_and_an_erasure(
    kafka_bootstrap: str, topic_prefix: str, fresh_database, producer: AIOKafkaProducer
) -> None:
    stream = generate(seed=61, concerns=450)
    assert 3000 <= stream.total_messages <= 5000
    await stream.produce(producer, topic_prefix)
    async with fresh_database("stats") as url, live_projections(kafka_bootstrap, topic_prefix, url, producer) as pool:
        await wait_applied(pool, stream.distinct_events)
        period, reference = period_of(stream), reference_from_directory(owner_directory())
        for scope in (None, {"0316"}, {"0326"}):
            selection = Selection(municipalities=frozenset(scope) if scope else None)
            truth = stream.truth(municipalities=scope)
            async with pool.acquire() as conn:
                concerns = reports.concern_section(
                    await queries.concern_counts(conn, period, selection), period, reference
                )
                categories = await queries.category_counts(conn, period, selection)
                repeat = await queries.repeats(conn, period, selection)
                referrals = reports.referral_section(await queries.referral_states(conn, period, selection))
                outcomes = await queries.outcomes(conn, period, selection)
            assert concerns["total"] == truth["total"]
            assert {d["department_id"]: d["concerns"] for d in concerns["by_department"]} == truth["by_department"]
            assert {m["municipality_code"]: m["concerns"] for m in concerns["by_municipality"]} == truth[
                "by_municipality"
            ]
            assert {s["severity"]: s["concerns"] for s in concerns["by_severity"] if s["concerns"]} == truth[
                "by_severity"
            ]
            assert {d["day"]: d["concerns"] for d in concerns["by_day"] if d["concerns"]} == truth["by_day"]
            assert {r["category"]: r["concerns"] for r in categories} == truth["by_category"]
            assert (repeat["concerns"], repeat["tenancies"]) == (truth["repeat_concerns"], truth["repeat_tenancies"])
            assert {(r["target"], r["status"]): r["referrals"] for r in referrals["by_target_and_status"]} == dict(
                truth["referrals"]
            )
            assert referrals["sla"]["breaches"] == truth["breaches"]
            assert referrals["sla"]["escalations"] == truth["escalations"]
            assert {r["outcome"]: r["concerns"] for r in outcomes} == truth["outcomes"]

        # Rates per 100 tenancies use the tenancies the organisation gave intake (74 in Høng Vænge).
        hoeng = next(d for d in concerns["by_department"] if d["department_id"] == "hoeng-1")
        assert hoeng["tenancies"] == 74 and hoeng["name"] == "Høng Vænge (demo), Høng"
        assert hoeng["rate_per_100_tenancies"] == round(100 * hoeng["concerns"] / 74, 3)

        for key, column in (("municipality", "municipality_code"), ("target", "target")):
            async with pool.acquire() as conn:
                rows = await queries.response_times(conn, period, Selection(), key)
            expected = stream.response_truth(column)
            assert {row[column] for row in rows} == set(expected)
            for row in rows:
                want = expected[row[column]]
                ack, done = reports.hours(row["ack_hours"]), reports.hours(row["completion_hours"])
                assert ack["median"] == pytest.approx(want["ack_median"], abs=1e-3)
                assert ack["p90"] == pytest.approx(want["ack_p90"], abs=1e-3)
                assert done["median"] == pytest.approx(want["done_median"], abs=1e-3)
                assert done["p90"] == pytest.approx(want["done_p90"], abs=1e-3)

        async with pool.acquire() as conn:
            deliveries = await queries.deliveries(conn, period, Selection())
        for row in deliveries:
            states = [d["state"] for d in stream.deliveries.values() if d["channel"] == row["channel"]]
            assert (row["delivered"], row["failed"]) == (states.count("delivered"), states.count("failed"))

        # The erased concern keeps no tenancy pseudonym, and repeats no longer count it.
        erased = [c for c in stream.concerns.values() if c["erased"]]
        assert len(erased) == 1
        row = await pool.fetchrow(
            "SELECT subject_key, erased, repeated FROM concern_facts WHERE concern_id = $1", erased[0]["concern_id"]
        )
        assert tuple(row.values()) == (None, True, False)

        # Replaying everything again through the live path changes nothing.
        before = await snapshot(pool)
        await stream.produce(producer, topic_prefix)
        await asyncio.sleep(3)
        await wait_applied(pool, stream.distinct_events)
        assert await snapshot(pool) == before


async def test_rebuild_while_live_runs_and_events_arrive_ends_equal_to_live_from_scratch(
    kafka_bootstrap: str, topic_prefix: str, fresh_database, producer: AIOKafkaProducer
) -> None:
    first, second = generate(seed=5, concerns=300), generate(seed=6, concerns=120)
    await first.produce(producer, topic_prefix)
    topics = [topic_prefix + t for t in TOPICS]
    async with fresh_database("stats") as url, live_projections(kafka_bootstrap, topic_prefix, url, producer) as pool:
        await wait_applied(pool, first.distinct_events)
        live_before = await snapshot(pool)

        # Rebuild with nothing new arriving: the same rows as live.
        report = await rebuild(url, kafka_bootstrap, topics, CONSUMER)
        assert report.applied == first.distinct_events and report.duplicates > 0 and report.skipped == 2
        assert await snapshot(pool) == live_before

        # Rebuild again while the live consumer keeps applying a second stream as it arrives.
        arriving = asyncio.create_task(second.produce(producer, topic_prefix))
        report = await rebuild(url, kafka_bootstrap, topics, CONSUMER)
        await arriving
        await wait_applied(pool, first.distinct_events + second.distinct_events)
        rebuilt = await snapshot(pool)
        assert report.records >= first.total_messages

    async with fresh_database("stats") as url, live_projections(kafka_bootstrap, topic_prefix, url, producer) as pool:
        await wait_applied(pool, first.distinct_events + second.distinct_events)
        assert await snapshot(pool) == rebuilt


async def test_a_second_rebuild_refuses_to_start_while_one_runs(kafka_bootstrap: str, fresh_database) -> None:
    async with fresh_database("stats") as url:
        holder = await asyncpg.connect(url)
        try:
            assert await holder.fetchval("SELECT pg_try_advisory_lock($1)", REBUILD_LOCK)
            with pytest.raises(RebuildRunning):
                await rebuild(url, kafka_bootstrap, ["nothing"], CONSUMER)
            assert (
                await holder.fetchval("SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", SHADOW)
                == 0
            )
        finally:
            await holder.close()


async def test_an_event_id_read_by_both_replay_processes_still_counts_once(
    kafka_bootstrap: str, topic_prefix: str, fresh_database, producer: AIOKafkaProducer
) -> None:
    stream = generate(seed=8, concerns=120)
    await stream.produce(producer, topic_prefix)
    # One SLA breach published again, same id, to every partition of every topic: whichever partitions the
    # rebuild gives its worker process, both processes read it (and a breach counted twice would show).
    breach = next(value for _, value in stream.messages[REFERRAL_EVENTS] if b'"referral.sla_breached.v1"' in value)
    for topic in TOPICS:
        for partition in await producer.partitions_for(topic_prefix + topic):
            await producer.send(topic_prefix + topic, breach, key=b"k", partition=partition)
    await producer.flush()
    topics = [topic_prefix + t for t in TOPICS]
    async with fresh_database("stats") as url, live_projections(kafka_bootstrap, topic_prefix, url, producer) as pool:
        await wait_applied(pool, stream.distinct_events)
        await asyncio.sleep(2)  # the copies (duplicates to live) are read too
        live = await snapshot(pool)

        report = await rebuild(url, kafka_bootstrap, topics, CONSUMER, workers=2)

        assert report.applied == stream.distinct_events
        assert await snapshot(pool) == live

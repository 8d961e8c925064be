"""Stats: rebuild replay rate against a raw aiokafka consume of the same topics, and the stats API's p99 latency
with projections holding 1,000,000 concerns (rows made in PostgreSQL with generate_series) against /healthz."""

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.harness import BenchContext, BenchResult
from services.stats.adapters.rebuild import rebuild
from shared.auth.admin import new_client, publish_record
from shared.auth.principal import Role
from shared.contracts.topics import CONCERN_EVENTS, NOTIFICATION_EVENTS, REFERRAL_EVENTS
from shared.db.migrate import apply_migrations
from shared.kafka.admin import ensure_topics
from shared.kafka.config import partitions_of, producer_config
from tests.support.reference import publish_owner_directory
from tests.support.services import free_port
from tests.support.stats_stream import generate

ROOT = Path(__file__).resolve().parents[1]
CONCERNS_STREAMED = 40_000  # about 314,000 events on the three topics: seconds of reading, not process start-up
CONCERNS_STORED = 1_000_000
ROUNDS = 3  # rebuilds, each between two raw reads; the median ratio is reported
REQUESTS_PER_ENDPOINT = 60
TOPICS = (CONCERN_EVENTS, REFERRAL_EVENTS, NOTIFICATION_EVENTS)
DEPARTMENTS = "ARRAY['holbaek-1','holbaek-2','hoeng-1','kalundborg-1','roskilde-1','odense-1','aarhus-1']"
CODES = "ARRAY['0316','0316','0326','0326','0265','0461','0751']"
CATEGORIES = (
    "ARRAY['mental_health','dementia_signs','neglect_of_dwelling','odour_nuisance','hoarding','self_neglect',"
    "'neighbour_conflict','noise','threats_or_violence','suspected_abuse','loneliness','rent_arrears',"
    "'eviction_risk','substance_abuse','other']"
)


@contextlib.asynccontextmanager
async def database(admin_url: str) -> AsyncIterator[str]:
    """A fresh, migrated stats database, dropped afterwards."""
    name = "bench_" + uuid.uuid4().hex[:10]
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = admin_url.rsplit("/", 1)[0] + "/" + name
        await asyncio.to_thread(apply_migrations, "stats", url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def raw_consume(bootstrap: str, topics: list[str]) -> tuple[int, float]:
    """Records/s of a bare aiokafka consumer reading the topics from the start to their end."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 << 20,
        fetch_max_bytes=64 << 20,
    )
    await consumer.start()
    try:
        partitions = await partitions_of(bootstrap, *topics)
        consumer.assign(partitions)
        started = time.perf_counter()
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        pending, records = {tp for tp, end in ends.items() if end > 0}, 0
        while pending:
            for tp, batch in (await consumer.getmany(*pending, timeout_ms=1000, max_records=20_000)).items():
                records += len(batch)
                if batch and batch[-1].offset + 1 >= ends[tp]:
                    pending.discard(tp)
        return records, records / (time.perf_counter() - started)
    finally:
        await consumer.stop()


async def replay_rate(context: BenchContext) -> BenchResult:
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    await ensure_topics(context.kafka_bootstrap, partitions=6, prefix=prefix)
    await publish_owner_directory(context.kafka_bootstrap, prefix)  # what intake does at start
    stream = generate(seed=2024, concerns=CONCERNS_STREAMED)
    producer = AIOKafkaProducer(**producer_config(context.kafka_bootstrap, "bench"))
    await producer.start()
    try:
        await stream.produce(producer, prefix)
    finally:
        await producer.stop()
    topics = [prefix + t for t in TOPICS]
    await raw_consume(context.kafka_bootstrap, topics)  # warm up page cache and connections
    # The machine's load drifts: each round compares a rebuild with raw reads just before and just after it
    # (their mean); the round with the median ratio is reported, every round is in the details.
    records, raw = await raw_consume(context.kafka_bootstrap, topics)
    rounds: list[tuple[float, float, float, Any]] = []  # (ratio, rebuilt/s, raw/s before+after mean, report)
    for _ in range(ROUNDS):
        async with database(context.admin_database_url) as url:
            started = time.perf_counter()
            report = await rebuild(url, context.kafka_bootstrap, topics, "stats-service")
            rebuilt = report.records / (time.perf_counter() - started)
        _, after = await raw_consume(context.kafka_bootstrap, topics)
        rounds.append((rebuilt / ((raw + after) / 2), rebuilt, (raw + after) / 2, report))
        raw = after
    ratio, rebuilt, baseline, report = sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]
    return BenchResult(
        benchmark="stats rebuild",
        metric="replay rate (read, decode, fold, swap)",
        unit="events/s",
        value=rebuilt,
        baseline="raw aiokafka consume of the same topics (before + after)",
        baseline_value=baseline,
        target_ratio=0.5,
        details={
            "records": records,
            "applied": report.applied,
            "duplicates": report.duplicates,
            **{f"{phase} s": round(seconds, 2) for phase, seconds in report.seconds.items()},
            "rounds": ROUNDS,
            "round_ratios": ", ".join(f"{r[0]:.2f}" for r in rounds),
            "round_rebuilt_per_s": ", ".join(f"{r[1]:.0f}" for r in rounds),
            "round_raw_per_s": ", ".join(f"{r[2]:.0f}" for r in rounds),
        },
    )


FILL = [
    f"""INSERT INTO concern_facts (concern_id, organisation_id, department_id, municipality_code, subject_key, severity,
                                   categories, reported_at, day, repeated)
        SELECT 'c' || g, 'org-demo', ({DEPARTMENTS})[1 + g % 7], ({CODES})[1 + g % 7], 'sk_bench_' || (g % 250000),
               (ARRAY['low','medium','high','acute'])[1 + g % 4],
               CASE WHEN g % 3 = 0 THEN ARRAY[({CATEGORIES})[1 + g % 15], ({CATEGORIES})[1 + (g + 7) % 15]]
                    ELSE ARRAY[({CATEGORIES})[1 + g % 15]] END,
               t, (t AT TIME ZONE 'Europe/Copenhagen')::date, g % 20 = 0
          FROM generate_series(1, {CONCERNS_STORED}) g,
               LATERAL (SELECT now() - (g % 1095) * interval '1 day' - (g % 3600) * interval '1 second' AS t) x""",  # noqa: S608 - constants
    """INSERT INTO concern_counts SELECT day, department_id, municipality_code, severity, count(*)
         FROM concern_facts GROUP BY 1, 2, 3, 4""",
    """INSERT INTO concern_category_counts SELECT day, department_id, municipality_code, category, severity, count(*)
         FROM concern_facts, unnest(categories) category GROUP BY 1, 2, 3, 4, 5""",
    """INSERT INTO referrals (referral_id, concern_id, target, recipient_id, department_id, municipality_code,
                              categories, severity, urgent, created_at, day, status, status_changed_at, acknowledged_at,
                              completed_at, outcome, sla_breaches, escalations)
       SELECT 'r' || concern_id, concern_id, (ARRAY['municipality','consultant','association'])[1 + n % 3],
              'recipient-' || municipality_code, department_id, municipality_code, categories, severity, false,
              reported_at, day,
              CASE WHEN n % 5 = 0 THEN 'requested' WHEN n % 3 = 0 THEN 'completed' ELSE 'in_progress' END,
              reported_at + interval '1 hour',
              CASE WHEN n % 5 <> 0 THEN reported_at + (n % 100) * interval '1 hour' END,
              CASE WHEN n % 5 <> 0 AND n % 3 = 0 THEN reported_at + (100 + n % 240) * interval '1 hour' END,
              CASE WHEN n % 5 <> 0 AND n % 3 = 0 THEN (ARRAY['support_established','eviction_avoided',
                   'dwelling_restored','no_action_needed'])[1 + n % 4] END,
              CASE WHEN n % 5 = 0 THEN 1 ELSE 0 END, CASE WHEN n % 10 = 0 THEN 1 ELSE 0 END
         FROM (SELECT *, substr(concern_id, 2)::int AS n FROM concern_facts) f""",
    """INSERT INTO deliveries SELECT 'd' || g, (ARRAY['webhook','email'])[1 + g % 2], NULL, current_date - g % 1095,
              now(), 1000 + g % 5000, g % 3, g % 50 = 0 FROM generate_series(1, 200000) g""",
    "ANALYZE",
]


async def api_p99(context: BenchContext) -> BenchResult:
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    await ensure_topics(context.kafka_bootstrap, partitions=3, prefix=prefix)
    await publish_owner_directory(context.kafka_bootstrap, prefix)  # what intake does at start
    ops = new_client(name="bench ops", role=Role.OPS)
    await publish_record(context.kafka_bootstrap, ops.record, topic_prefix=prefix)
    async with database(context.admin_database_url) as url:
        conn = await asyncpg.connect(url)
        try:
            for statement in FILL:
                await conn.execute(statement)
            stored = await conn.fetchval("SELECT count(*) FROM concern_facts")
        finally:
            await conn.close()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "KAFKA_BOOTSTRAP_SERVERS": context.kafka_bootstrap,
            "TOPIC_PREFIX": prefix,
            "TOPIC_PARTITIONS": "3",
            "SUBJECT_KEY_SECRET": os.environ.get("SUBJECT_KEY_SECRET", "bench-subject-key-secret-0123456789"),
            "BUSINESS_METRICS_INTERVAL_S": "3600",
        }
        port = free_port()
        env["HTTP_PORT"] = str(port)
        command = [sys.executable, "-m", "services.stats"]
        process = await asyncio.to_thread(subprocess.Popen, command, env=env, cwd=ROOT)
        try:
            return await _measure(f"http://127.0.0.1:{port}", ops.token, stored)
        finally:
            process.terminate()
            await asyncio.to_thread(process.wait, 15)


async def _measure(base: str, token: str, stored: int) -> BenchResult:
    async with httpx.AsyncClient(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/v1/stats/scope")).status_code == 200:
                    break
            await asyncio.sleep(0.5)
        calls = {
            "overview": ("/v1/stats/overview", {}),
            "overview 0316": ("/v1/stats/overview", {"municipality": "0316"}),
            "overview hoarding": ("/v1/stats/overview", {"category": "hoarding"}),
            "response-times": ("/v1/stats/response-times", {}),
            "hotspots": ("/v1/stats/hotspots", {}),
        }
        timings: dict[str, list[float]] = {name: [] for name in calls}
        healthz: list[float] = []
        for _ in range(REQUESTS_PER_ENDPOINT):
            for name, (path, params) in calls.items():
                started = time.perf_counter()
                response = await http.get(path, params=params)
                timings[name].append(time.perf_counter() - started)
                response.raise_for_status()
            started = time.perf_counter()
            (await http.get("/healthz")).raise_for_status()
            healthz.append(time.perf_counter() - started)
    every = [t for values in timings.values() for t in values]
    details: dict[str, float | int | str] = {"concerns_stored": stored, "requests": len(every)}
    details |= {f"p99 {name} ms": round(1000 * _p99(values), 1) for name, values in timings.items()}
    details["p50 all ms"] = round(1000 * statistics.median(every), 1)
    return BenchResult(
        benchmark="stats API",
        metric="p99 latency, 1,000,000 concerns (overview, filters, response times, hotspots)",
        unit="ms",
        value=1000 * _p99(every),
        baseline="p99 of GET /healthz on the same server",
        baseline_value=1000 * _p99(healthz),
        higher_is_better=False,
        details=details,
    )


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def run(context: BenchContext) -> list[BenchResult]:
    """Both stats benchmarks on the bench stack."""
    return [await replay_rate(context), await api_p99(context)]

"""intake: POST /v1/concerns against a bare FastAPI endpoint doing one asyncpg INSERT; and the relay's rate.

Both HTTP servers run as their own uvicorn processes on one fresh database, loaded by the same 32 concurrent
clients in this process, baseline before and after intake so drift does not favour either side. The relay is
measured on outbox rows written beforehand, against publishing the same events directly with the same
parallelism.
"""

import asyncio
import base64
import contextlib
import json
import os
import secrets
import socket
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from bench.harness import ROOT, BenchContext, BenchResult
from shared.auth.admin import new_client, publish_record
from shared.auth.principal import Role
from shared.contracts.concerns import ConcernReported
from shared.contracts.envelope import make_event
from shared.contracts.topics import CONCERN_EVENTS
from shared.db.migrate import apply_migrations
from shared.kafka.admin import ensure_topics
from shared.kafka.config import producer_config
from shared.kafka.producer import KafkaEventPublisher
from shared.outbox import enqueue, relay_for

CLIENTS = 32
WARMUP_S = 2.0
MEASURE_S = 6.0
RELAY_EVENTS = 5_000
LOGS = ROOT / "test-artifacts" / "logs"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def _process(args: list[str], env: dict[str, str], url: str, name: str) -> AsyncIterator[None]:
    """A server process (its log under test-artifacts), up once its readiness URL answers 200."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / f"bench-{name}.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, env=os.environ | env, stdout=log, stderr=log, cwd=ROOT
    )
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(600):
                if process.returncode is not None:
                    raise RuntimeError(f"{name} exited; see {log.name}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(url, timeout=1)).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"{name} not ready")
        yield
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 15)
        log.close()


def _body(run: str, i: int) -> dict:
    return {
        "department_id": "holbaek-1",
        "tenancy_id": f"{run}-{i}",
        "categories": ["odour_nuisance", "neglect_of_dwelling"],
        "severity": "medium",
        "description": "Stærk lugt fra lejligheden i flere uger; post hober sig op. (Fiktivt benchmark-eksempel.)",
        "observed_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "reporter": {"role": "caretaker", "name": "Bench Vicevært", "contact": "bench@example.org"},
        "resident": {"name": "Fiktiv Beboer", "address": "Benchvej 1, 4300 Holbæk"},
        "consent": "given",
    }


async def _load(url: str, headers: dict[str, str]) -> tuple[float, list[float]]:
    """Requests/s and latencies of CLIENTS clients posting back to back for MEASURE_S (after a warm-up)."""
    run = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    counter = iter(range(10**9))
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as http:

        async def client(until: float, record: bool) -> None:
            while time.perf_counter() < until:
                started = time.perf_counter()
                response = await http.post("/v1/concerns", json=_body(run, next(counter)))
                if response.status_code != 201:
                    raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
                if record:
                    latencies.append(time.perf_counter() - started)

        warm = time.perf_counter() + WARMUP_S
        await asyncio.gather(*(client(warm, False) for _ in range(CLIENTS)))
        started = time.perf_counter()
        await asyncio.gather(*(client(started + MEASURE_S, True) for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q * 100) - 1] * 1000


async def _relay_rate(context: BenchContext, url: str, prefix: str) -> tuple[float, float]:
    """Events/s of the outbox relay draining RELAY_EVENTS rows, and of direct publishing with the same parallelism."""
    now = datetime.now(UTC)
    events = [
        make_event(
            ConcernReported(
                concern_id=str(uuid.uuid4()), organisation_id="org-demo", department_id="holbaek-1",
                municipality_code="0316", subject_key=f"sk_bench{i:08d}", categories=("noise",), severity="low",
                consent="not_asked", observed_at=now, reported_at=now, reporter_role="caretaker", channel="http",
                has_reporter_contact=False, has_resident_details=False,
            ),
            source="/services/intake",
            subject=f"sk_bench{i:08d}",
        )
        for i in range(RELAY_EVENTS)
    ]  # fmt: skip
    pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
    producer = AIOKafkaProducer(**producer_config(context.kafka_bootstrap, "bench-relay"))
    await producer.start()
    try:
        await pool.execute("DELETE FROM outbox_events")
        async with pool.acquire() as conn:
            await enqueue(conn, CONCERN_EVENTS, events)
        publisher = KafkaEventPublisher(producer)
        topics = {CONCERN_EVENTS: prefix + CONCERN_EVENTS}
        relay = relay_for("intake", database_url=url, bootstrap_servers=context.kafka_bootstrap, topics=topics)
        async with relay.leading() as (session, sender):  # the lock taken and the producer started: not timed
            started = time.perf_counter()
            while await relay.relay_batch(session, sender):
                pass
            relay_rate = RELAY_EVENTS / (time.perf_counter() - started)
        started = time.perf_counter()
        for chunk in range(0, RELAY_EVENTS, 500):
            batch = events[chunk : chunk + 500]
            await asyncio.gather(*(publisher.publish(prefix + CONCERN_EVENTS, e) for e in batch))
        direct_rate = RELAY_EVENTS / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await pool.close()
    return relay_rate, direct_rate


@contextlib.asynccontextmanager
async def _fresh_database(admin_url: str) -> AsyncIterator[str]:
    name = "bench_" + uuid.uuid4().hex[:10]
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = admin_url.rpartition("/")[0] + "/" + name
        await asyncio.to_thread(apply_migrations, "intake", url)
        conn = await asyncpg.connect(url)
        await conn.execute("CREATE TABLE bare_concerns (id uuid PRIMARY KEY, body jsonb NOT NULL)")
        await conn.close()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run(context: BenchContext) -> list[BenchResult]:
    """Measure intake's POST against the bare INSERT endpoint, then the relay against direct publishing."""
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    await ensure_topics(context.kafka_bootstrap, partitions=6, prefix=prefix)
    reporter = new_client(name="bench reporter", role=Role.REPORTER, organisation_id="org-demo")
    await publish_record(context.kafka_bootstrap, reporter.record, topic_prefix=prefix)
    headers = {"Authorization": f"Bearer {reporter.token}"}
    async with _fresh_database(context.admin_database_url) as url:
        intake_port, bare_port = _free_port(), _free_port()
        intake_env = {
            "DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": context.kafka_bootstrap, "TOPIC_PREFIX": prefix,
            "HTTP_PORT": str(intake_port), "SUBJECT_KEY_SECRET": secrets.token_hex(16), "LOG_LEVEL": "WARNING",
            "MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(), "ENVIRONMENT": "test",
            # 32 clients back to back on one token: a population; the limiter still runs, its cost measured.
            "RATE_LIMIT_PER_MINUTE": "100000000", "RATE_LIMIT_BURST": "1000000",
        }  # fmt: skip
        intake_url, bare_url = f"http://127.0.0.1:{intake_port}", f"http://127.0.0.1:{bare_port}"
        bare = ["-m", "bench.bench_intake", "bare", str(bare_port), url]

        async def measure(server: list[str], env: dict, base: str, name: str) -> tuple[float, list[float]]:
            ready = base + ("/readyz" if name == "intake" else "/ready")
            async with _process(server, env, ready, name):
                if name == "intake":
                    await _wait_for_token(base, headers)
                return await _load(base, headers)

        baseline_before, _ = await measure(bare, {}, bare_url, "bare")
        intake_rate, latencies = await measure(["-m", "services.intake"], intake_env, intake_url, "intake")
        baseline_after, bare_latencies = await measure(bare, {}, bare_url, "bare")
        relay_rate, direct_rate = await _relay_rate(context, url, prefix)
    baseline = (baseline_before + baseline_after) / 2
    return [
        BenchResult(
            benchmark="intake",
            metric="POST /v1/concerns/s at 32 clients",
            unit="req/s",
            value=intake_rate,
            baseline="bare FastAPI endpoint, one asyncpg INSERT",
            baseline_value=baseline,
            target_ratio=0.7,
            details={
                "clients": CLIENTS,
                "seconds": MEASURE_S,
                "p50_ms": round(_quantile(latencies, 0.50), 2),
                "p99_ms": round(_quantile(latencies, 0.99), 2),
                "baseline_p50_ms": round(_quantile(bare_latencies, 0.50), 2),
                "baseline_p99_ms": round(_quantile(bare_latencies, 0.99), 2),
            },
        ),
        BenchResult(
            benchmark="intake",
            metric="outbox relay events/s",
            unit="events/s",
            value=relay_rate,
            baseline="publishing the same events directly, 500 at a time",
            baseline_value=direct_rate,
            details={"events": RELAY_EVENTS, "batch_size": 500},
        ),
    ]


async def _wait_for_token(base: str, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        for _ in range(300):
            if (await http.get("/v1/whoami")).status_code == 200:
                return
            await asyncio.sleep(0.1)
    raise RuntimeError("the bench client never reached intake")


def _bare_app(dsn: str) -> FastAPI:
    """The baseline server, run as `python -m bench.bench_intake bare PORT DSN`."""
    state: dict = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=1, max_size=10)
        yield
        await state["pool"].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/ready")
    async def ready() -> dict:
        return {"ok": True}

    @app.post("/v1/concerns", status_code=201)
    async def insert(body: dict) -> dict:
        concern_id = uuid.uuid4()
        await state["pool"].execute(
            "INSERT INTO bare_concerns (id, body) VALUES ($1, $2)", concern_id, json.dumps(body)
        )
        return {"id": str(concern_id)}

    return app


def _serve_bare(port: int, dsn: str) -> None:
    uvicorn.run(_bare_app(dsn), host="127.0.0.1", port=port, log_config=None, access_log=False)


if __name__ == "__main__" and sys.argv[1:2] == ["bare"]:
    _serve_bare(int(sys.argv[2]), sys.argv[3])

"""End to end: POST /v1/concerns → the municipality's webhook → counted by stats, at fixed open-loop rates, against
a bare pipeline of the same shape in the same run; and each service's peak memory against an idle framework process.

The four services run as their own processes (`python -m services.<name>`) on fresh databases and prefixed
topics, as in production but on one machine with the bench stack's Kafka and PostgreSQL. A municipality client
subscribes a webhook receiver in this process (LOCAL_DEV allows the loopback URL); consultants' e-mails go to an
aiosmtpd sink. Each rate is driven for SECONDS by an open-loop aiohttp client (a POST leaves on schedule whatever
the answers do), first through the platform, then through the bare pipeline (bench/e2e_bare.py: FastAPI INSERT +
produce → raw consume-produce hop → raw consumer POSTing; a raw consumer counting in PostgreSQL). Both stay up
for the whole run, so drift on the shared machine hits both. Per concern: POST sent → its municipality referral's
webhook received. "Counted": the time from the last 201 until stats' overview (the bare counter row) holds every
concern sent so far.
"""

import asyncio
import base64
import contextlib
import os
import secrets
import socket
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg

from bench.e2e_bare import SCHEMA
from bench.e2e_load import Receiver, Sent, drive, pooled, summarise
from bench.harness import ROOT, BenchContext, BenchResult, peak_rss_mb
from shared.auth.admin import new_client, publish_record
from shared.auth.principal import Role
from shared.contracts.topics import CONCERN_EVENTS, REFERRAL_EVENTS
from shared.db.migrate import apply_migrations
from shared.kafka.admin import ensure_topics
from tests.support.reference import publish_owner_directory

# Concerns/s offered, and for how long each; BENCH_E2E_RATES="10" BENCH_E2E_SECONDS=5 for a quick look.
# The ladder stops after the first rate the platform does not carry (webhooks/s below SATURATED of the rate):
# higher rates would only measure the same capacity behind a longer queue, and take minutes to drain.
RATES = tuple(int(r) for r in os.environ.get("BENCH_E2E_RATES", "10,25,50,100,200").split(","))
SECONDS = float(os.environ.get("BENCH_E2E_SECONDS", "20"))
SATURATED = 0.8
COUNT_POLL_S = 0.5  # stats' overview runs several queries: polling it faster would slow stats down
WARM_UP = 40  # concerns through each pipeline before measuring: connections, prepared statements, partitions
DRAIN_S = 180  # how long a rate's stragglers may take before the rate counts as not delivered
PARTITIONS = 3
SERVICES = ("intake", "routing", "notify", "stats")
LOGS = ROOT / "test-artifacts" / "logs"
Pipeline = tuple[str, dict[str, str], Callable[[], Awaitable[int]]]  # POST URL, headers, count so far


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def _process(name: str, args: list[str], env: dict[str, str], ready: str | None) -> AsyncIterator[int]:
    """A process (log under test-artifacts/logs), yielded as its pid once `ready` answers 200."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / f"bench-e2e-{name}.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, env=os.environ | env, stdout=log, stderr=log, cwd=ROOT
    )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(1200):
                if process.returncode is not None:
                    raise RuntimeError(f"{name} exited; see {log.name}")
                if ready is None:
                    break
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                    async with http.get(ready, timeout=aiohttp.ClientTimeout(total=2)) as answer:
                        if answer.status == 200:
                            break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"{name} not ready; see {log.name}")
        yield process.pid
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
        log.close()


async def _databases(admin_url: str, run: str) -> dict[str, str]:
    """A fresh, migrated database per service, and one for the bare pipeline."""
    admin = await asyncpg.connect(admin_url)
    urls = {}
    try:
        for name in (*SERVICES, "bare"):
            await admin.execute(f'CREATE DATABASE "bench_{run}_{name}"')
            urls[name] = admin_url.rpartition("/")[0] + f"/bench_{run}_{name}"
    finally:
        await admin.close()
    for name in SERVICES:
        await asyncio.to_thread(apply_migrations, name, urls[name])
    bare = await asyncpg.connect(urls["bare"])
    await bare.execute(SCHEMA)
    await bare.close()
    return urls


async def _drop(admin_url: str, urls: dict[str, str]) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        for url in urls.values():
            await admin.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')
    finally:
        await admin.close()


def _body(run: str, i: int) -> dict:
    # Rent arrears: a municipality referral (eviction prevention, statutory duty) and a consultant's e-mail.
    # A tenancy of its own per concern, so no concern is a repeat and the fan-out stays the same.
    return {
        "department_id": "holbaek-1",
        "tenancy_id": f"{run}-{i}",
        "categories": ["rent_arrears"],
        "severity": "medium",
        "description": "Huslejen er ikke betalt i to måneder. (Fiktivt benchmark-eksempel.)",
        "observed_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "reporter": {"role": "caretaker"},
        "consent": "given",
    }


async def _until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError):
            if await check():
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


async def _measure(
    http: aiohttp.ClientSession, receiver: Receiver, pipeline: Pipeline, rate: float, seconds: float, run: str
) -> tuple[list[Sent], float, Counter]:
    """Drive one rate through one pipeline; the concerns answered, seconds from the last 201 to counted, refusals."""
    url, headers, counted = pipeline
    before = await counted()
    sent, refused = await drive(http, url, headers, rate, seconds, lambda i: _body(run, i))
    last_answer = max((s.answered_at for s in sent), default=time.time())
    expected = before + len(sent)
    counted_at: float | None = None
    delivered = False
    deadline = time.monotonic() + DRAIN_S
    while time.monotonic() < deadline and (counted_at is None or not delivered):
        if counted_at is None and await counted() >= expected:
            counted_at = time.time()
        delivered = delivered or all(s.concern_id in receiver.arrivals for s in sent)
        await asyncio.sleep(COUNT_POLL_S)
    if counted_at is None:
        refused["not counted"] = expected - await counted()
    counted_after = (counted_at or time.time()) - last_answer
    print(f"    {url} at {rate}/s: {len(sent)} answered, drained in {time.time() - last_answer:.0f} s", flush=True)
    return sent, max(counted_after, 0.0), refused


async def run(context: BenchContext) -> list[BenchResult]:
    """Start both pipelines, drive every rate through each, and read every process's peak memory."""
    run_id = uuid.uuid4().hex[:8]
    prefix, bare_prefix = f"benche2e{run_id}.", f"benchbare{run_id}."
    await ensure_topics(context.kafka_bootstrap, partitions=PARTITIONS, prefix=prefix)
    await publish_owner_directory(context.kafka_bootstrap, prefix)  # what intake does at start
    await ensure_topics(context.kafka_bootstrap, partitions=PARTITIONS, prefix=bare_prefix)
    await publish_owner_directory(context.kafka_bootstrap, bare_prefix)  # what intake does at start
    clients = {
        "reporter": new_client(name="bench reporter", role=Role.REPORTER, organisation_id="org-demo"),
        "municipality": new_client(name="bench municipality", role=Role.MUNICIPALITY, municipality_code="0316"),
        "ops": new_client(name="bench ops", role=Role.OPS),
    }
    for client in clients.values():
        await publish_record(context.kafka_bootstrap, client.record, topic_prefix=prefix)
    bearer = {name: {"Authorization": f"Bearer {c.token}"} for name, c in clients.items()}
    urls = await _databases(context.admin_database_url, run_id)
    receiver = Receiver()
    hook = await receiver.start(_free_port())
    ports = {name: _free_port() for name in (*SERVICES, "smtp", "bare", "idle", "idle-faust")}
    base = {name: f"http://127.0.0.1:{ports[name]}" for name in ports}
    common = {
        "KAFKA_BOOTSTRAP_SERVERS": context.kafka_bootstrap,
        "TOPIC_PREFIX": prefix,
        "TOPIC_PARTITIONS": str(PARTITIONS),
        "SUBJECT_KEY_SECRET": secrets.token_urlsafe(24),
        "MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "LOCAL_DEV": "true",
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        # One reporter token carries the whole offered rate (up to 200 concerns/s): a population, not a client.
        "RATE_LIMIT_PER_MINUTE": "1000000",
        "RATE_LIMIT_BURST": "100000",
    }
    extra = {"notify": {"SMTP_PORT": str(ports["smtp"]), "INTAKE_URL": base["intake"]}}
    try:
        async with contextlib.AsyncExitStack() as stack:
            smtp = ["-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{ports['smtp']}", "-c", "aiosmtpd.handlers.Sink"]
            await stack.enter_async_context(_process("smtp", smtp, {}, None))
            envs = {
                name: {**common, **extra.get(name, {}), "HTTP_PORT": str(ports[name]), "DATABASE_URL": urls[name]}
                for name in SERVICES
            }
            started = [
                stack.enter_async_context(
                    _process(n, ["-m", f"services.{n}"], {**envs[n], "SERVICE_NAME": n}, base[n] + "/readyz")
                )
                for n in SERVICES
            ]
            # Every start finishes (and lands on the stack, to be stopped) before a failed one is raised.
            outcomes = await asyncio.gather(*started, return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
            pids = dict(zip(SERVICES, outcomes, strict=True))
            bare_topics = (bare_prefix + CONCERN_EVENTS, bare_prefix + REFERRAL_EVENTS)
            bare_intake = ["-m", "bench.e2e_bare", "intake", str(ports["bare"]), urls["bare"], context.kafka_bootstrap]
            pids["bare intake"] = await stack.enter_async_context(
                _process("bare-intake", [*bare_intake, bare_topics[0]], {}, base["bare"] + "/ready")
            )
            consumers = ["-m", "bench.e2e_bare", "consumers", urls["bare"], context.kafka_bootstrap, *bare_topics, hook]
            pids["bare consumers"] = await stack.enter_async_context(_process("bare-consumers", consumers, {}, None))
            idle = {}
            for name, args in (("idle", []), ("idle-faust", ["faust"])):
                command = ["-m", "bench.e2e_bare", "idle", str(ports[name]), *args]
                idle[name] = await stack.enter_async_context(_process(name, command, {}, base[name] + "/ready"))
            results = await _drive_all(http_urls=base, bearer=bearer, hook=hook, receiver=receiver, urls=urls)
            memory = {name: peak_rss_mb(pid) for name, pid in {**pids, **idle}.items()}
    finally:
        await receiver.stop()
        await _drop(context.admin_database_url, urls)
    return [*results, *_memory_rows(memory)]


async def _drive_all(
    *,
    http_urls: dict[str, str],
    bearer: dict[str, dict[str, str]],
    hook: str,
    receiver: Receiver,
    urls: dict[str, str],
) -> list[BenchResult]:
    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=120)
    bare_db = await asyncpg.connect(urls["bare"])
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def known(service: str, role: str, path: str) -> bool:
            async with http.get(http_urls[service] + path, headers=bearer[role]) as answer:
                return answer.status == 200

        await _until(lambda: known("intake", "reporter", "/v1/whoami"), 60, "the reporter known to intake")
        await _until(lambda: known("notify", "municipality", "/v1/whoami"), 60, "the municipality known to notify")
        await _until(lambda: known("stats", "ops", "/v1/stats/overview"), 60, "ops known to stats")
        subscription = {"url": hook, "event_types": ["referral.created.v1"]}
        async with http.post(
            http_urls["notify"] + "/v1/subscriptions", json=subscription, headers=bearer["municipality"]
        ) as answer:
            if answer.status != 201:
                raise RuntimeError(f"subscription refused: {answer.status} {await answer.text()}")

        async def stats_count() -> int:
            async with http.get(http_urls["stats"] + "/v1/stats/overview", headers=bearer["ops"]) as answer:
                answer.raise_for_status()
                return (await answer.json())["concerns"]["total"]

        async def bare_count() -> int:
            return await bare_db.fetchval("SELECT n FROM bare_count WHERE id = 1")

        platform: Pipeline = (http_urls["intake"] + "/v1/concerns", bearer["reporter"], stats_count)
        bare: Pipeline = (http_urls["bare"] + "/v1/concerns", {}, bare_count)
        run = uuid.uuid4().hex[:6]
        for pipeline in (platform, bare):
            await _measure(http, receiver, pipeline, WARM_UP / 4, 4, f"{run}w")
        rows: list[BenchResult] = []
        for rate in RATES:
            # The baseline before and after the platform, pooled, so drift on the machine favours neither side.
            before = await _measure(http, receiver, bare, rate, SECONDS, f"{run}a{rate}")
            sent, counted, refused = await _measure(http, receiver, platform, rate, SECONDS, f"{run}p{rate}")
            after = await _measure(http, receiver, bare, rate, SECONDS, f"{run}b{rate}")
            value = summarise(sent, receiver.arrivals, receiver.routed)
            measured = (value, counted, refused)
            baseline = (
                pooled([before[0], after[0]], receiver.arrivals),
                (before[1] + after[1]) / 2,
                before[2] + after[2],
            )
            saturated = value.throughput < SATURATED * rate
            rows += _rate_rows(rate, measured, baseline, receiver.duplicates, saturated)
            if saturated:
                break
    await bare_db.close()
    return rows


BARE = (
    "bare pipeline (FastAPI INSERT + produce → raw hop → raw consumer POSTing; raw counter), same rate, before + after"
)


def _rate_rows(rate: int, measured: tuple, baseline: tuple, duplicates: int, saturated: bool) -> list[BenchResult]:
    (value, counted, refused), (base, base_counted, base_refused) = measured, baseline
    details = {
        "offered_per_s": rate,
        "platform_saturated": "yes: the last rate of the ladder" if saturated else "no",
        "seconds": SECONDS,
        "answered_201": value.answered,
        "delivered": value.delivered,
        "refused": ", ".join(f"{k}: {v}" for k, v in refused.items()) or "none",
        "post_201_p50_ms": round(value.answer_p50_ms, 1),
        "post_201_p99_ms": round(value.answer_p99_ms, 1),
        "send_span_s": round(value.send_span_s, 2),
        "counted_poll_interval_s": COUNT_POLL_S,
        "post_to_referral_event_p50_ms": round(value.routed_p50_ms, 1),
        "referral_event_to_webhook_p50_ms": round(value.notified_p50_ms, 1),
        "first_post_to_last_webhook_per_s": round(value.first_post_to_last_webhook, 1),
        "duplicate_webhooks_so_far": duplicates,
        "baseline_answered_201": base.answered,
        "baseline_delivered": base.delivered,
        "baseline_refused": ", ".join(f"{k}: {v}" for k, v in base_refused.items()) or "none",
        "baseline_post_201_p99_ms": round(base.answer_p99_ms, 1),
    }
    name = f"{rate}/s offered"
    return [
        BenchResult(
            benchmark="end to end",
            metric=f"{name}: webhooks/s received, first to last (POST → municipality webhook)",
            unit="concerns/s",
            value=value.throughput,
            baseline=BARE,
            baseline_value=base.throughput,
            details=details,
        ),
        BenchResult(
            benchmark="end to end",
            metric=f"{name}: p50 POST sent → webhook received (ratio baseline/value)",
            unit="ms",
            value=value.p50_ms,
            baseline=BARE,
            baseline_value=base.p50_ms,
            higher_is_better=False,
            details=details,
        ),
        BenchResult(
            benchmark="end to end",
            metric=f"{name}: p99 POST sent → webhook received (ratio baseline/value)",
            unit="ms",
            value=value.p99_ms,
            baseline=BARE,
            baseline_value=base.p99_ms,
            higher_is_better=False,
            details=details,
        ),
        BenchResult(
            benchmark="end to end",
            metric=f"{name}: last 201 → all counted by stats (ratio baseline/value)",
            unit="ms",
            value=counted * 1000,
            baseline=BARE.replace("same rate", "counter row, same rate"),
            baseline_value=base_counted * 1000,
            higher_is_better=False,
            details=details,
        ),
    ]


def _memory_rows(memory: dict[str, float]) -> list[BenchResult]:
    rows = []
    for service in SERVICES:
        faust = service in ("routing", "stats")
        floor = memory["idle-faust" if faust else "idle"]
        stack = "FastAPI + uvicorn + asyncpg + aiokafka" + (" + Faust" if faust else "")
        rows.append(
            BenchResult(
                benchmark="memory",
                metric=f"{service}: peak RSS during the end-to-end run (ratio baseline/value)",
                unit="MB",
                value=memory[service],
                baseline=f"idle process with the same framework imports ({stack})",
                baseline_value=floor,
                higher_is_better=False,
                details={
                    "source": "VmHWM of /proc/<pid>/status",
                    "bare_intake_peak_mb": round(memory["bare intake"], 1),
                    "bare_consumers_peak_mb": round(memory["bare consumers"], 1),
                },
            )
        )
    return rows

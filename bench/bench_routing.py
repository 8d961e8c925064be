"""Routing throughput (concern-events -> referral-events, through PostgreSQL and the outbox) against a raw
aiokafka consume-and-produce loop moving the same messages, and the routing worker's peak memory."""

import asyncio
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.harness import ROOT, BenchContext, BenchResult
from services.routing.domain.routing import decide
from services.routing.entrypoints.consumers import concern_consumer, register_agents
from services.routing.handlers.concerns import facts_of
from services.routing.settings import RoutingSettings
from shared.contracts.envelope import encode
from shared.contracts.topics import CONCERN_EVENTS, REFERRAL_EVENTS
from shared.db.migrate import apply_migrations
from shared.db.positions import InMemoryPositions
from shared.kafka.admin import ensure_topics
from shared.kafka.config import partitions_of, producer_config
from shared.kafka.dead_letters import InMemoryDeadLetters
from shared.kafka.positions import KafkaLog
from shared.kafka.streams import make_stream_app, running
from tests.support.reference import default_rules, publish_owner_directory
from tests.support.routing_events import HOENG, HOLBAEK, KALUNDBORG, concern_event

CONCERNS = 20_000  # a few seconds of work each way: throughput, not the latency of the first and last batch
WARM_UP = 200  # concerns sent (and routed) before the clock starts: connections, metadata, first transactions
PARTITIONS = 3
ROUNDS = 3  # the median of three: the machine's load moves single measurements by a fifth either way


def _concerns(count: int, seed: int) -> list:
    rng = random.Random(seed)
    categories = ["noise", "hoarding", "rent_arrears", "mental_health", "loneliness", "dementia_signs", "other"]
    return [
        concern_event(
            categories=(rng.choice(categories),),
            severity=rng.choice(("low", "medium", "high")),
            consent=rng.choice(("given", "not_asked")),
            place=rng.choice((HOLBAEK, HOENG, KALUNDBORG)),
        )
        for _ in range(count)
    ]


@dataclass(frozen=True)
class _Load:
    """The pre-encoded concerns (warm-up and measured) and how many referrals each set makes."""

    warm_up: list[tuple[bytes, bytes]]
    messages: list[tuple[bytes, bytes]]
    fan_out: dict[bytes, int]
    warm_up_referrals: int
    referrals: int

    @classmethod
    def make(cls) -> "_Load":
        rules = default_rules()
        warm_up, measured = _concerns(WARM_UP, seed=7), _concerns(CONCERNS, seed=42)
        fan_out = {e.subject.encode(): len(decide(facts_of(e.data, repeated=False), rules)) for e in warm_up + measured}
        return cls(
            warm_up=[(e.subject.encode(), encode(e)) for e in warm_up],
            messages=[(e.subject.encode(), encode(e)) for e in measured],
            fan_out=fan_out,
            warm_up_referrals=sum(fan_out[e.subject.encode()] for e in warm_up),
            referrals=sum(fan_out[e.subject.encode()] for e in measured),
        )


async def _produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(**producer_config(bootstrap, "bench"))
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _await_output(bootstrap: str, topic: str, expected: int, within: float = 240) -> None:
    """Return once `expected` committed records are on `topic` (counted, so transaction markers do not count)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await partitions_of(bootstrap, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline, seen = time.monotonic() + within, 0
        while seen < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {expected} records on {topic}")
            seen += sum(len(batch) for batch in (await consumer.getmany(timeout_ms=100)).values())
    finally:
        await consumer.stop()


async def _faust_noop(context: BenchContext, load: _Load) -> float:
    """Concerns/s through a Faust agent of the same shape that applies nothing: the framework's own ceiling."""
    prefix = f"benchfn{uuid.uuid4().hex[:6]}."
    await ensure_topics(context.kafka_bootstrap, partitions=PARTITIONS, prefix=prefix)
    settings = RoutingSettings(
        database_url="postgresql://unused/unused",
        subject_key_secret="bench-subject-key-secret-0123456789",  # noqa: S106 - not a secret
        topic_prefix=prefix,
        topic_partitions=PARTITIONS,
        kafka_bootstrap_servers=context.kafka_bootstrap,
    )
    app = make_stream_app(settings)
    app.conf.table_standby_replicas = 0
    seen, expected, all_seen = 0, len(load.warm_up), asyncio.Event()

    async def apply(events: list) -> dict:
        nonlocal seen
        seen += len(events)
        if seen >= expected:
            all_seen.set()
        return {}

    log = KafkaLog(context.kafka_bootstrap, client_id="bench-faust-noop")
    consumer = concern_consumer(settings, None, InMemoryDeadLetters(), InMemoryPositions(), log, apply=apply)
    register_agents(app, settings, None, consumer)
    try:
        async with running(app):
            for _ in range(600):  # wait for the partitions, at most a minute
                if app.consumer.assignment():
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1)
            await _produce(context.kafka_bootstrap, prefix + CONCERN_EVENTS, load.warm_up)
            await asyncio.wait_for(all_seen.wait(), 240)
            all_seen.clear()
            expected += len(load.messages)
            started = time.perf_counter()
            await _produce(context.kafka_bootstrap, prefix + CONCERN_EVENTS, load.messages)
            await asyncio.wait_for(all_seen.wait(), 240)
            return len(load.messages) / (time.perf_counter() - started)
    finally:
        await consumer.close()


async def _raw_loop(bootstrap: str, source: str, sink: str, fan_out: dict[bytes, int], stop: asyncio.Event) -> None:
    """The baseline: consume, produce one message per referral, commit after each batch's sends are acknowledged."""
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(**producer_config(bootstrap, "bench-raw"))
    await consumer.start()
    await producer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            sends = []
            for records in batches.values():
                for record in records:
                    for _ in range(fan_out.get(record.key, 1)):
                        sends.append(await producer.send(sink, record.value, key=record.key))
            await asyncio.gather(*sends)
            if batches:
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (a load-independent view of the cost per concern)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _fresh_database(admin_url: str) -> str:
    name = "bench_" + uuid.uuid4().hex[:10]
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = admin_url.rpartition("/")[0] + "/" + name
    await asyncio.to_thread(apply_migrations, "routing", url)
    return url


async def _start_worker(context: BenchContext, prefix: str, database_url: str) -> asyncio.subprocess.Process:
    port = 20000 + random.randrange(20000)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": context.kafka_bootstrap,
        "TOPIC_PREFIX": prefix,
        "TOPIC_PARTITIONS": str(PARTITIONS),
        "DATABASE_URL": database_url,
        "HTTP_PORT": str(port),
        "LAG_INTERVAL_S": "2",  # only to see the partitions assigned; more often costs the worker CPU
        "SUBJECT_KEY_SECRET": "bench-subject-key-secret-0123456789",
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "services.routing", env=env, cwd=ROOT)
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        while time.monotonic() < deadline:
            try:
                metrics = (await http.get("/metrics")).text
                if metrics.count("routing_consumer_lag{") == PARTITIONS:  # all partitions assigned
                    return process
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    process.kill()
    raise TimeoutError("routing worker did not start")


async def _timed(bootstrap: str, prefix: str, load: "_Load") -> float:
    """Send the warm-up and wait for its referrals; then concerns/s from the first send to the last referral."""
    await _produce(bootstrap, prefix + CONCERN_EVENTS, load.warm_up)
    await _await_output(bootstrap, prefix + REFERRAL_EVENTS, load.warm_up_referrals)
    started = time.perf_counter()
    await _produce(bootstrap, prefix + CONCERN_EVENTS, load.messages)
    await _await_output(bootstrap, prefix + REFERRAL_EVENTS, load.warm_up_referrals + load.referrals)
    return len(load.messages) / (time.perf_counter() - started)


async def _baseline(context: BenchContext, load: "_Load") -> float:
    """Concerns/s through the raw loop, on fresh topics."""
    prefix = f"benchraw{uuid.uuid4().hex[:6]}."
    await ensure_topics(context.kafka_bootstrap, partitions=PARTITIONS, prefix=prefix)
    stop = asyncio.Event()
    loop = asyncio.create_task(
        _raw_loop(context.kafka_bootstrap, prefix + CONCERN_EVENTS, prefix + REFERRAL_EVENTS, load.fan_out, stop)
    )
    await asyncio.sleep(3)  # let the raw consumer join its group
    measured = await _timed(context.kafka_bootstrap, prefix, load)
    stop.set()
    await loop
    return measured


@dataclass(frozen=True)
class _Round:
    """One measurement of the worker beside the raw loop measured just before and just after it."""

    routed: float
    raw_before: float
    raw_after: float
    cpu_us: float
    peak_mb: float

    @property
    def ratio(self) -> float:
        return self.routed / ((self.raw_before + self.raw_after) / 2)


async def _round(context: BenchContext, load: _Load, raw_before: float) -> _Round:
    """A fresh worker (fresh topics and database) routes the load; then the raw loop again."""
    prefix = f"benchrt{uuid.uuid4().hex[:6]}."
    await ensure_topics(context.kafka_bootstrap, partitions=PARTITIONS, prefix=prefix)
    await publish_owner_directory(context.kafka_bootstrap, prefix)  # what intake does at start
    worker = await _start_worker(context, prefix, await _fresh_database(context.admin_database_url))
    try:
        cpu_before = _cpu_s(worker.pid)
        routed = await _timed(context.kafka_bootstrap, prefix, load)
        # CPU over the warm-up and the timed concerns, per concern (the clock only times the latter).
        cpu_us = (_cpu_s(worker.pid) - cpu_before) / (len(load.messages) + len(load.warm_up)) * 1e6
        peak_mb = _peak_rss_mb(worker.pid)
    finally:
        worker.terminate()
        await asyncio.wait_for(worker.wait(), 30)
    return _Round(routed, raw_before, await _baseline(context, load), cpu_us, peak_mb)


async def run(context: BenchContext) -> list[BenchResult]:
    """Measure the routing worker and the raw loop on the same pre-encoded concerns, in ROUNDS rounds.

    The machine's load drifts: each round compares the worker with the raw loop measured just before and just
    after it (the mean of the two), and the round with the median ratio is reported; every round is in the
    details."""
    load = _Load.make()
    faust_ceiling = await _faust_noop(context, load)
    rounds: list[_Round] = []
    raw = await _baseline(context, load)
    for _ in range(ROUNDS):
        rounds.append(await _round(context, load, raw))
        raw = rounds[-1].raw_after
    median = sorted(rounds, key=lambda r: r.ratio)[len(rounds) // 2]
    return [
        BenchResult(
            benchmark="routing",
            metric="concerns routed/s",
            unit="concerns/s",
            value=median.routed,
            baseline="raw aiokafka consume-and-produce loop, same messages and fan-out (before + after)",
            baseline_value=(median.raw_before + median.raw_after) / 2,
            target_ratio=0.5,
            details={
                "concerns": CONCERNS,
                "referrals": load.referrals,
                "warm_up_concerns": WARM_UP,
                "partitions": PARTITIONS,
                "rounds": ROUNDS,
                "round_ratios": ", ".join(f"{r.ratio:.2f}" for r in rounds),
                "round_routed_per_s": ", ".join(f"{r.routed:.0f}" for r in rounds),
                "round_raw_per_s": ", ".join(f"{r.raw_before:.0f}/{r.raw_after:.0f}" for r in rounds),
                "worker_peak_rss_mb": round(max(r.peak_mb for r in rounds), 1),
                "worker_cpu_us_per_concern": round(median.cpu_us),
                "faust_noop_concerns_per_s": round(faust_ceiling, 1),
            },
        ),
        BenchResult(
            benchmark="routing",
            metric="concerns routed/s vs the Faust ceiling",
            unit="concerns/s",
            value=median.routed,
            baseline="Faust agent of the same shape applying nothing (decode only)",
            baseline_value=faust_ceiling,
            details={"worker_peak_rss_mb": round(max(r.peak_mb for r in rounds), 1)},
        ),
    ]

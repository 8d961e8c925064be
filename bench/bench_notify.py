"""Notify: webhook deliveries/s and Kafka-to-webhook p99, against bare httpx / a bare Kafka-to-HTTP forwarder.

Notify runs as its own process with its default settings, on a fresh database and prefixed topics; the
receiver is a minimal ASGI app in another process that only counts, so neither side pays for
verification. Baselines run in the same run against the same receiver:
- throughput: a bare httpx POST loop (one request after the other; the issue's target, ratio >= 0.5),
  and the same loop run 4 times concurrently, as many requests in flight as notify allows per
  subscription (for information: what notify's durability costs at equal concurrency);
- latency: a bare aiokafka consumer that POSTs each record to the receiver as it arrives.
Notify's figure covers everything between Kafka and the receiver: consuming, fan-out into the database,
claiming, signing, POSTing, recording the outcome and publishing notification events. Notify is warmed
up first (a few events across all partitions); the throughput is measured in paired rounds (baseline,
notify, baseline) and the round with the median ratio is reported.
"""

import asyncio
import base64
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.harness import BenchContext, BenchResult
from shared.auth.admin import new_client, publish_record
from shared.auth.principal import Role
from shared.contracts.envelope import encode, make_event
from shared.contracts.referrals import ReferralCreated
from shared.contracts.topics import REFERRAL_EVENTS
from shared.db.migrate import apply_migrations
from shared.kafka.admin import ensure_topics
from shared.kafka.config import producer_config
from tests.support.reference import publish_owner_directory

ROOT = Path(__file__).resolve().parents[1]
THROUGHPUT_EVENTS = 2_000
WARM_EVENTS = 24
ROUNDS = 3  # paired throughput rounds; the median is reported
LATENCY_RATE = 40  # events/s
LATENCY_SECONDS = 6
PER_SUBSCRIPTION = 4  # notify's default per_target_concurrency


# ---- the receiver (its own process): counts webhooks and how late they arrive ---------------------

_received: list[tuple[float, float]] = []  # (arrived at, seconds since the event's time)


async def receiver_app(scope, receive, send) -> None:  # noqa: ANN001 - a bare ASGI app
    """POST: note arrival and lateness; GET /stats: the counts; POST /reset: start over."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    now = time.time()
    answer = b"{}"
    if scope["path"] == "/stats":
        lateness = sorted(late for _, late in _received)
        answer = json.dumps(
            {"count": len(_received), "last_at": max((a for a, _ in _received), default=0), "lateness": lateness}
        ).encode()
    elif scope["path"] == "/reset":
        _received.clear()
    else:
        sent = datetime.fromisoformat(json.loads(body)["timestamp"]).timestamp()
        _received.append((now, now - sent))
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": answer})


# ---- helpers ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str], ready_url: str):  # noqa: ANN202
    log = (ROOT / ".local" / "bench-notify.log").open("ab")
    process = subprocess.Popen(args, env={**os.environ, **env}, stdout=log, stderr=log, cwd=ROOT)  # noqa: S603
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{args} exited; see .local/bench-notify.log")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{args} not ready; see .local/bench-notify.log")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def _event(i: int, now: datetime):  # noqa: ANN202
    data = ReferralCreated(
        referral_id=str(uuid.uuid4()),
        concern_id=str(uuid.uuid4()),
        subject_key=f"sk_bench{i % 200:06d}",
        target="municipality",
        recipient_id="municipality-0316",
        organisation_id="org-demo",
        department_id="holbaek-1",
        municipality_code="0316",
        categories=("rent_arrears",),
        severity="medium",
        urgent=False,
        repeated=False,
        legal_basis="statutory_duty",
        disclosure="full",
        task="act",
        rules_version=1,
        rule_id="bench",
        ack_due_at=now + timedelta(days=3),
        created_at=now,
    )
    return make_event(data, source="/services/routing", subject=data.subject_key, time=now)


async def _stats(http: httpx.AsyncClient, receiver: str) -> dict:
    return (await http.get(receiver + "/stats")).json()


async def _wait_count(http: httpx.AsyncClient, receiver: str, count: int, within: float = 120) -> dict:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        stats = await _stats(http, receiver)
        if stats["count"] >= count:
            return stats
        await asyncio.sleep(0.05)
    raise RuntimeError(f"only {stats['count']} of {count} webhooks arrived")


def _p99(values: list[float]) -> float:
    return values[min(len(values) - 1, int(len(values) * 0.99))] if values else 0.0


@contextlib.asynccontextmanager
async def _database(admin_url: str) -> AsyncIterator[str]:
    name = "bench_notify_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = admin_url.rpartition("/")[0] + "/" + name
        await asyncio.to_thread(apply_migrations, "notify", url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# ---- the measurements ------------------------------------------------------------------------------


async def _baseline_throughput(http: httpx.AsyncClient, receiver: str, body: bytes, loops: int) -> float:
    """Deliveries/s of `loops` bare POST loops running side by side."""
    await http.post(receiver + "/reset")
    per_loop = THROUGHPUT_EVENTS // loops
    headers = {"content-type": "application/json"}

    async def loop() -> None:
        for _ in range(per_loop):
            await http.post(receiver + "/webhooks", content=body, headers=headers)

    started = time.time()
    await asyncio.gather(*(loop() for _ in range(loops)))
    return per_loop * loops / (time.time() - started)


async def _notify_throughput(http: httpx.AsyncClient, receiver: str, producer: AIOKafkaProducer, topic: str) -> float:
    """Deliveries/s of notify: from publishing THROUGHPUT_EVENTS events to the last webhook received."""
    await http.post(receiver + "/reset")
    now = datetime.now(UTC)
    events = [_event(i, now) for i in range(THROUGHPUT_EVENTS)]
    started = time.time()
    sends = [await producer.send(topic, encode(e), key=e.subject.encode()) for e in events]
    await asyncio.gather(*sends)
    stats = await _wait_count(http, receiver, THROUGHPUT_EVENTS)
    return THROUGHPUT_EVENTS / (stats["last_at"] - started)


async def _forwarder_lateness(
    bootstrap: str, topic: str, producer: AIOKafkaProducer, http: httpx.AsyncClient, receiver: str
) -> list[float]:
    """p99 input: a bare consumer that POSTs each record to the receiver as it arrives."""
    await http.post(receiver + "/reset")
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"bench-{uuid.uuid4().hex[:6]}", auto_offset_reset="latest"
    )
    await consumer.start()
    await asyncio.sleep(2)  # let the group settle before we publish
    total = LATENCY_RATE * LATENCY_SECONDS

    async def forward() -> None:
        async for record in consumer:
            event = json.loads(record.value)
            body = json.dumps({"type": event["type"], "timestamp": event["time"], "data": event["data"]})
            await http.post(receiver + "/webhooks", content=body)

    task = asyncio.create_task(forward())
    try:
        await _publish_steadily(producer, topic, total)
        stats = await _wait_count(http, receiver, total)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()
    return stats["lateness"]


async def _publish_steadily(producer: AIOKafkaProducer, topic: str, total: int) -> None:
    for i in range(total):
        event = _event(i, datetime.now(UTC))
        await producer.send(topic, encode(event), key=event.subject.encode())
        await asyncio.sleep(1 / LATENCY_RATE)


async def run(context: BenchContext) -> list[BenchResult]:
    """Start a receiver and notify, measure notify and the baselines against the same receiver."""
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    await ensure_topics(context.kafka_bootstrap, partitions=6, prefix=prefix)
    await publish_owner_directory(context.kafka_bootstrap, prefix)  # what intake does at start
    topic = prefix + REFERRAL_EVENTS
    municipality = new_client(name="bench municipality", role=Role.MUNICIPALITY, municipality_code="0316")
    await publish_record(context.kafka_bootstrap, municipality.record, topic_prefix=prefix)
    receiver_port, notify_port = _free_port(), _free_port()
    receiver = f"http://127.0.0.1:{receiver_port}"
    uvicorn = [sys.executable, "-m", "uvicorn", "bench.bench_notify:receiver_app", "--port", str(receiver_port)]
    async with _database(context.admin_database_url) as database_url:
        env = {
            "SERVICE_NAME": "notify",
            "HTTP_PORT": str(notify_port),
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": context.kafka_bootstrap,
            "TOPIC_PREFIX": prefix,
            "SUBJECT_KEY_SECRET": secrets.token_urlsafe(24),
            "MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "LOCAL_DEV": "true",
            "LOG_LEVEL": "WARNING",
        }
        with (
            _process([*uvicorn, "--log-level", "warning", "--no-access-log"], {}, receiver + "/stats"),
            _process([sys.executable, "-m", "services.notify"], env, f"http://127.0.0.1:{notify_port}/readyz"),
        ):
            async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as http:
                token = {"Authorization": f"Bearer {municipality.token}"}
                answer = await http.post(
                    f"http://127.0.0.1:{notify_port}/v1/subscriptions",
                    json={"url": receiver + "/webhooks", "event_types": ["referral.created.v1"]},
                    headers=token,
                )
                answer.raise_for_status()
                producer = AIOKafkaProducer(**producer_config(context.kafka_bootstrap, "bench"))
                await producer.start()
                try:
                    # Warm up notify (connections, prepared statements, a fetch from every partition) and the
                    # receiver, so the measurement starts from a running service, as the baseline's loop does.
                    warm = [_event(i, datetime.now(UTC)) for i in range(WARM_EVENTS)]
                    await asyncio.gather(*[await producer.send(topic, encode(e), key=e.subject.encode()) for e in warm])
                    await _wait_count(http, receiver, WARM_EVENTS)
                    body = json.dumps(
                        {
                            "type": "referral.created.v1",
                            "timestamp": datetime.now(UTC).isoformat(),
                            "data": json.loads(encode(_event(1, datetime.now(UTC))))["data"],
                        }
                    ).encode()
                    # Paired rounds: a baseline before and after each notify run, so drift favours neither
                    # side; the round with the median ratio is reported, so one load spike on a shared machine
                    # (in either direction) decides nothing.
                    rounds = []
                    for _ in range(ROUNDS):
                        before = [await _baseline_throughput(http, receiver, body, n) for n in (1, PER_SUBSCRIPTION)]
                        measured = await _notify_throughput(http, receiver, producer, topic)
                        after = [await _baseline_throughput(http, receiver, body, n) for n in (1, PER_SUBSCRIPTION)]
                        rounds.append((measured / ((before[0] + after[0]) / 2), measured, before, after))
                    rounds.sort(key=lambda r: r[0])
                    _, measured, before, after = rounds[len(rounds) // 2]

                    await http.post(receiver + "/reset")
                    await _publish_steadily(producer, topic, LATENCY_RATE * LATENCY_SECONDS)
                    notify_lateness = (await _wait_count(http, receiver, LATENCY_RATE * LATENCY_SECONDS))["lateness"]
                finally:
                    await producer.stop()
        # The forwarder baseline runs with notify stopped, so the two never compete for the cores.
        async with httpx.AsyncClient(timeout=30) as http:
            with _process([*uvicorn, "--log-level", "warning", "--no-access-log"], {}, receiver + "/stats"):
                producer = AIOKafkaProducer(**producer_config(context.kafka_bootstrap, "bench"))
                await producer.start()
                try:
                    forwarder_lateness = await _forwarder_lateness(
                        context.kafka_bootstrap, topic, producer, http, receiver
                    )
                finally:
                    await producer.stop()
    return [
        BenchResult(
            benchmark="notify",
            metric="webhook deliveries/s",
            unit="deliveries/s",
            value=measured,
            baseline="bare httpx POST loop, same receiver",
            baseline_value=(before[0] + after[0]) / 2,
            target_ratio=0.5,
            details={
                "events": THROUGHPUT_EVENTS,
                "in_flight_per_subscription": PER_SUBSCRIPTION,
                "includes": "Kafka consume, fan-out, queue, signing, outcome events",
                "rounds": ROUNDS,
                "round_ratios": ", ".join(f"{r[0]:.2f}" for r in rounds),
            },
        ),
        BenchResult(
            benchmark="notify",
            metric="webhook deliveries/s, equal concurrency",
            unit="deliveries/s",
            value=measured,
            baseline=f"{PER_SUBSCRIPTION} bare httpx POST loops side by side, same receiver",
            baseline_value=(before[1] + after[1]) / 2,
            details={
                "events": THROUGHPUT_EVENTS,
                "in_flight_per_subscription": PER_SUBSCRIPTION,
                "includes": "Kafka consume, fan-out, queue, signing, outcome events",
            },
        ),
        BenchResult(
            benchmark="notify",
            metric="p99 referral.created on Kafka to webhook received",
            unit="ms",
            value=_p99(notify_lateness) * 1000,
            baseline="bare aiokafka consumer POSTing each record",
            baseline_value=_p99(forwarder_lateness) * 1000,
            higher_is_better=False,
            details={
                "events": LATENCY_RATE * LATENCY_SECONDS,
                "rate_per_s": LATENCY_RATE,
                "p50_ms": round(notify_lateness[len(notify_lateness) // 2] * 1000, 1),
            },
        ),
    ]

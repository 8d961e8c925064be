"""Faults during a sustained load of 200 concerns/s for 60 s, each checked afterwards against the ground truth:
every concern answered 201 has its referrals exactly once, every municipality webhook was delivered at least
once and processed once by id, and the statistics are exact.

The whole platform runs as processes on this test's own topics and databases; the faults are real: SIGKILL of
a service or of the Kafka broker, PostgreSQL stopped, the webhook receivers' processes killed.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from shared.kafka.config import client_config
from tests.support.load import LoadResult, open_loop
from tests.support.platform import Platform, assert_ground_truth, report, running_platform
from tests.support.polling import eventually
from tests.support.services import ARTIFACTS, ROOT

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(1200)]
RATE = 200.0  # concerns/s offered
DURATION_S = 60.0
REPORT = ARTIFACTS.parent / "chaos.json"


def stack_ctl(*args: str) -> str:
    """supervisorctl of the test stack (the one whose Kafka and PostgreSQL the tests use)."""
    home = os.environ.get("STACK_HOME")
    assert home, "STACK_HOME is not set: run the chaos tier against a stack (`make test` does)"
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "deploy.stack", "ctl", "--home", home, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return done.stdout.strip()


def record(name: str, load: LoadResult, checked: dict, **extra: object) -> None:
    """Keep the figures of each fault run in test-artifacts/chaos.json (the rates are reported, not asserted)."""
    runs = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    runs[name] = {
        "offered_per_s": round(load.offered_rate, 1),
        "accepted_per_s": round(load.accepted_rate, 1),
        "answers": {str(k): v for k, v in load.answers.items()},
        **checked,
        **extra,
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(runs, indent=2) + "\n")
    print(f"{name}: {runs[name]}")


async def under_load(
    platform: Platform, fault: Callable[[], Awaitable[None]], seed: int, duration_s: float = DURATION_S
) -> LoadResult:
    """Offer RATE concerns/s for `duration_s` while `fault` runs beside the load."""
    load = asyncio.create_task(
        open_loop(
            platform.processes["intake"].url + "/v1/concerns",
            platform.reporter_token,
            lambda n: report(n, seed),
            rate=RATE,
            duration_s=duration_s,
        )
    )
    await fault()
    assert not load.done(), "the fault outlasted the load: it did not happen under load"
    return await load


def assert_answered(load: LoadResult, statuses: set[int], lost_at_most: float = 0.01) -> None:
    """Only the given statuses were answered. A few requests may lose their answer without the service being
    at fault (a client timeout on an overloaded machine, a kept-alive connection closed as it was reused);
    the ground truth allows for each of those having been stored or not, but they must stay rare."""
    assert {a for a in load.answers if isinstance(a, int)} <= statuses, load.answers
    assert len(load.unanswered) <= lost_at_most * load.sent, load.answers


async def at(started: float, second: float) -> None:
    """Sleep until `second` seconds after `started`."""
    await asyncio.sleep(max(0.0, started + second - time.monotonic()))


@pytest.fixture
async def platform(fresh_database, service_env, issue_client, kafka_bootstrap, topic_prefix, tmp_path: Path):
    async with running_platform(
        fresh_database=fresh_database,
        service_env=service_env,
        issue_client=issue_client,
        bootstrap=kafka_bootstrap,
        prefix=topic_prefix,
        tmp_path=tmp_path,
    ) as running:
        yield running


async def test_each_service_sigkilled_in_turn_loses_and_doubles_nothing(platform: Platform) -> None:
    started = time.monotonic()

    restarts: list[asyncio.Task] = []

    async def fault() -> None:
        for second, service in ((6, "intake"), (18, "routing"), (30, "notify"), (42, "stats")):
            await at(started, second)
            restarts.append(platform.kill_and_restart(service))

    load = await under_load(platform, fault, seed=1)
    await asyncio.gather(*restarts)
    # While intake was down its port refused connections; those reporters got no 201 and must retry.
    # Requests in flight when it died lost their answer (the ground truth allows for them having been stored).
    lost = {"ClientConnectorError", "ServerDisconnectedError", "ClientOSError", "TimeoutError"}
    assert set(load.answers) <= {201} | lost
    record("sigkill each service", load, await assert_ground_truth(platform, load))


async def ensure_topic(bootstrap: str, topic: str) -> None:
    """A one-partition topic for the broker check."""
    admin = AIOKafkaAdminClient(**client_config(bootstrap))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()


async def broker_usable(bootstrap: str, topic: str) -> bool:
    """The broker answers metadata and takes a write again (after an unclean stop it first recovers its logs)."""
    producer = AIOKafkaProducer(**client_config(bootstrap), request_timeout_ms=5000)
    try:
        await producer.start()
        await producer.send_and_wait(topic, b"ping")
        return True
    except KafkaError:
        return False
    finally:
        await producer.stop()


async def test_kafka_broker_sigkilled_and_restarted(platform: Platform) -> None:
    check_topic = platform.prefix + "chaos-broker-check"
    await ensure_topic(platform.bootstrap, check_topic)
    started = time.monotonic()
    killed_at: list[float] = []

    async def fault() -> None:
        await at(started, 15)
        os.kill(int(stack_ctl("pid", "kafka")), signal.SIGKILL)  # supervisord starts it again, as in production
        killed_at.append(time.monotonic())

    try:
        load = await under_load(platform, fault, seed=2)
    finally:
        await eventually(
            lambda: broker_usable(platform.bootstrap, check_topic), within=300, what="the broker usable again"
        )
    back_after = time.monotonic() - killed_at[0]
    # Intake writes to PostgreSQL (its outbox), not to Kafka: reporters keep getting 201 while the broker is away.
    assert_answered(load, {201})
    record("sigkill kafka", load, await assert_ground_truth(platform, load), broker_usable_after_s=round(back_after))


async def test_postgres_stopped_for_20_s_answers_503_with_retry_after_and_loses_nothing(platform: Platform) -> None:
    started = time.monotonic()

    async def fault() -> None:
        await at(started, 15)
        stack_ctl("stop", "postgres")
        await asyncio.sleep(20)
        stack_ctl("start", "postgres")

    load = await under_load(platform, fault, seed=3)
    assert load.answers[503] > 0, "no 503 while PostgreSQL was stopped: the fault did not reach intake"
    assert load.unavailable_without_retry_after == 0
    # Never a 201 without a durable write: the ground truth below finds each 201 concern in concern-events,
    # which only the outbox (committed with the concern) feeds. Nothing but 201 and 503 was answered.
    # Bursts of 503 close kept-alive connections as the client reuses them (up to ~1% of all requests seen).
    assert_answered(load, {201, 503}, lost_at_most=0.05)
    record("postgres stopped 20 s", load, await assert_ground_truth(platform, load))


async def test_webhook_receivers_down_for_a_minute_get_everything_once_afterwards(platform: Platform) -> None:
    started = time.monotonic()
    during: dict[str, int] = {}
    restarts: list[asyncio.Task] = []

    async def fault() -> None:
        await at(started, 1)
        for receiver in platform.receivers.values():
            receiver.kill()
        await at(started, 61)  # a full minute down, and the load (65 s) still running when they come back
        during.update({code: len(r.processed()[1]) for code, r in platform.receivers.items()})
        restarts.extend(asyncio.create_task(asyncio.to_thread(r.start)) for r in platform.receivers.values())

    load = await under_load(platform, fault, seed=4, duration_s=DURATION_S + 5)
    await asyncio.gather(*restarts)
    assert_answered(load, {201})
    checked = await assert_ground_truth(platform, load)
    # Most webhooks fell in the minute the receivers were down; they arrived afterwards.
    assert sum(during.values()) < checked["webhooks"] / 2
    record("webhook receivers down 1 min", load, checked, processed_before_restart=during)

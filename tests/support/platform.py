"""The whole platform as processes for load and fault tests: four services, webhook receivers, an SMTP sink,
and the ground truth every run is checked against afterwards."""

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from aiosmtpd.controller import Controller

from services.routing.domain.routing import decide
from services.routing.handlers.concerns import facts_of
from shared.contracts.topics import CONCERN_EVENTS, NOTIFICATION_EVENTS, REFERRAL_EVENTS
from shared.subject_key import subject_key
from tests.support.intake_harness import concern_body
from tests.support.load import LoadResult
from tests.support.polling import eventually
from tests.support.reference import default_rules
from tests.support.routing_events import read_committed
from tests.support.services import ARTIFACTS, ROOT, ServiceProcess, free_port

SERVICES = ("intake", "routing", "notify", "stats")
WORKERS = ("routing", "notify", "stats")
WORKER_NICENESS = 10
"""One 2-core machine stands in for separate nodes: the HTTP edge (intake, PostgreSQL, Kafka) must keep up with
the reporters, while the workers may lag and catch up from Kafka; they run at a lower CPU priority so that a
backlog of theirs cannot starve the edge, as it could not on nodes of their own."""
DEPARTMENTS = {"holbaek-1": "0316", "holbaek-2": "0316", "hoeng-1": "0326"}
CATEGORIES = ["rent_arrears", "eviction_risk", "mental_health", "hoarding", "noise", "loneliness", "substance_abuse"]


def report(n: int, seed: int = 0) -> dict:
    """The n-th concern of a run: a distinct tenancy (no repeats), varied department, category, severity, consent."""
    rng = random.Random(seed * 1_000_003 + n)
    return concern_body(
        department_id=rng.choice(list(DEPARTMENTS)),
        tenancy_id=f"ld-{uuid.uuid4().hex[:12]}",
        categories=rng.sample(CATEGORIES, rng.choice((1, 2))),
        severity=rng.choice(("low", "medium", "high", "acute")),
        consent=rng.choice(("given", "refused", "not_asked")),
    )


class _Sink:
    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook
        return "250 OK"


@contextlib.contextmanager
def smtp_sink() -> Iterator[int]:
    """A real SMTP server that accepts every message (the consultants' e-mails), on a free port."""
    controller = Controller(_Sink(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


class ReceiverProcess:
    """The example webhook receiver as its own process on a fixed port: it can be taken down and brought back."""

    def __init__(self, name: str, database: Path):
        self.name = name
        self.database = database
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secret = ""
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, within: float = 30.0) -> None:
        """Start (again) on the same port, with the same inbox; wait until it answers."""
        log = (ARTIFACTS / f"receiver-{self.name}-{self.port}.log").open("ab")
        env = {**os.environ, "WEBHOOK_SECRET": self.secret, "WEBHOOK_DATABASE": str(self.database)}
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter
            [sys.executable, "-m", "uvicorn", "examples.webhook_receiver.app:app", "--port", str(self.port)],
            env=env,
            stdout=log,
            stderr=log,
            cwd=ROOT,
        )
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"webhook receiver {self.name} did not start")

    def kill(self) -> None:
        """Down hard: connections are refused until start() again."""
        if self._process and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(10)

    def processed(self) -> tuple[Counter, set[str]]:
        """Referral event ids processed (how often each) and the webhook-ids processed."""
        if not self.database.exists():
            return Counter(), set()
        with sqlite3.connect(self.database, timeout=30) as conn:
            effects = Counter(row[0] for row in conn.execute("SELECT event_id FROM referral_events"))
            webhook_ids = {row[0] for row in conn.execute("SELECT webhook_id FROM processed_webhooks")}
        return effects, webhook_ids


def _start(process: ServiceProcess) -> None:
    process.start(ready_within=180)
    if process.name in WORKERS:
        psutil.Process(process.pid).nice(WORKER_NICENESS)


@dataclass
class Platform:
    """Everything of one run: processes, receivers per municipality, tokens and clients."""

    processes: dict[str, ServiceProcess]
    receivers: dict[str, ReceiverProcess]
    reporter_token: str
    ops_token: str
    bootstrap: str
    prefix: str
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def kill_and_restart(self, service: str) -> asyncio.Task:
        """SIGKILL one service now and start it again on the same port (as its supervisor would); the task
        ends when the new process is ready."""
        old = self.processes[service]
        old.kill()
        fresh = ServiceProcess(service, {k: v for k, v in old.env.items() if k != "HTTP_PORT"}, port=old.port)
        self.processes[service] = fresh
        return asyncio.create_task(asyncio.to_thread(_start, fresh))


def environments(service_env: dict, databases: dict[str, str], smtp_port: int, state_dir: Path) -> dict[str, dict]:
    """Per service: its database and the settings that keep a fault test short (fast retries, short sessions)."""
    base = {**service_env, "STATE_DIR": str(state_dir)}
    return {
        "intake": base | {"DATABASE_URL": databases["intake"]},
        "routing": base | {"DATABASE_URL": databases["routing"], "LAG_INTERVAL_S": "1"},
        "notify": base
        | {
            "DATABASE_URL": databases["notify"],
            "SMTP_PORT": str(smtp_port),
            "DELIVERY_LEASE_S": "10",
            "DELIVERY_POLL_S": "0.2",
            "RETRY_BASE_S": "0.5",
            "RETRY_MAX_DELAY_S": "5",
        },
        "stats": base | {"DATABASE_URL": databases["stats"], "BROKER_SESSION_TIMEOUT": "10"},
    }


@contextlib.asynccontextmanager
async def running_platform(
    *, fresh_database, service_env: dict, issue_client, bootstrap: str, prefix: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    """Start the four services, a receiver per municipality subscribed to referral.created.v1, and an SMTP sink."""
    from shared.auth.principal import Role

    reporter = await issue_client(Role.REPORTER, organisation_id="org-demo")
    ops = await issue_client(Role.OPS)
    municipalities = {code: await issue_client(Role.MUNICIPALITY, municipality_code=code) for code in ("0316", "0326")}
    async with contextlib.AsyncExitStack() as stack:
        databases = {s: await stack.enter_async_context(fresh_database(s)) for s in SERVICES}
        smtp_port = stack.enter_context(smtp_sink())
        envs = environments(service_env, databases, smtp_port, tmp_path / "state")
        processes = {s: ServiceProcess(s, envs[s]) for s in SERVICES}
        platform = Platform(processes, {}, reporter.token, ops.token, bootstrap, prefix)
        stack.callback(lambda: [p.stop() for p in platform.processes.values()])
        await asyncio.gather(*(asyncio.to_thread(_start, p) for p in processes.values()))
        notify = await stack.enter_async_context(httpx.AsyncClient(base_url=processes["notify"].url, timeout=30))
        for code, client in municipalities.items():
            receiver = ReceiverProcess(code, tmp_path / f"receiver-{code}.sqlite3")
            headers = {"Authorization": f"Bearer {client.token}"}

            async def known(headers: dict = headers) -> bool:
                return (await notify.get("/v1/whoami", headers=headers)).status_code == 200

            await eventually(known, within=60, what=f"notify knowing municipality {code}")
            answer = await notify.post(
                "/v1/subscriptions",
                json={"url": receiver.url + "/webhooks", "event_types": ["referral.created.v1"]},
                headers=headers,
            )
            assert answer.status_code == 201, answer.text
            receiver.secret = answer.json()["secret"]
            await asyncio.to_thread(receiver.start)
            stack.callback(receiver.kill)
            platform.receivers[code] = receiver
        yield platform


async def stats_overview(platform: Platform) -> dict:
    """What the stats service says, in the shape of the ground truth."""
    async with httpx.AsyncClient(base_url=platform.processes["stats"].url, timeout=30) as http:
        answer = await http.get("/v1/stats/overview", headers={"Authorization": f"Bearer {platform.ops_token}"})
    body = answer.json()
    channels = {row["channel"]: row["delivered"] for row in body["notifications"] or []}
    return {
        "concerns": body["concerns"]["total"],
        "by_department": Counter({r["department_id"]: r["concerns"] for r in body["concerns"]["by_department"]}),
        "categories": Counter({r["category"]: r["concerns"] for r in body["categories"]}),
        "referrals": Counter(
            {(r["target"], r["status"]): r["referrals"] for r in body["referrals"]["by_target_and_status"]}
        ),
        "webhooks": channels.get("webhook", 0),
    }


async def assert_ground_truth(platform: Platform, load: LoadResult, *, within: float = 600) -> dict:
    """Every concern answered 201 has its referrals exactly once, every municipality webhook was delivered and
    processed once by id, and the statistics are exact. Returns the counts checked.

    A concern whose answer was lost (the client timed out or the connection dropped) may have been stored: it
    must then be one of those sent without an answer, and it counts like any other.
    """
    accepted = load.accepted
    events = await read_committed(platform.bootstrap, platform.prefix + CONCERN_EVENTS, expected=len(accepted))
    reported = {e.data.concern_id: e.data for e in events if e.type == "concern.reported.v1"}
    missing = set(accepted) - set(reported)
    assert not missing, f"{len(missing)} concerns answered 201 were never published"
    secret = platform.processes["intake"].env["SUBJECT_KEY_SECRET"]
    unanswered = {_subject_key(secret, body) for body in load.unanswered}
    unexplained = [c for c in set(reported) - set(accepted) if reported[c].subject_key not in unanswered]
    assert not unexplained, f"{len(unexplained)} concerns published that were neither answered 201 nor unanswered"
    rules = default_rules()
    expected = Counter({c: len(decide(facts_of(data, repeated=False), rules)) for c, data in reported.items()})
    events = await read_committed(
        platform.bootstrap, platform.prefix + REFERRAL_EVENTS, expected=sum(expected.values()), within=within
    )
    created = [e for e in events if e.type == "referral.created.v1"]
    twice = [i for i, n in Counter(e.data.referral_id for e in created).items() if n > 1]
    assert not twice, f"{len(twice)} referrals published twice, e.g. {twice[:3]}"
    assert Counter(e.data.concern_id for e in created) == expected

    processed: set[str] = set()
    for code, receiver in platform.receivers.items():
        wanted = {e.id for e in created if e.data.target == "municipality" and e.data.municipality_code == code}
        assert wanted, f"no referral for municipality {code}: the webhook check proves nothing"

        async def all_arrived(receiver: ReceiverProcess = receiver, wanted: set = wanted) -> bool:
            return set(receiver.processed()[0]) == wanted

        await eventually(all_arrived, within=within, what=f"every webhook to municipality {code}")
        effects, webhook_ids = receiver.processed()
        assert set(effects.values()) == {1}, "a webhook was processed more than once"
        assert len(webhook_ids) == len(wanted)
        processed |= webhook_ids

    webhooks = sum(1 for e in created if e.data.target == "municipality")
    truth = {
        "concerns": len(reported),
        "by_department": Counter(data.department_id for data in reported.values()),
        "categories": Counter(c for data in reported.values() for c in data.categories),
        "referrals": Counter((e.data.target, "requested") for e in created),
        "webhooks": webhooks,
    }

    async def exact() -> bool:
        return await stats_overview(platform) == truth

    try:
        await eventually(exact, within=within, what="stats equal to the ground truth")
    except AssertionError:
        assert await stats_overview(platform) == truth  # shows the difference
    outcomes = await read_committed(platform.bootstrap, platform.prefix + NOTIFICATION_EVENTS, expected=webhooks)
    delivered = {
        e.data.delivery_id for e in outcomes if e.type == "notification.delivered.v1" and e.data.channel == "webhook"
    }
    assert delivered == processed, "notify's delivered events differ from what the receivers processed"
    return {
        "concerns_answered_201": len(accepted),
        "concerns_stored_answer_lost": len(reported) - len(accepted),
        "referrals": len(created),
        "webhooks": webhooks,
    }


def _subject_key(secret: str, body: dict) -> str:
    return subject_key(secret, "org-demo", tenancy_id=body.get("tenancy_id"), department_id=body["department_id"])

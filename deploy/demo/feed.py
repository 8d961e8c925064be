"""`python -m deploy.demo.feed`: a living system on first start (`make demo`).

Reports fictional concerns through intake's real API and through the concern-inbound topic in both demo
housing systems' formats, waits for routing's referrals, lets the recipients answer some of them, and
then moves the demo clocks a few working days on (routing's LOCAL_DEV-only demo clock), so the unanswered
referrals are reminded and escalated, and the dashboard, the e-mails, the feed and Grafana have something
true to show. Every person in it is made up.
"""

import asyncio
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.progress import Progress

from deploy.demo.cases import concern_body, inbound_payload
from deploy.services import read_credentials
from shared.contracts.inbound import InboundConcern, encode_inbound
from shared.contracts.topics import CONCERN_INBOUND
from shared.demo_clock import DemoClockRefused, LocalStack, advance, new_mails, summary
from shared.kafka.config import producer_config, security_config
from shared.kafka.security import housing_principal

app = typer.Typer(add_completion=False, help=__doc__)
console = Console()
RATE_LIMITED_TRIES = 30
"""How often one call is tried again after a 429 before its answer is the 429."""
OUTCOMES = (
    ("support_established", 5),
    ("eviction_avoided", 2),
    ("dwelling_restored", 2),
    ("resident_declined_help", 1),
    ("could_not_contact", 1),
    ("no_action_needed", 1),
)


def _environment(home: Path) -> dict[str, str]:
    """KEY=VALUE lines of the stack's stack.env."""
    lines = (home / "stack.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


class Demo:
    """The demo clients of a running stack, and the calls the demo makes with them."""

    def __init__(self, home: Path, http: httpx.AsyncClient):
        self.env = _environment(home)
        self.clients = read_credentials(home / "credentials.json")["clients"]
        self.http = http

    def token(self, role: str, municipality: str | None = None) -> str:
        """The demo token of a role (and municipality)."""
        for client in self.clients:
            if client["role"] == role and (municipality is None or client.get("municipality") == municipality):
                return client["token"]
        raise typer.BadParameter(f"no demo client with role {role} in credentials.json")

    async def call(
        self, method: str, url: str, token: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One authenticated call; waits out a 429 as its Retry-After says; raises on a 5xx (4xx are answers)."""
        headers = {**(headers or {}), "Authorization": f"Bearer {token}"}
        response = await self.http.request(method, url, headers=headers, **kwargs)
        for _ in range(RATE_LIMITED_TRIES):
            if response.status_code != 429:
                break
            # The demo acts for many people through a few tokens: it may well meet a client's rate limit.
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            response = await self.http.request(method, url, headers=headers, **kwargs)
        if response.status_code >= 500:
            response.raise_for_status()
        return response

    def answering_token(self, referral: dict[str, Any]) -> str:
        """The recipient's own demo token when there is one, else the admin's (who may move any referral)."""
        if referral["target"] == "municipality" and referral["municipality_code"] in ("0316", "0326"):
            return self.token("municipality", referral["municipality_code"])
        for client in self.clients:
            if client["role"] == referral["target"] and referral["department_id"] in client.get("departments", []):
                return client["token"]
        return self.token("admin")


def with_repeats(bodies: list[dict[str, Any]], repeats: int) -> int:
    """Make `repeats` tenancies the subject of three concerns each; returns how many bodies at the end follow up.

    Random tenancies almost never meet three times in a demo, so the 90-day repeat rule would never show. The
    k-th of the first bodies is followed by two of the last ones, about the same tenancy, which must be reported
    after it and one after the other (routing counts the concerns reported up to each one).
    """
    repeats = min(repeats, len(bodies) // 3)
    follow_ups = bodies[len(bodies) - 2 * repeats :]
    for k in range(repeats):
        first = bodies[k]
        for body in follow_ups[2 * k : 2 * k + 2]:
            body.update(department_id=first["department_id"], tenancy_id=first["tenancy_id"])
    return 2 * repeats


async def report_over_http(demo: Demo, rng: random.Random, count: int, repeats: int = 0) -> list[str]:
    """POST the concerns (8 at a time, each with its own Idempotency-Key; repeats' follow-ups in order)."""
    intake, reporter = demo.env["INTAKE_URL"], demo.token("reporter")
    departments = (await demo.call("GET", f"{intake}/v1/departments", reporter)).json()
    bodies = [concern_body(rng, rng.choice(departments)["id"], datetime.now(UTC)) for _ in range(count)]
    in_order = with_repeats(bodies, repeats)
    limit, ids = asyncio.Semaphore(8), []

    async def post(body: dict[str, Any]) -> None:
        async with limit:
            headers = {"Idempotency-Key": str(uuid.uuid4())}
            response = await demo.call("POST", f"{intake}/v1/concerns", reporter, json=body, headers=headers)
            response.raise_for_status()
            ids.append(response.json()["id"])

    together, one_by_one = bodies[: count - in_order], bodies[count - in_order :]
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("reporting over HTTP", total=count)
        for chunk in range(0, len(together), 8):
            await asyncio.gather(*(post(b) for b in together[chunk : chunk + 8]))
            progress.update(task, advance=len(together[chunk : chunk + 8]))
        for body in one_by_one:
            await post(body)
            progress.update(task, advance=1)
    return ids


async def report_inbound(demo: Demo, rng: random.Random, count: int) -> None:
    """Send raw concerns in the two demo systems' own formats to concern-inbound, each as its own principal."""
    topic = demo.env.get("TOPIC_PREFIX", "") + CONCERN_INBOUND
    systems = ("ejendomssystem-a", "beboerapp-b")
    producers = {system: AIOKafkaProducer(**housing_producer_config(demo.env, system)) for system in systems}
    try:
        for producer in producers.values():
            await producer.start()
        for i in range(count):
            system = systems[i % 2]
            external_id = f"demo-{uuid.uuid4().hex[:12]}"
            message = InboundConcern(
                system=system,
                external_id=external_id,
                payload=inbound_payload(rng, system, external_id, datetime.now(UTC)),
            )
            await producers[system].send_and_wait(topic, encode_inbound(message), key=message.key.encode())
    finally:
        for producer in producers.values():
            await producer.stop()


def housing_producer_config(env: dict[str, str], system: str) -> dict[str, Any]:
    """A producer for `system` on the stack of `env`: as its own principal when the broker wants SASL."""
    config = producer_config(env["KAFKA_BOOTSTRAP_SERVERS"], f"demo-{system}")
    if env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT") == "PLAINTEXT":
        return {k: v for k, v in config.items() if not k.startswith(("security_", "sasl_"))}
    principal = housing_principal(system)
    password = env[f"KAFKA_PASSWORD_{principal.upper().replace('-', '_')}"]
    credentials = {"KAFKA_SECURITY_PROTOCOL": env["KAFKA_SECURITY_PROTOCOL"], "KAFKA_USERNAME": principal}
    return config | security_config(credentials | {"KAFKA_PASSWORD": password})


async def referrals_of(demo: Demo, concern_ids: list[str], within: float = 90.0) -> list[dict[str, Any]]:
    """Wait until routing has made referrals for every concern; returns them all."""
    routing, admin = demo.env["ROUTING_URL"], demo.token("admin")
    found: dict[str, list[dict[str, Any]]] = {}
    deadline = asyncio.get_running_loop().time() + within
    while len(found) < len(concern_ids) and asyncio.get_running_loop().time() < deadline:
        for concern_id in [c for c in concern_ids if c not in found]:
            page = (await demo.call("GET", f"{routing}/v1/referrals", admin, params={"concern_id": concern_id})).json()
            if page["items"]:
                found[concern_id] = page["items"]
        await asyncio.sleep(0.5)
    return [r for items in found.values() for r in items]


async def answer(demo: Demo, rng: random.Random, referrals: list[dict[str, Any]]) -> dict[str, int]:
    """Recipients acknowledge most referrals, accept and work on many, complete some, reject a few."""
    routing, moves = demo.env["ROUTING_URL"], {"received": 0, "accepted": 0, "completed": 0, "rejected": 0}
    for referral in referrals:
        if rng.random() > 0.75:
            continue  # left unanswered: the clocks will chase it
        url, token = f"{routing}/v1/referrals/{referral['referral_id']}/transitions", demo.answering_token(referral)
        steps: list[dict[str, Any]] = [{"to": "received"}]
        if rng.random() < 0.1:
            steps.append({"to": "rejected", "reason": rng.choice(["not_our_responsibility", "capacity"])})
        elif rng.random() < 0.8:
            steps += [{"to": "accepted"}, {"to": "in_progress"}]
            if rng.random() < 0.6:
                outcome = rng.choices([o for o, _ in OUTCOMES], weights=[w for _, w in OUTCOMES])[0]
                steps.append({"to": "completed", "outcome": outcome})
        for step in steps:
            if (await demo.call("POST", url, token, json=step)).status_code != 200:
                break
            moves[step["to"]] = moves.get(step["to"], 0) + 1
    return moves


async def advance_clocks(http: httpx.AsyncClient, home: Path, working_days: int) -> None:
    """Move the demo clocks on and say what followed (reminders, escalations, e-mails)."""
    stack = LocalStack.at(home)
    before = stack.mails()
    try:
        with console.status(f"moving the demo clocks {working_days} working day(s) on"):
            result = await advance(http, stack, working_days)
            mails = await new_mails(stack, before) if result["reminders"] + result["escalations"] else 0
    except DemoClockRefused as error:
        console.print(f"clocks not moved: {error}")
        raise typer.Exit(1) from None
    console.print(summary(result), soft_wrap=True)
    console.print(f"{mails} e-mail(s) in {stack.mail_dir}", soft_wrap=True)


@app.command()
def main(
    home: Annotated[Path, typer.Option(envvar="STACK_HOME", help="The running stack's home.")] = Path(".local"),
    count: Annotated[int, typer.Option(min=0, help="Concerns reported over HTTP.")] = 120,
    inbound: Annotated[int, typer.Option(min=0, help="Concerns sent by the demo housing systems.")] = 40,
    seed: Annotated[int | None, typer.Option(help="Random seed, for a repeatable demo.")] = None,
    repeats: Annotated[
        int, typer.Option(min=0, help="Tenancies reported three times (of --count), so the repeat rule shows.")
    ] = 3,
    advance_working_days: Annotated[
        int,
        typer.Option(
            min=0,
            max=250,
            help="Then move the demo clocks this many working days on (3: high and acute unanswered referrals "
            "escalate, medium ones are reminded, low ones wait); 0: leave the clocks alone.",
        ),
    ] = 3,
) -> None:
    """Feed the running stack with fictional concerns and answers."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security

    async def run() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            demo = Demo(home.resolve(), http)
            ids = await report_over_http(demo, rng, count, repeats)
            await report_inbound(demo, rng, inbound)
            console.print(f"reported {len(ids)} concerns over HTTP and {inbound} through concern-inbound")
            referrals = await referrals_of(demo, ids)
            moves = await answer(demo, rng, referrals)
            repeated = len({r["concern_id"] for r in referrals if r["repeated"]})
            console.print(f"{len(referrals)} referrals ({repeated} concern(s) routed as repeats)")
            console.print(f"recipients' answers: {moves}", soft_wrap=True)
            if advance_working_days:
                await advance_clocks(http, home.resolve(), advance_working_days)
            console.print(f"dashboard: {demo.env['STATS_URL']}/ (log in with a token from credentials.json)")

    asyncio.run(run())


if __name__ == "__main__":
    app()

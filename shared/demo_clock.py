"""The demo clock's client: ask a local stack's routing to move its open referrals' clocks (`crp demo`, `make demo`).

`crp demo advance --working-days N` and `make demo` use it. Local stacks only: the routing service has the
route only when it runs with LOCAL_DEV on (the local stack's services do), and the caller refuses first when
LOCAL_DEV is off in its own environment.
"""

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ADVANCE_PATH = "/v1/demo/clock/advance"


class DemoClockRefused(Exception):
    """The clock was not moved; the message says why, for a person."""


@dataclass(frozen=True)
class LocalStack:
    """Where a local stack's routing listens, and its demo admin's token (from the stack's home)."""

    routing_url: str
    admin_token: str
    mail_dir: Path

    @classmethod
    def at(cls, home: Path) -> "LocalStack":
        """Read `<home>/stack.env` and `<home>/credentials.json`, as `make up` wrote them."""
        env_file, credentials = home / "stack.env", home / "credentials.json"
        if not env_file.is_file() or not credentials.is_file():
            raise DemoClockRefused(f"no local stack in {home} (no stack.env or credentials.json): run `make up`")
        lines = env_file.read_text().splitlines()
        env = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
        stored = json.loads(credentials.read_text())
        clients = stored["clients"] if isinstance(stored, dict) else stored  # {"clients", "people"}; once a list
        admins = [c["token"] for c in clients if c.get("role") == "admin"]
        if "ROUTING_URL" not in env or not admins:
            raise DemoClockRefused(f"{home} names no routing URL or no admin client")
        return cls(env["ROUTING_URL"], admins[0], home / "mail")

    def mails(self) -> int:
        """How many e-mails the stack's mail sink has received (`<home>/mail/*.eml`)."""
        return len(list(self.mail_dir.glob("*.eml"))) if self.mail_dir.is_dir() else 0


def summary(result: dict[str, Any]) -> str:
    """One line a person reads: how far the clocks moved and what followed."""
    hours = result["shifted_by_hours"]
    return (
        f"clocks moved {result['working_days']} working day(s) ({round(hours / 24, 1):g} calendar day(s)): "
        f"{result['referrals_moved']} open referral(s) moved, {result['reminders']} reminder(s) sent "
        f"(SLA breached), {result['escalations']} escalation(s)"
    )


async def advance(http: httpx.AsyncClient, stack: LocalStack, working_days: int) -> dict[str, Any]:
    """POST the advance; returns routing's answer, or raises DemoClockRefused with the reason."""
    url = stack.routing_url.rstrip("/") + ADVANCE_PATH
    try:
        response = await http.post(
            url, json={"working_days": working_days}, headers={"Authorization": f"Bearer {stack.admin_token}"}
        )
    except httpx.HTTPError as error:
        raise DemoClockRefused(f"routing at {stack.routing_url} did not answer ({type(error).__name__})") from None
    if response.status_code == 404:
        raise DemoClockRefused(
            f"routing at {stack.routing_url} has no demo clock: LOCAL_DEV is off there (local stacks only)"
        )
    if response.status_code in (401, 403):
        raise DemoClockRefused(f"routing refused the token ({response.status_code}): the demo clock needs an admin")
    if response.status_code != 200:
        detail = response.json().get("detail", "") if "json" in response.headers.get("content-type", "") else ""
        raise DemoClockRefused(f"routing answered {response.status_code} {detail}".strip())
    return response.json()


async def new_mails(stack: LocalStack, before: int, *, within: float = 20.0, settle: float = 2.0) -> int:
    """The e-mails received since `before` was counted, once none came for `settle` seconds (at most `within`)."""
    loop = asyncio.get_running_loop()
    deadline, count, quiet_since = loop.time() + within, stack.mails(), loop.time()
    while loop.time() < deadline and (count == before or loop.time() - quiet_since < settle):
        await asyncio.sleep(0.25)
        if (now := stack.mails()) != count:
            count, quiet_since = now, loop.time()
    return count - before

"""`make demo` against the running test stack: concerns in over HTTP and inbound, referrals made and answered,
then the demo clocks moved on so that unanswered referrals are reminded and escalated."""

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


def _token(home: Path, role: str) -> str:
    return next(c["token"] for c in json.loads((home / "credentials.json").read_text())["clients"] if c["role"] == role)


async def test_demo_feed_brings_the_dashboard_numbers_to_life() -> None:
    home = Path(os.environ["STACK_HOME"])
    stats = os.environ["STATS_URL"]
    ops = {"Authorization": f"Bearer {_token(home, 'ops')}"}
    async with httpx.AsyncClient(timeout=30) as http:

        async def overview() -> dict:
            return (await http.get(f"{stats}/v1/stats/overview", headers=ops)).json()

        async def total() -> int:
            return (await overview())["concerns"]["total"]

        before, sla_before = await total(), (await overview())["referrals"]["sla"]
        command = [sys.executable, "-m", "deploy.demo.feed", "--home", str(home), "--count", "12", "--inbound", "4"]
        result = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "reported 12 concerns over HTTP and 4 through concern-inbound" in result.stdout
        assert "recipients' answers" in result.stdout
        # Three tenancies reported three times each (the default --repeats): the third of each is a repeat.
        assert "(3 concern(s) routed as repeats)" in result.stdout, result.stdout
        # Then three working days on: unanswered high and acute referrals escalate, medium ones are reminded.
        clocks = re.search(r"(\d+) reminder\(s\) sent \(SLA breached\), (\d+) escalation\(s\)", result.stdout)
        assert "clocks moved 3 working day(s)" in result.stdout and clocks, result.stdout
        reminders, escalations = int(clocks[1]), int(clocks[2])
        # A quarter of the referrals, and the inbound concerns' ones, are left unanswered.
        assert reminders + escalations > 0, result.stdout

        async def counted() -> bool:
            return await total() == before + 16

        await eventually(counted, within=60, what="stats counting the 16 demo concerns")

        def at_least(shown: int | None, before: int | None, more: int) -> bool:
            # A count below MIN_CELL_COUNT (5) is withheld (None): it is then 1 to 4, never 0.
            least = (1 if before is None else before) + more
            return least < 5 if shown is None else shown >= least

        async def clocks_counted() -> bool:
            sla = (await overview())["referrals"]["sla"]
            return at_least(sla["breaches"], sla_before["breaches"], reminders) and at_least(
                sla["escalations"], sla_before["escalations"], escalations
            )

        await eventually(clocks_counted, within=60, what="the dashboard counting the reminders and escalations")

"""The demo feed's pure parts: repeat series, and the demo clock's client (against httpx.MockTransport)."""

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from deploy.demo.cases import concern_body
from deploy.demo.feed import with_repeats
from shared.demo_clock import ADVANCE_PATH, DemoClockRefused, LocalStack, advance, summary

pytestmark = pytest.mark.unit
ANSWER = {
    "working_days": 3,
    "shifted_by_hours": 120.0,
    "now": "2026-12-03T08:00:00Z",
    "referrals_moved": 9,
    "reminders": 2,
    "escalations": 1,
}


def test_repeat_series_put_two_follow_ups_at_the_end_about_an_earlier_tenancy() -> None:
    rng = random.Random(7)
    bodies = [concern_body(rng, f"dept-{i}", datetime.now(UTC)) for i in range(12)]
    follow_ups = with_repeats(bodies, 3)
    assert follow_ups == 6
    for k in range(3):
        place = (bodies[k]["department_id"], bodies[k]["tenancy_id"])
        series = [b for b in bodies if (b["department_id"], b["tenancy_id"]) == place]
        assert len(series) == 3 and series[1:] == bodies[6 + 2 * k : 8 + 2 * k]
    assert with_repeats(bodies[:2], 3) == 0  # too few concerns for a series


def _stack(tmp_path: Path) -> LocalStack:
    (tmp_path / "stack.env").write_text("ROUTING_URL=http://routing.test\n")
    credentials = [
        {"name": "r", "role": "reporter", "token": "t-rep"},
        {"name": "a", "role": "admin", "token": "t-adm"},
    ]
    (tmp_path / "credentials.json").write_text(json.dumps(credentials))
    return LocalStack.at(tmp_path)


async def test_the_client_posts_the_working_days_with_the_admin_token(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def routing(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=ANSWER)

    async with httpx.AsyncClient(transport=httpx.MockTransport(routing)) as http:
        assert await advance(http, _stack(tmp_path), 3) == ANSWER
    [request] = seen
    assert request.url.path == ADVANCE_PATH and json.loads(request.content) == {"working_days": 3}
    assert request.headers["Authorization"] == "Bearer t-adm"
    assert summary(ANSWER) == (
        "clocks moved 3 working day(s) (5 calendar day(s)): 9 open referral(s) moved, 2 reminder(s) sent "
        "(SLA breached), 1 escalation(s)"
    )


@pytest.mark.parametrize(
    ("status", "says"),
    [(404, "LOCAL_DEV is off there"), (403, "needs an admin"), (503, "routing answered 503")],
)
async def test_a_refusing_routing_is_reported_for_a_person(tmp_path: Path, status: int, says: str) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json={"detail": "x"}))
    async with httpx.AsyncClient(transport=transport) as http:
        with pytest.raises(DemoClockRefused, match=says):
            await advance(http, _stack(tmp_path), 1)


def test_the_demo_housing_systems_send_codes_intakes_mappings_read_as_the_departments_meant() -> None:
    """The demo systems' department and category codes are theirs, but intake's mappings must read them as the
    departments and categories the demo means (a mapping changed alone would dead-letter the demo's inbound)."""
    from deploy.demo.cases import (
        SYSTEM_A_CATEGORIES,
        SYSTEM_A_DEPARTMENTS,
        SYSTEM_B_CATEGORIES,
        SYSTEM_B_DEPARTMENTS,
        inbound_payload,
    )
    from services.intake.adapters.mappings import load_mappings, map_inbound
    from services.intake.settings import SERVICE_DIR

    mappings = load_mappings(SERVICE_DIR / "mappings")
    systems = {
        "ejendomssystem-a": (SYSTEM_A_DEPARTMENTS, SYSTEM_A_CATEGORIES),
        "beboerapp-b": (SYSTEM_B_DEPARTMENTS, SYSTEM_B_CATEGORIES),
    }
    rng, now = random.Random(3), datetime.now(UTC)
    for system, (departments, categories) in systems.items():
        seen: set[tuple[str, str]] = set()
        for n in range(200):
            report = map_inbound(mappings[system], inbound_payload(rng, system, f"demo-{n}", now), f"demo-{n}")
            seen |= {(report.department_id, str(c)) for c in report.categories}
        assert {d for d, _ in seen} == set(departments), system
        assert {c for _, c in seen} == set(categories), system

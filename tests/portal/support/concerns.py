"""Concerns and their referrals set up through the services' own APIs (demo API clients), for the portal's tests
that need a referral to exist before a person opens it in the browser."""

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from tests.portal.support.oidc import api_client

DESCRIPTION = "Beboeren har ikke hentet post i flere uger, og naboerne har ikke set hende på trappen."


def _url(service: str) -> str:
    value = os.environ.get(f"{service.upper()}_URL")
    if not value:
        raise LookupError(f"{service.upper()}_URL is not set: load the test stack's stack.env")
    return value.rstrip("/")


def _headers(role: str, **scope: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_client(role, **scope)['token']}"}


async def report_concern(
    *,
    department: str,
    categories: list[str],
    resident_name: str,
    consent: str = "not_asked",
    severity: str = "medium",
    description: str = DESCRIPTION,
) -> dict:
    """POST a concern to intake as the demo reporter client; intake's receipt (id, receipt_code, ...)."""
    body = {
        "department_id": department,
        "categories": categories,
        "severity": severity,
        "description": description,
        "observed_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "reporter": {"role": "caretaker", "name": "Test Vicevært", "contact": "vicevaert@example.dk"},
        "resident": {"name": resident_name, "address": "Testvej 1, st. th."},
        "consent": consent,
    }
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(
            f"{_url('intake')}/v1/concerns",
            json=body,
            headers=_headers("reporter") | {"Idempotency-Key": str(uuid.uuid4())},
        )
    assert answer.status_code == 201, f"intake refused the test concern: {answer.status_code} {answer.text[:300]}"
    return answer.json()


async def referrals_of(concern_id: str, *, targets: set[str], within: float = 90.0) -> list[dict]:
    """The concern's referrals once routing has made one for each of `targets` (as the admin client sees them)."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=30, headers=_headers("admin")) as http:
        while True:
            answer = await http.get(f"{_url('intake')}/v1/concerns/{concern_id}")
            referrals = answer.json().get("referrals", []) if answer.status_code == 200 else []
            if targets <= {r["target"] for r in referrals}:
                return [await referral(r["referral_id"], http) for r in referrals]
            if time.monotonic() > deadline:
                raise AssertionError(f"routing made no referral to {targets} within {within} s: {referrals}")
            await asyncio.sleep(0.5)


async def referral(referral_id: str, http: httpx.AsyncClient | None = None) -> dict:
    """A referral as routing shows it to the admin client."""
    if http is None:
        async with httpx.AsyncClient(timeout=30, headers=_headers("admin")) as own:
            return await referral(referral_id, own)
    answer = await http.get(f"{_url('routing')}/v1/referrals/{referral_id}")
    assert answer.status_code == 200, f"routing: {answer.status_code} {answer.text[:200]}"
    return answer.json()


def one(referrals: list[dict], target: str) -> dict:
    """The referral to `target` (municipality, consultant, association)."""
    found = [r for r in referrals if r["target"] == target]
    assert found, f"no referral to {target}: {[(r['target'], r.get('recipient_id')) for r in referrals]}"
    return found[0]

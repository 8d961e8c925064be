"""GET /v1/stats/underretninger on the real PostgreSQL: underretninger per municipality and department (referrals to
the children and youth entries intake's directory names), their confirmed receipts and receipt times, small counts
withheld."""

import contextlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import httpx
import pytest

from services.stats.adapters.reference_data import reference_from_directory
from services.stats.domain.costs import UnitCosts
from services.stats.entrypoints import api
from services.stats.entrypoints.deps import StatsContext
from shared.auth.admin import new_client
from shared.auth.principal import Role
from shared.auth.registry import ClientRegistry
from shared.web.app import create_app
from tests.support.reference import owner_directory

pytestmark = pytest.mark.integration
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


async def _referral(conn: asyncpg.Connection, n: int, recipient: str, department: str, code: str, **kw) -> None:  # noqa: ANN003
    await conn.execute(
        "INSERT INTO referrals (referral_id, concern_id, target, recipient_id, department_id, municipality_code, "
        "categories, severity, urgent, created_at, day, status, acknowledged_at, sla_breaches) "
        "VALUES ($1, $2, 'municipality', $3, $4, $5, ARRAY['neglect_of_dwelling'], 'medium', false, $6, "
        "($6::timestamptz)::date, $7, $8, $9)",
        f"ref-{recipient}-{n}", f"concern-{n}", recipient, department, code, T0,
        kw.get("status", "requested"), kw.get("acknowledged_at"), kw.get("breaches", 0),
    )  # fmt: skip


async def test_underretninger_are_counted_per_municipality_and_department_with_receipt_times(fresh_database) -> None:
    async with fresh_database("stats") as url:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                for n in range(12):  # Holbæk: 12 underretninger, 6 confirmed after n + 1 hours, 6 past their clocks
                    confirmed = n < 6
                    await _referral(
                        conn, n, "children-0316", "holbaek-1", "0316",
                        status="received" if confirmed else "requested",
                        acknowledged_at=T0 + timedelta(hours=n + 1) if confirmed else None,
                        breaches=0 if confirmed else 2,
                    )  # fmt: skip
                for n in range(3):  # the adult single entry's referrals are no underretninger
                    await _referral(conn, 10 + n, "municipality-0316", "holbaek-1", "0316")
                await _referral(conn, 20, "children-0326", "kalundborg-1", "0326")  # one: withheld
            registry = ClientRegistry()
            issued = new_client(name="ops", role=Role.OPS)
            registry.apply(issued.record.client_id, issued.record)
            registry.loaded = True

            @contextlib.asynccontextmanager
            async def lifespan(_):  # noqa: ANN001, ANN202
                yield

            app = create_app(title="stats", description="test", lifespan=lifespan, routers=[api.stats.router])
            app.state.clients = registry
            app.state.runtime = SimpleNamespace(pool=pool)
            app.state.stats = StatsContext(reference_from_directory(owner_directory()), UnitCosts())
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stats") as http:
                answer = await http.get("/v1/stats/underretninger", headers={"Authorization": f"Bearer {issued.token}"})
        finally:
            await pool.close()
    assert answer.status_code == 200, answer.text
    groups = {g["department_id"]: g for g in answer.json()["groups"]}
    assert set(groups) == {"holbaek-1", "kalundborg-1"}
    holbaek = groups["holbaek-1"]
    assert (holbaek["municipality_code"], holbaek["underretninger"], holbaek["confirmed"]) == ("0316", 12, 6)
    assert (holbaek["receipt_hours_median"], holbaek["breached"]) == (3.5, 6)
    assert holbaek["department_name"] and holbaek["municipality_name"] == "Holbæk"
    assert groups["kalundborg-1"]["underretninger"] is None  # a count of one is withheld
    assert answer.json()["suppression"]["min_count"] == 5

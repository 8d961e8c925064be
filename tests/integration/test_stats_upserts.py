"""The keyed projections' rules (upserts.py) give the same rows live, statement by statement in PostgreSQL, as
folded in memory by the rebuild, for random interleavings with ties, duplicates and rows begun by late events."""

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import pytest

from services.stats.adapters.folding import ProjectionFold
from services.stats.adapters.projections import PostgresProjectionWriter
from services.stats.adapters.upserts import TABLES
from services.stats.domain.facts import StatusChange

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # across a daylight-saving change and a local midnight
PLACE = {"department_id": "dep-1", "municipality_code": "0316"}


def _writes(rng: random.Random) -> list[tuple[str, tuple, dict]]:
    """(method, args, kwargs) of the writer port: a few rows, many writes each, times drawn from a few so ties occur."""
    at = [T0 + timedelta(hours=h) for h in range(0, 8, 2)]
    writes = []
    for _ in range(300):
        n, when = rng.randrange(4), rng.choice(at)
        referral = SimpleNamespace(referral_id=f"r-{n}", concern_id=f"c-{n}", target="municipality", **PLACE)
        kind = rng.randrange(6)
        if kind == 0:
            created = SimpleNamespace(**vars(referral), recipient_id=f"rcp-{rng.randrange(3)}", severity="high")
            created.categories, created.urgent, created.created_at = ["hoarding"], rng.random() < 0.5, when
            writes.append(("record_referral", (created,), {}))
        elif kind == 1:
            status = rng.choice(["received", "in_progress", "completed", "cancelled"])
            done = status == "completed"
            change = StatusChange(
                f"r-{n}", f"c-{n}", "municipality", "dep-1", "0316", status, when, rng.random() < 0.7, done,
                rng.choice(["support_established", "no_action_needed"]) if done else None,
            )  # fmt: skip
            writes.append(("record_status_change", (change,), {}))
        elif kind == 2:
            writes.append(("count_clock_event", (referral, rng.choice(["sla_breaches", "escalations"])), {}))
        elif kind == 3:
            delivered = rng.random() < 0.5
            data = SimpleNamespace(delivery_id=f"d-{n}", channel="webhook", final=rng.random() < 0.3)
            data.municipality_code = rng.choice([None, "0316"])
            data.delivered_at = data.failed_at = when
            data.latency_ms = rng.randrange(10_000)
            writes.append(("record_delivery", (data,), {"delivered": delivered}))
        else:
            data = SimpleNamespace(suggestion_id=f"s-{n}", concern_id=f"c-{n}", hint="possible_hoarding", **PLACE)
            data.target, data.suggested_at, data.decided_at = "municipality", when, when + timedelta(hours=1)
            data.decision = rng.choice(["confirmed", "dismissed"])
            writes.append(("record_suggestion" if kind == 4 else "record_suggestion_decision", (data,), {}))
    return writes


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_live_statements_and_the_fold_end_with_the_same_rows(fresh_database, seed: int) -> None:  # noqa: ANN001
    writes = _writes(random.Random(seed))
    fold = ProjectionFold()
    async with fresh_database("stats") as url:
        conn = await asyncpg.connect(url)
        try:
            live = PostgresProjectionWriter(conn)
            for method, args, kwargs in writes:
                await getattr(live, method)(*args, **kwargs)
                await getattr(fold, method)(*args, **kwargs)
            folded = fold.rows()
            for table in TABLES:
                stored = await conn.fetch(f"SELECT {', '.join(table.columns)} FROM {table.name}")  # noqa: S608
                assert sorted(tuple(r) for r in stored) == sorted(folded[table.name]), table.name
                assert stored, table.name
        finally:
            await conn.close()

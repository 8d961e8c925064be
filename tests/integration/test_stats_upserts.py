"""Live and rebuild agree: the keyed projections' rules (upserts.py) give the same rows live, statement by statement
in PostgreSQL, as folded in memory by the rebuild, for random interleavings with ties, duplicates and rows begun by
late events; the concern facts' erasure and repeat rules (the domain's `facts.settle`) likewise, for every example
event and for random reports and erasures around the 90-day window's edges."""

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import pytest

from services.stats.adapters.folding import COLUMNS, ProjectionFold
from services.stats.adapters.projections import PostgresProjectionWriter
from services.stats.adapters.upserts import TABLES
from services.stats.domain.facts import REPEAT_WINDOW, ConcernFact, StatusChange
from services.stats.handlers import EVENT_HANDLERS
from shared.contracts.concerns import ConcernErased
from shared.contracts.examples import example_events

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
    async with fresh_database("stats") as url:
        live, folded = await _live_and_folded(url, _writes(random.Random(seed)))

    for table in TABLES:
        assert live[table.name] == folded[table.name], table.name
        assert live[table.name], table.name


async def _live_and_folded(url: str, writes: list[tuple[str, tuple, dict]]) -> tuple[dict, dict]:
    """Every projection table's rows after `writes`, live in PostgreSQL and folded in memory (sorted alike)."""
    fold = ProjectionFold()
    conn = await asyncpg.connect(url)
    try:
        live = PostgresProjectionWriter(conn)
        for method, args, kwargs in writes:
            await getattr(live, method)(*args, **kwargs)
            await getattr(fold, method)(*args, **kwargs)
        stored = {
            table: sorted(tuple(r) for r in await conn.fetch(f"SELECT {', '.join(columns)} FROM {table}"))  # noqa: S608
            for table, columns in COLUMNS.items()
        }
    finally:
        await conn.close()
    return stored, {table: sorted(rows) for table, rows in fold.rows().items()}


class _Calls:
    """A ProjectionWriter that keeps the calls the handlers make, to be made again on both writers."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def __getattr__(self, name: str):  # noqa: ANN204
        async def record(*args: object, **kwargs: object) -> None:
            self.calls.append((name, args, kwargs))

        return record


@pytest.mark.parametrize("seed", [1, 2])
async def test_every_example_event_through_the_handlers_gives_the_same_rows_live_and_folded(
    fresh_database,  # noqa: ANN001
    seed: int,
) -> None:
    # Five concerns about one tenancy at one instant, two of them erased (the other three repeats), and a sixth
    # much later (fresh ids): every event type, with the repeat and erasure rules both at work.
    events = [event for name in ("docs", "a", "b", "c", "d") for event in example_events(name)] + example_events()
    events = [e for e in events if not isinstance(e.data, ConcernErased) or e.data.concern_id in _first_two(events)]
    random.Random(seed).shuffle(events)
    calls = _Calls()
    for event in events:
        await EVENT_HANDLERS[event.type](event, calls)
    async with fresh_database("stats") as url:
        live, folded = await _live_and_folded(url, calls.calls)

    assert live == folded
    assert {table for table, rows in live.items() if rows} == set(COLUMNS)
    facts = live["concern_facts"]
    assert sorted(f[9:] for f in facts) == [(False, False)] + [(False, True)] * 2 + [(True, False)] * 3
    assert all((f[4] is None) == f[10] for f in facts)


def _first_two(events: list) -> set[str]:
    concerns = list(dict.fromkeys(e.data.concern_id for e in events if e.type == "concern.reported.v1"))
    return set(concerns[:2])


def _reports_and_erasures(rng: random.Random) -> list[tuple[str, tuple, dict]]:
    """Reports of a few tenancies (and of none) at times that tie and lie on and just past the window's edges,
    reports again under another event id, erasures before and after their report, twice, and of unreported ones."""
    edge = [timedelta(0), timedelta(days=30), REPEAT_WINDOW, REPEAT_WINDOW + timedelta(microseconds=1)]
    times = [T0 + d + s for d in edge for s in (timedelta(0), REPEAT_WINDOW)] + [T0 + timedelta(days=200)]
    facts = []
    for n in range(60):
        key = rng.choice(["tenancy-a", "tenancy-b", "tenancy-c", None])
        categories = tuple(rng.sample(["hoarding", "rent_arrears", "noise"], rng.randrange(1, 3)))
        facts.append(ConcernFact(f"c-{n}", "org", "dep-1", "0316", key, "high", categories, rng.choice(times)))
    writes = [("record_concern", (fact,), {}) for fact in facts]
    writes += [("record_concern", (rng.choice(facts),), {}) for _ in range(10)]
    for fact in rng.sample(facts, 20) + [ConcernFact("c-never", "org", "dep-1", "0316", "tenancy-a", "low", (), T0)]:
        erased_at = T0 + timedelta(days=rng.randrange(300))
        writes += [("erase_concern", (fact.concern_id, fact.subject_key or "dep-key", erased_at), {})] * rng.choice(
            [1, 2]
        )
    rng.shuffle(writes)
    return writes


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_reports_and_erasures_in_any_order_give_the_same_facts_live_and_folded(
    fresh_database,  # noqa: ANN001
    seed: int,
) -> None:
    async with fresh_database("stats") as url:
        live, folded = await _live_and_folded(url, _reports_and_erasures(random.Random(seed)))

    assert live == folded
    facts = live["concern_facts"]
    assert any(f[9] for f in facts) and any(f[10] for f in facts) and any(f[4] and not f[9] for f in facts)
    assert len(live["erasures"]) == 21

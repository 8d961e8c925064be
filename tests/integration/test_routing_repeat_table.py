"""The repeat rule through the repeat-windows table (a real Faust table, not started) and the real PostgreSQL."""

import contextlib
from datetime import UTC, datetime, timedelta

import asyncpg
import faust
import pytest

from services.routing import metrics
from services.routing.adapters import rules_store
from services.routing.adapters.repeat_windows import RepeatWindows
from services.routing.domain.clock import FakeClock
from services.routing.entrypoints.consumers import repeat_windows_table
from services.routing.handlers.concerns import apply_concern_events
from services.routing.handlers.deps import Deps, RulesInForce
from services.routing.settings import DEFAULT_RULES, RoutingSettings
from tests.support.reference import owner_holder
from tests.support.routing_events import concern_event, erased_event, subject

pytestmark = pytest.mark.integration
T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)


def table() -> faust.Table:
    settings = RoutingSettings(
        database_url="postgresql://unused/unused", subject_key_secret="integration-secret-0123456789"
    )
    app = faust.App("routing-int-table", broker="kafka://127.0.0.1:1", store="memory://", web_enabled=False)
    return repeat_windows_table(app, settings)


@contextlib.asynccontextmanager
async def worker(url: str, windows: RepeatWindows | None):
    """What one routing worker's handler uses: its own pool and its own repeat-windows table."""
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    await rules_store.seed(pool, rules_store.load_file(DEFAULT_RULES))
    try:
        yield Deps(
            pool, FakeClock(T0), RulesInForce(owner_holder()), "routing-service", "referral-events", "/s", windows
        )
    finally:
        await pool.close()


def lookups(result: str) -> float:
    return metrics.REPEAT_WINDOW_LOOKUPS.labels(result)._value.get()


async def flags(pool: asyncpg.Pool, events: list) -> dict[str, tuple[str, bool]]:
    rows = await pool.fetch(
        "SELECT DISTINCT concern_id, severity, repeated FROM referrals WHERE concern_id = ANY($1::text[])",
        [e.data.concern_id for e in events],
    )
    return {r["concern_id"]: (r["severity"], r["repeated"]) for r in rows}


def about(key: str, *days_ago: int) -> list:
    return [
        concern_event(categories=("noise",), severity="low", subject_key=key, reported_at=T0 - timedelta(days=d))
        for d in days_ago
    ]


async def test_the_third_concern_is_decided_from_the_table_repeated_with_raised_severity(fresh_database) -> None:
    windows = RepeatWindows(table())
    key = subject()
    first, second, third = about(key, 80, 20, 0)
    async with fresh_database("routing") as url, worker(url, windows) as deps:
        await apply_concern_events(deps, [first])  # a new subject: read from PostgreSQL, then kept in the table
        await apply_concern_events(deps, [second])
        hits = lookups("hit")
        # PostgreSQL forgets the first two: only the table still knows them, and it decides.
        await deps.pool.execute("DELETE FROM subject_concerns WHERE subject_key = $1", key)
        await apply_concern_events(deps, [third])
        assert lookups("hit") == hits + 1
        assert (await flags(deps.pool, [first, second, third])) == {
            first.data.concern_id: ("low", False),
            second.data.concern_id: ("low", False),
            third.data.concern_id: ("medium", True),
        }
        assert sorted(windows.covering([key], {key: T0})[key].concerns) == sorted(
            e.data.concern_id for e in (first, second, third)
        )


async def test_replays_do_not_inflate_the_window_in_the_table_or_after_a_rebalance(fresh_database) -> None:
    windows = RepeatWindows(table())
    key = subject()
    first, second, third = about(key, 50, 10, 0)
    async with fresh_database("routing") as url, worker(url, windows) as deps:
        await apply_concern_events(deps, [first, first])
        await apply_concern_events(deps, [first])  # redelivered, e.g. after a kill before the commit of offsets
        await apply_concern_events(deps, [second])  # two concerns, not four: not a repeat
        assert len(windows.covering([key], {key: T0})[key].concerns) == 2
        windows.forget_all()  # a rebalance: the window is read again from PostgreSQL
        await apply_concern_events(deps, [second, first])  # replays after the rebalance change nothing
        await apply_concern_events(deps, [third])
        assert (await flags(deps.pool, [first, second, third])) == {
            first.data.concern_id: ("low", False),
            second.data.concern_id: ("low", False),
            third.data.concern_id: ("medium", True),
        }


async def test_two_workers_with_their_own_tables_agree_through_postgresql(fresh_database) -> None:
    key = subject()
    first, second, third, fourth = about(key, 60, 40, 20, 0)
    async with (
        fresh_database("routing") as url,
        worker(url, RepeatWindows(table())) as one,
        worker(url, RepeatWindows(table())) as two,
    ):
        await apply_concern_events(one, [first])
        await apply_concern_events(two, [second])  # the partition moved: two has no window yet, reads PostgreSQL
        # Erased on `two` and reported in the same batch: the report must not count the erased concern.
        await apply_concern_events(two, [erased_event(second), third])
        await apply_concern_events(two, [fourth])
        assert (await flags(one.pool, [first, second, third, fourth])) == {
            first.data.concern_id: ("low", False),
            second.data.concern_id: ("low", False),
            third.data.concern_id: ("low", False),  # first and third: the erased one no longer counts
            fourth.data.concern_id: ("medium", True),  # first, third, fourth
        }


@pytest.mark.parametrize(("tenancy", "third"), [(True, ("medium", True)), (False, ("low", False))])
async def test_only_concerns_about_a_named_tenancy_are_repeats(fresh_database, tenancy: bool, third: tuple) -> None:
    # Without a tenancy intake keys a concern by its department: three in one department are no repeat.
    key = subject()
    events = [
        concern_event(
            categories=("noise",),
            severity="low",
            subject_key=key,
            reported_at=T0 - timedelta(days=d),
            subject_is_tenancy=tenancy,
        )
        for d in (80, 20, 0)
    ]
    async with fresh_database("routing") as url, worker(url, RepeatWindows(table())) as deps:
        await apply_concern_events(deps, events)
        assert (await flags(deps.pool, events))[events[2].data.concern_id] == third

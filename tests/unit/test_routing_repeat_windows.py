"""The repeat-windows table: windows keyed by concern id, the cache's generations, and the agent's Faust table."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import faust
import pytest

from services.routing.adapters.repeat_windows import RepeatWindows
from services.routing.domain.repeats import REPEAT_WINDOW, Window
from services.routing.entrypoints.consumers import concern_consumer, register_agents
from services.routing.handlers.deps import Deps
from services.routing.settings import RoutingSettings
from shared.contracts.envelope import encode
from shared.db.positions import InMemoryPositions
from shared.kafka.dead_letters import InMemoryDeadLetters
from shared.kafka.positions import InMemoryLog
from tests.support.polling import eventually
from tests.support.routing_events import concern_event

pytestmark = pytest.mark.unit
T0 = datetime(2025, 3, 4, 9, tzinfo=UTC)


def window(*days_ago: int, complete_after: datetime = T0 - timedelta(days=400)) -> Window:
    return Window(complete_after, {f"c{d}": T0 - timedelta(days=d) for d in days_ago})


def test_a_window_is_keyed_by_concern_id_so_a_replayed_concern_counts_once() -> None:
    subject = window(30)
    for _ in range(3):
        subject.concerns["c0"] = T0  # the same concern delivered three times
    assert not subject.is_repeat(T0)
    subject.concerns["c1"] = T0 - timedelta(days=1)
    assert subject.is_repeat(T0)


def test_a_pruned_window_keeps_only_what_a_later_concern_can_count_and_says_so() -> None:
    pruned = window(100, 89, 0).pruned()
    assert set(pruned.concerns) == {"c89", "c0"}
    assert pruned.complete_after == T0 - REPEAT_WINDOW
    assert pruned.covers(T0) and pruned.covers(T0 + timedelta(days=5))
    assert not pruned.covers(T0 - timedelta(days=1))  # an older concern needs what was pruned


def test_the_cache_answers_only_for_windows_that_reach_back_far_enough() -> None:
    windows = RepeatWindows(SimpleNamespace(data={}))
    assert windows.keep(windows.generation, {"near": window(10), "short": window(10, complete_after=T0)})
    found = windows.covering(["near", "short", "unknown"], {"near": T0, "short": T0, "unknown": T0})
    assert set(found) == {"near"}
    found["near"].concerns["mutated"] = T0  # a copy: a rolled-back batch leaves the table as it was
    assert "mutated" not in windows.covering(["near"], {"near": T0})["near"].concerns


def test_a_rebalance_empties_the_cache_and_a_batch_begun_before_it_is_not_kept() -> None:
    windows = RepeatWindows(SimpleNamespace(data={}))
    before = windows.generation
    windows.keep(before, {"a": window(1)})
    windows.forget_all()
    assert windows.covering(["a"], {"a": T0}) == {}
    assert not windows.keep(before, {"b": window(1)})
    assert windows.covering(["b"], {"b": T0}) == {}


def test_the_least_recently_kept_subjects_are_evicted_first() -> None:
    windows = RepeatWindows(SimpleNamespace(data={}), max_subjects=2)
    windows.keep(windows.generation, {"a": window(1), "b": window(1)})
    windows.keep(windows.generation, {"a": window(2), "c": window(1)}, dropped=["nothing"])
    assert set(windows.covering(["a", "b", "c"], dict.fromkeys("abc", T0))) == {"a", "c"}


async def test_the_agent_keeps_windows_in_its_faust_table_and_forgets_them_when_partitions_move() -> None:
    settings = RoutingSettings(
        database_url="postgresql://unused/unused",
        subject_key_secret="unit-test-secret-0123456789",
        topic_prefix="u.",
        topic_partitions=4,
    )
    app = faust.App("routing-unit-table", broker="kafka://127.0.0.1:1", store="memory://", web_enabled=False)
    deps = Deps(pool=None, clock=None, rules=None, consumer="routing", referral_topic="t", source="/s")  # type: ignore[arg-type]
    decided: dict[str, bool] = {}

    async def apply(events):
        # What the handler does with the table: read the covering windows, add the batch by concern id, keep.
        generation = deps.windows.generation
        since = {e.subject: e.data.reported_at for e in events}
        found = deps.windows.covering(since, since)
        for event in events:
            subject = found.setdefault(event.subject, Window(event.data.reported_at - REPEAT_WINDOW))
            subject.concerns[event.data.concern_id] = event.data.reported_at
            decided[event.data.concern_id] = subject.is_repeat(event.data.reported_at)
        deps.windows.keep(generation, found)

    consumer = concern_consumer(settings, deps, InMemoryDeadLetters(), InMemoryPositions(), InMemoryLog(), apply)
    agent = register_agents(app, settings, deps, consumer)
    table = app.tables["repeat-windows"]
    assert table.partitions == 4  # co-partitioned with concern-events
    assert deps.windows is not None
    key = "sk_unit_subject"
    first, second, third = (
        concern_event(subject_key=key, reported_at=T0 + timedelta(days=d), concern_id=f"c-{d}") for d in range(3)
    )
    async with agent.test_context() as running:
        for event in (first, second, first, third):  # `first` redelivered: still one entry
            await running.put(encode(event), key=key.encode())

        async def all_decided() -> bool:
            return len(decided) == 3 and key in table.data and len(table.data[key].concerns) == 3

        await eventually(all_decided, within=10, what="three concerns decided from the table")
    assert decided == {"c-0": False, "c-1": False, "c-2": True}
    await app.on_partitions_revoked.send(set())
    assert key not in table.data

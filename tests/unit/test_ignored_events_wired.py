"""The event types a service lists as ignored are acknowledged by its consumer, not dead-lettered (intake's and
stats' lists were declared but not consulted)."""

import pytest

from services.intake.entrypoints import consumers as intake_consumers
from services.intake.handlers import IGNORED_EVENTS as INTAKE_IGNORED
from services.stats.adapters import applier
from shared.contracts.examples import example_events
from shared.kafka.dispatch import UnhandledEvent

pytestmark = pytest.mark.unit


def _suggestion_events() -> list:
    return [e for e in example_events() if e.type.startswith("referral.suggest")]


async def test_intake_acknowledges_the_suggestion_events_it_ignores() -> None:
    assert {e.type for e in _suggestion_events()} <= INTAKE_IGNORED
    runtime = type("R", (), {"settings": type("S", (), {"consumer_group": "intake"})(), "dead_letters": None})()
    processor = intake_consumers.referral_processor(runtime, {})
    for event in _suggestion_events():
        await processor._handler(event)  # noqa: SLF001 - no UnhandledEvent
    other = next(e for e in example_events() if e.type == "referral.created.v1")
    with pytest.raises(UnhandledEvent):
        await processor._handler(other)  # noqa: SLF001


async def test_stats_acknowledges_an_ignored_type_and_dead_letters_an_unknown_one(monkeypatch) -> None:  # noqa: ANN001
    event = _suggestion_events()[0]
    monkeypatch.setattr(applier, "EVENT_HANDLERS", {})
    monkeypatch.setattr(applier, "IGNORED_EVENTS", frozenset({event.type}))
    assert await applier.apply_in(None, "stats", event) is False  # type: ignore[arg-type]
    monkeypatch.setattr(applier, "IGNORED_EVENTS", frozenset())
    with pytest.raises(UnhandledEvent):
        await applier.apply_in(None, "stats", event)  # type: ignore[arg-type]

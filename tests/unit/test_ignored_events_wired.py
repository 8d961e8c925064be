"""The event types a service lists as ignored are acknowledged by its consumer, not dead-lettered (intake's and
stats' lists were declared but not consulted)."""

from types import SimpleNamespace

import pytest

from services.intake.entrypoints import consumers as intake_consumers
from services.intake.handlers import IGNORED_EVENTS as INTAKE_IGNORED
from services.stats.adapters import applier
from shared.contracts.envelope import encode
from shared.contracts.examples import example_events
from shared.contracts.topics import REFERRAL_EVENTS
from shared.kafka.dead_letters import InMemoryDeadLetters, RawMessage
from shared.kafka.errors import UnhandledEvent

pytestmark = pytest.mark.unit


def _suggestion_events() -> list:
    return [e for e in example_events() if e.type.startswith("referral.suggest")]


async def test_intake_acknowledges_the_suggestion_events_it_ignores() -> None:
    assert {e.type for e in _suggestion_events()} <= INTAKE_IGNORED
    letters = InMemoryDeadLetters()
    runtime = SimpleNamespace(settings=SimpleNamespace(consumer_group="intake"), dead_letters=letters)
    pipeline = intake_consumers.pipeline(runtime, None, REFERRAL_EVENTS)  # type: ignore[arg-type]
    other = next(e for e in example_events() if e.type == "concern.reported.v1")
    messages = [RawMessage("t", 0, i, None, encode(e)) for i, e in enumerate([*_suggestion_events(), other])]
    outcome = await pipeline.process(messages)
    assert (outcome.ignored, outcome.applied) == (len(_suggestion_events()), 0)
    assert [(m.offset, reason) for m, reason, _ in letters.letters] == [(len(_suggestion_events()), "unhandled_type")]


async def test_stats_acknowledges_an_ignored_type_and_dead_letters_an_unknown_one(monkeypatch) -> None:  # noqa: ANN001
    event = _suggestion_events()[0]
    monkeypatch.setattr(applier, "EVENT_HANDLERS", {})
    monkeypatch.setattr(applier, "IGNORED_EVENTS", frozenset({event.type}))
    assert await applier.apply_in(None, "stats", event) is False  # type: ignore[arg-type]
    monkeypatch.setattr(applier, "IGNORED_EVENTS", frozenset())
    with pytest.raises(UnhandledEvent):
        await applier.apply_in(None, "stats", event)  # type: ignore[arg-type]

"""notify's consumer is the shared pipeline over its handler table: one apply per batch, bad messages left out."""

import pytest

from services.notify.entrypoints import consumers
from services.notify.handlers import EVENT_HANDLERS
from shared.contracts.envelope import encode
from shared.contracts.examples import example_events
from shared.kafka.dead_letters import InMemoryDeadLetters, RawMessage
from shared.kafka.errors import PermanentError
from tests.support.notify_helpers import referral_created

pytestmark = pytest.mark.unit


def _messages(*values: bytes) -> list[RawMessage]:
    return [RawMessage("t.referral-events", 0, offset, b"k", value) for offset, value in enumerate(values)]


@pytest.fixture
def applied(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Stands in for the one-transaction apply_batch; refuses an event whose concern is "refused"."""
    calls: list[list[str]] = []

    async def apply_batch(events, deps, planners) -> int:  # noqa: ANN001
        assert deps == "deps" and planners is EVENT_HANDLERS
        calls.append([e.id for e in events])
        if any(e.data.concern_id == "refused" for e in events):
            raise PermanentError("no such concern")
        return len(events)

    monkeypatch.setattr(consumers, "apply_batch", apply_batch)
    return calls


async def test_the_handler_table_is_what_the_pipeline_handles() -> None:
    pipeline = consumers.pipeline("notify-service", "deps", InMemoryDeadLetters())  # type: ignore[arg-type]
    assert pipeline._handles == frozenset(EVENT_HANDLERS)  # noqa: SLF001 - the wiring under test


async def test_garbage_and_foreign_types_are_dead_lettered_and_the_rest_applied_in_one_call(applied) -> None:  # noqa: ANN001
    first, second = referral_created("holbaek-1"), referral_created("hoeng-1")
    suggested = next(e for e in example_events() if e.type == "referral.suggested.v1")
    delivered = next(e for e in example_events() if e.type == "notification.delivered.v1")
    letters = InMemoryDeadLetters()
    pipeline = consumers.pipeline("notify-service", "deps", letters)  # type: ignore[arg-type]
    outcome = await pipeline.process(
        _messages(encode(first), b"{not json", encode(delivered), encode(suggested), encode(second))
    )
    assert applied == [[first.id, suggested.id, second.id]], "one transaction, in order, bad ones left out"
    assert [(m.offset, reason) for m, reason, _ in letters.letters] == [(1, "invalid_json"), (2, "unhandled_type")]
    assert (outcome.applied, outcome.dead_lettered) == (3, 2)


async def test_a_permanent_refusal_isolates_the_bad_event_and_applies_the_rest(applied) -> None:  # noqa: ANN001
    # Before the shared pipeline, notify retried such a batch forever and its partition stood still.
    good, bad, later = referral_created("holbaek-1"), referral_created("hoeng-1"), referral_created("holbaek-2")
    bad = bad.model_copy(update={"data": bad.data.model_copy(update={"concern_id": "refused"})})
    letters = InMemoryDeadLetters()
    pipeline = consumers.pipeline("notify-service", "deps", letters)  # type: ignore[arg-type]
    outcome = await pipeline.process(_messages(encode(good), encode(bad), encode(later)))
    assert applied == [[good.id, bad.id, later.id], [good.id], [bad.id], [later.id]]
    assert [(m.offset, reason) for m, reason, _ in letters.letters] == [(1, "rejected")]
    assert (outcome.applied, outcome.dead_lettered) == (2, 1)

"""intake's consumers are entries of its handler table, each run through the shared pipeline one event at a time."""

from types import SimpleNamespace

import pytest

from services.intake import handlers
from services.intake.entrypoints import consumers
from shared.contracts.envelope import encode
from shared.contracts.examples import example_events
from shared.contracts.inbound import InboundConcern, encode_inbound
from shared.contracts.topics import CONCERN_INBOUND, REFERRAL_EVENTS
from shared.kafka.dead_letters import InMemoryDeadLetters, RawMessage
from shared.kafka.errors import PermanentError

pytestmark = pytest.mark.unit


def _runtime(letters: InMemoryDeadLetters) -> SimpleNamespace:
    return SimpleNamespace(settings=SimpleNamespace(consumer_group="intake-service"), dead_letters=letters)


def _messages(*values: bytes) -> list[RawMessage]:
    return [RawMessage("t.x", 0, offset, b"k", value) for offset, value in enumerate(values)]


def _inbound(external_id: str) -> InboundConcern:
    return InboundConcern(system="edora", external_id=external_id, payload={"text": "fugt"})


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Fake handlers in the table: remember (deps, event id or external id); refuse external id "bad"."""
    calls: list[tuple[str, str]] = []

    async def inbound(deps, message) -> None:  # noqa: ANN001
        calls.append((deps, message.external_id))
        if message.external_id == "bad":
            raise PermanentError("unknown department")

    async def created(deps, event) -> None:  # noqa: ANN001
        calls.append((deps, event.id))

    monkeypatch.setitem(handlers.EVENT_HANDLERS, handlers.INBOUND_CONCERN, inbound)
    monkeypatch.setitem(handlers.EVENT_HANDLERS, "referral.created.v1", created)
    return calls


def test_each_topic_has_its_own_consumer_group() -> None:
    letters = InMemoryDeadLetters()
    names = [
        consumers.pipeline(_runtime(letters), None, topic).consumer for topic in (CONCERN_INBOUND, REFERRAL_EVENTS)
    ]
    assert names == ["intake-service", "intake-service-referrals"]


async def test_inbound_concerns_are_applied_one_by_one_and_a_refused_one_alone_is_dead_lettered(seen) -> None:  # noqa: ANN001
    letters = InMemoryDeadLetters()
    pipeline = consumers.pipeline(_runtime(letters), "deps", CONCERN_INBOUND)  # type: ignore[arg-type]
    outcome = await pipeline.process(_messages(*(encode_inbound(_inbound(i)) for i in ("a", "bad", "c"))))
    assert seen == [("deps", "a"), ("deps", "bad"), ("deps", "c")], "none applied twice"
    assert [(m.offset, reason) for m, reason, _ in letters.letters] == [(1, "rejected")]
    assert (outcome.applied, outcome.dead_lettered) == (2, 1)


async def test_the_inbound_consumer_refuses_a_referral_event_passed_off_as_inbound_data(seen) -> None:  # noqa: ANN001
    created = next(e for e in example_events() if e.type == "referral.created.v1")
    letters = InMemoryDeadLetters()
    pipeline = consumers.pipeline(_runtime(letters), "deps", CONCERN_INBOUND)  # type: ignore[arg-type]
    await pipeline.process(_messages(encode(created)))
    assert seen == [] and [reason for _, reason, _ in letters.letters] == ["invalid_data"]


async def test_the_referral_consumer_applies_referral_events_and_dead_letters_inbound_data(seen) -> None:  # noqa: ANN001
    created = next(e for e in example_events() if e.type == "referral.created.v1")
    letters = InMemoryDeadLetters()
    pipeline = consumers.pipeline(_runtime(letters), "deps", REFERRAL_EVENTS)  # type: ignore[arg-type]
    outcome = await pipeline.process(_messages(encode_inbound(_inbound("a")), encode(created)))
    assert seen == [("deps", created.id)] and outcome.applied == 1
    assert [(m.offset, reason) for m, reason, _ in letters.letters] == [(0, "invalid_envelope")]

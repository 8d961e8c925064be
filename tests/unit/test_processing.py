"""The EventProcessor with in-memory fakes: decode, retry what is transient, dead-letter the rest."""

import pytest

from shared.contracts.envelope import decode, encode
from shared.contracts.examples import example_events
from shared.kafka.dead_letters import InMemoryDeadLetters, RawMessage
from shared.kafka.processing import EventProcessor, PermanentError

pytestmark = pytest.mark.unit


def _message(value: bytes, offset: int = 0) -> RawMessage:
    return RawMessage(topic="concern-events", partition=2, offset=offset, key=b"sk_1", value=value)


def _processor(handler, letters: InMemoryDeadLetters) -> EventProcessor:
    return EventProcessor(
        consumer="test", decoder=decode, handler=handler, dead_letters=letters, retry_initial_s=0.001, retry_max_s=0.01
    )


async def test_garbage_is_dead_lettered_and_the_next_event_applied() -> None:
    applied, letters = [], InMemoryDeadLetters()
    processor = _processor(lambda e: _append(applied, e), letters)
    good = example_events()[0]

    assert await processor.process(_message(b"\x00\xffnot json")) == "dead_lettered"
    assert await processor.process(_message(encode(good), offset=1)) == "applied"

    assert [e.id for e in applied] == [good.id]
    ((message, reason, _),) = letters.letters
    assert reason == "invalid_json" and message.offset == 0


async def test_transient_failures_are_retried_until_the_handler_succeeds() -> None:
    attempts, letters = [], InMemoryDeadLetters()

    async def flaky(event) -> None:
        attempts.append(event.id)
        if len(attempts) < 4:
            raise ConnectionError("database away")

    outcome = await _processor(flaky, letters).process(_message(encode(example_events()[0])))

    assert outcome == "applied" and len(attempts) == 4 and not letters.letters


async def test_a_permanent_refusal_is_dead_lettered_without_retry() -> None:
    attempts, letters = [], InMemoryDeadLetters()

    async def refuse(event) -> None:
        attempts.append(event.id)
        raise PermanentError("unknown department")

    assert await _processor(refuse, letters).process(_message(encode(example_events()[0]))) == "dead_lettered"
    assert len(attempts) == 1 and letters.letters[0][1] == "rejected"


async def _append(items: list, event) -> None:
    items.append(event)

"""The EventProcessor with in-memory fakes: decode, retry what is transient, dead-letter the rest."""

import pytest

from shared.contracts.envelope import decode, encode
from shared.contracts.examples import example_events
from shared.kafka.dead_letters import InMemoryDeadLetters, RawMessage, dead_letter_headers
from shared.kafka.dispatch import Dispatcher
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


async def test_dispatcher_dead_letters_types_without_a_handler_and_acknowledges_ignored_ones() -> None:
    events = example_events()
    handled, letters = [], InMemoryDeadLetters()
    first, second = events[0], events[1]
    dispatcher = Dispatcher({first.type: lambda e: _append(handled, e)}, ignored=frozenset({second.type}))
    processor = _processor(dispatcher, letters)
    others = [e for e in events if e.type not in (first.type, second.type)]

    assert await processor.process(_message(encode(first))) == "applied"
    assert await processor.process(_message(encode(second))) == "applied"
    assert await processor.process(_message(encode(others[0]))) == "dead_lettered"
    assert handled == [first] and letters.letters[0][1] == "unhandled_type"


def test_dead_letter_headers_name_reason_and_origin_and_replace_earlier_ones() -> None:
    message = RawMessage("referral-events", 4, 17, b"k", b"v", headers=(("ce_type", b"x"), ("dlq-reason", b"old")))
    headers = dict(
        dead_letter_headers(message, consumer="notify-service", reason="invalid_data", error="data.severity")
    )
    assert headers["dlq-reason"] == b"invalid_data"
    assert headers["dlq-origin-topic"] == b"referral-events"
    assert headers["dlq-origin-partition"] == b"4" and headers["dlq-origin-offset"] == b"17"
    assert headers["dlq-consumer"] == b"notify-service" and headers["ce_type"] == b"x"


async def _append(items: list, event) -> None:
    items.append(event)

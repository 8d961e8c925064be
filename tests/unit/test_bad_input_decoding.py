"""Bad messages: refused as invalid JSON even when they break the parser itself; dead letters sent in flight."""

import asyncio

import asyncpg
import pytest

from shared.contracts.envelope import ContractError, decode, encode
from shared.contracts.examples import example_events
from shared.contracts.inbound import decode_inbound
from shared.kafka.dead_letters import InMemoryDeadLetters, RawMessage
from shared.kafka.processing import EventProcessor

pytestmark = pytest.mark.unit

DEEPLY_NESTED = b"[" * 100_000 + b"]" * 100_000
HUGE_NUMBER = b'{"specversion": ' + b"7" * 5000 + b"}"
HUGE_NUMBER_IN_EVENT = b'{"type": "concern.reported.v1", "specversion": ' + b"7" * 5000 + b"}"


@pytest.mark.parametrize("raw", [DEEPLY_NESTED, HUGE_NUMBER, HUGE_NUMBER_IN_EVENT], ids=["nested", "number", "typed"])
@pytest.mark.parametrize("decoder", [decode, decode_inbound], ids=["event", "inbound"])
def test_json_the_parser_cannot_take_is_refused_as_invalid_json(decoder, raw: bytes) -> None:  # noqa: ANN001
    with pytest.raises(ContractError) as refused:
        decoder(raw)
    assert refused.value.reason == "invalid_json"
    assert "7777" not in str(refused.value)


async def test_the_processor_dead_letters_them_and_goes_on() -> None:
    applied: list[object] = []

    async def handler(event: object) -> None:
        applied.append(event)

    dead_letters = InMemoryDeadLetters()
    processor = EventProcessor(consumer="test", decoder=decode, handler=handler, dead_letters=dead_letters)
    outcomes = [
        await processor.process(RawMessage("t", 0, offset, None, raw))
        for offset, raw in enumerate([DEEPLY_NESTED, HUGE_NUMBER])
    ]
    assert outcomes == ["dead_lettered", "dead_lettered"]
    assert [(m.offset, reason) for m, reason, _ in dead_letters.letters] == [(0, "invalid_json"), (1, "invalid_json")]
    assert applied == []


async def test_with_in_flight_dead_letters_are_sent_without_waiting_and_awaited_by_the_caller() -> None:
    applied: list[object] = []

    async def handler(event: object) -> None:
        applied.append(event.data.concern_id)  # type: ignore[attr-defined]

    dead_letters = InMemoryDeadLetters()
    processor = EventProcessor(consumer="test", decoder=decode, handler=handler, dead_letters=dead_letters)
    good = encode(example_events("in-flight")[0])
    in_flight: list[asyncio.Task[None]] = []
    outcomes = [
        await processor.process(RawMessage("t", 0, offset, None, raw), in_flight=in_flight)
        for offset, raw in enumerate([b"not json", good, b"[]"])
    ]
    assert outcomes == ["dead_lettered", "applied", "dead_lettered"]
    assert len(in_flight) == 2 and len(applied) == 1
    await asyncio.gather(*in_flight)
    assert [m.offset for m, _, _ in dead_letters.letters] == [0, 2]


async def test_an_event_whose_values_the_database_refuses_is_dead_lettered_at_once_not_retried_forever() -> None:
    calls: list[object] = []

    async def handler(event: object) -> None:
        calls.append(event)
        raise asyncpg.DataError("invalid input for query argument $6: 3000000000 (value out of int32 range)")

    dead_letters = InMemoryDeadLetters()
    processor = EventProcessor(consumer="test", decoder=decode, handler=handler, dead_letters=dead_letters)
    good = encode(example_events("refused")[0])
    outcome = await asyncio.wait_for(processor.process(RawMessage("t", 0, 7, None, good)), timeout=5)
    assert outcome == "dead_lettered" and len(calls) == 1
    [(message, reason, error)] = dead_letters.letters
    assert (message.offset, reason) == (7, "unappliable_data")
    assert "3000000000" not in error

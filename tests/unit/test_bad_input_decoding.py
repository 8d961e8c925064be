"""Bad messages: refused as invalid JSON even when they break the parser itself, dead-lettered, and the rest applied."""

import pytest

from shared.contracts.envelope import ContractError, decode, encode
from shared.contracts.examples import example_events
from shared.contracts.inbound import decode_inbound
from shared.kafka.dead_letters import InMemoryDeadLetters, RawMessage
from shared.kafka.pipeline import Pipeline

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


async def test_the_pipeline_dead_letters_them_and_goes_on() -> None:
    applied: list[object] = []

    async def apply(events: list[object]) -> None:
        applied.extend(events)

    good = example_events("bad-input")[0]
    dead_letters = InMemoryDeadLetters()
    pipeline = Pipeline(consumer="test", decoder=decode, apply=apply, handles={good.type}, dead_letters=dead_letters)
    raws = [DEEPLY_NESTED, HUGE_NUMBER, encode(good)]
    outcome = await pipeline.process([RawMessage("t", 0, offset, None, raw) for offset, raw in enumerate(raws)])
    assert (outcome.dead_lettered, outcome.applied) == (2, 1)
    assert [(m.offset, reason) for m, reason, _ in dead_letters.letters] == [(0, "invalid_json"), (1, "invalid_json")]
    assert applied == [good]

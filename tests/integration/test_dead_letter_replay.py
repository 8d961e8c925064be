"""A replayed dead letter is marked on its .dlq topic (real broker): `crp dlq list` hides it unless --all, shows
when it was replayed, and `crp dlq replay --all` does not send it a second time; the table wraps, never cuts."""

import asyncio
import io
import re

import pytest
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner

import shared.cli
from shared.console import make_console
from shared.contracts.envelope import encode
from shared.contracts.examples import example_events
from shared.contracts.topics import dlq
from shared.kafka.config import producer_config
from shared.kafka.dead_letter_tools import read_dead_letters, replay
from shared.kafka.dead_letters import KafkaDeadLetters, RawMessage
from tests.support.polling import read_all

pytestmark = pytest.mark.integration


@pytest.fixture
async def two_letters(kafka_bootstrap: str, topic: str) -> str:
    producer = AIOKafkaProducer(**producer_config(kafka_bootstrap, "tests"))
    await producer.start()
    try:
        letters = KafkaDeadLetters(producer, "tests-consumer-with-a-rather-long-name")
        for offset, key in ((5, b"k1"), (6, b"k2")):
            message = RawMessage(topic, 0, offset, key, encode(example_events()[0]))
            await letters.send(message, reason="unhandled_type", error="no handler for x")
    finally:
        await producer.stop()
    return topic


async def crp(monkeypatch: pytest.MonkeyPatch, *args: str, width: int = 200) -> str:
    """Run `crp` as a user would, on a console `width` columns wide; its output."""
    out = io.StringIO()
    monkeypatch.setattr(shared.cli, "console", make_console(file=out, width=width))
    result = await asyncio.to_thread(CliRunner().invoke, shared.cli.app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out.getvalue()


async def test_a_replayed_letter_is_marked_hidden_from_the_list_and_not_replayed_twice(
    kafka_bootstrap: str, two_letters: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = two_letters
    first, second = await read_dead_letters(kafka_bootstrap, topic)
    assert (first.replayed_at, second.replayed_at) == (None, None)

    assert await replay(kafka_bootstrap, [first]) == 1

    letters = {d.position: d for d in await read_dead_letters(kafka_bootstrap, topic)}
    assert set(letters) == {first.position, second.position}  # the marker is no letter
    replayed_at = letters[first.position].replayed_at
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", replayed_at)
    assert letters[second.position].replayed_at is None
    assert [d.position for d in await read_dead_letters(kafka_bootstrap, topic, replayed=False)] == [second.position]

    bootstrap = ["--bootstrap", kafka_bootstrap]
    listed = await crp(monkeypatch, "dlq", "list", topic, *bootstrap)
    assert cells(listed.splitlines(), 0) == [second.position]
    assert "1 dead letter(s) not replayed; 1 replayed not shown" in listed
    everything = (await crp(monkeypatch, "dlq", "list", topic, "--all", *bootstrap)).splitlines()
    assert sorted(cells(everything, 0)) == sorted([first.position, second.position])
    assert f"replayed {replayed_at}" in cells(everything, 5)

    replayed = await crp(monkeypatch, "dlq", "replay", topic, "--all", *bootstrap)
    assert "replayed 1 dead letter(s); 1 already replayed, left alone" in replayed
    records = await read_all(kafka_bootstrap, topic, expected=2)
    assert sorted(r.key for r in records) == [b"k1", b"k2"]  # each sent back once
    assert all(d.replayed_at for d in await read_dead_letters(kafka_bootstrap, dlq(topic)))


async def test_the_dead_letter_table_wraps_in_a_narrow_terminal_and_cuts_nothing(
    kafka_bootstrap: str, two_letters: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = await crp(monkeypatch, "dlq", "list", two_letters, "--bootstrap", kafka_bootstrap, width=60)
    lines = listed.splitlines()
    assert max(len(line) for line in lines) <= 60
    assert "…" not in listed
    consumers = "".join(cells(lines, 3))
    assert consumers.count("tests-consumer-with-a-rather-long-name") == 2
    assert "".join(cells(lines, 2)).count(f"{two_letters}[0]@5") == 1


def cells(lines: list[str], column: int) -> list[str]:
    """The text of one column of a rich table, its folded pieces joined (header and rules left out)."""
    return [line.split("│")[column + 1].strip() for line in lines if line.startswith("│")]

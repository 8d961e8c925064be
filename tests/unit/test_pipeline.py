"""The shared consumer pipeline with in-memory fakes: decode, dead-letter in bulk, apply with retries, commit."""

import asyncio
import contextlib
import time

import asyncpg
import pytest
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError
from faust.types.tuples import Message

from shared.contracts.envelope import ContractError, decode, encode
from shared.contracts.examples import example_events
from shared.kafka.dead_letters import InMemoryDeadLetters, RawMessage, dead_letter_headers
from shared.kafka.errors import PermanentError
from shared.kafka.pipeline import Pipeline, dispatch, raw_message, run_consumer

pytestmark = pytest.mark.unit

EVENTS = example_events()
CREATED = next(e for e in EVENTS if e.type == "referral.created.v1")
STATUS = next(e for e in EVENTS if e.type == "referral.status_changed.v1")
SUGGESTED = next(e for e in EVENTS if e.type == "referral.suggested.v1")
REPORTED = next(e for e in EVENTS if e.type == "concern.reported.v1")


def _created(n: int) -> list:
    """n referral.created.v1 events with distinct ids (the examples give one of each type)."""
    return [next(e for e in example_events() if e.type == "referral.created.v1") for _ in range(n)]


def _messages(*values: bytes, topic: str = "t.referral-events") -> list[RawMessage]:
    return [RawMessage(topic, 3, offset, b"k", value) for offset, value in enumerate(values)]


class Recorder:
    """An `apply` that remembers every call's event ids; fails as told before succeeding."""

    def __init__(self, transient: int = 0, refuse: set[str] | None = None, error: BaseException | None = None):
        self.calls: list[list[str]] = []
        self._transient = transient
        self._refuse = refuse or set()
        self._error = error

    async def __call__(self, events: list) -> int:
        self.calls.append([e.id for e in events])
        if self._transient:
            self._transient -= 1
            raise ConnectionResetError("database away")
        if any(e.id in self._refuse for e in events):
            raise self._error or PermanentError("unknown department")
        return len(events)


def _pipeline(apply, letters: InMemoryDeadLetters, **kwargs) -> Pipeline:  # noqa: ANN001, ANN003
    return Pipeline(
        consumer="test",
        decoder=decode,
        apply=apply,
        handles=kwargs.pop("handles", {CREATED.type, STATUS.type}),
        dead_letters=letters,
        retry_initial_s=0.001,
        retry_max_s=0.01,
        **kwargs,
    )


async def test_an_undecodable_message_is_dead_lettered_and_the_rest_applied() -> None:
    letters, apply = InMemoryDeadLetters(), Recorder()
    outcome = await _pipeline(apply, letters).process(_messages(b"\x00\xffnot json", encode(CREATED)))
    assert (outcome.applied, outcome.dead_lettered, outcome.ignored) == (1, 1, 0)
    assert apply.calls == [[CREATED.id]]
    assert [(m.offset, reason) for m, reason, _ in letters.letters] == [(0, "invalid_json")]


async def test_a_type_without_a_handler_is_dead_lettered_as_unhandled() -> None:
    letters, apply = InMemoryDeadLetters(), Recorder()
    outcome = await _pipeline(apply, letters).process(_messages(encode(REPORTED), encode(CREATED)))
    assert (outcome.applied, outcome.dead_lettered) == (1, 1)
    [(message, reason, error)] = letters.letters
    assert (message.offset, reason) == (0, "unhandled_type") and REPORTED.type in error
    assert apply.calls == [[CREATED.id]]


async def test_an_ignored_type_is_acknowledged_neither_applied_nor_dead_lettered() -> None:
    letters, apply = InMemoryDeadLetters(), Recorder()
    pipeline = _pipeline(apply, letters, ignores={SUGGESTED.type})
    outcome = await pipeline.process(_messages(encode(SUGGESTED)))
    assert (outcome.applied, outcome.ignored, outcome.dead_lettered) == (0, 1, 0)
    assert apply.calls == [] and letters.letters == []


async def test_a_transient_failure_is_retried_until_the_batch_applies() -> None:
    letters, apply = InMemoryDeadLetters(), Recorder(transient=3)
    events = _created(2)
    outcome = await _pipeline(apply, letters).process(_messages(*map(encode, events)))
    assert outcome.applied == 2 and outcome.results == [2]
    assert apply.calls == [[e.id for e in events]] * 4, "the whole batch, four times, nothing dead-lettered"
    assert letters.letters == []


async def test_a_permanent_refusal_in_a_batch_dead_letters_only_the_bad_event_in_order() -> None:
    events = _created(4)
    bad = events[2].id
    letters, apply = InMemoryDeadLetters(), Recorder(refuse={bad})
    outcome = await _pipeline(apply, letters).process(_messages(*map(encode, events)))
    ids = [e.id for e in events]
    assert apply.calls == [ids, ids[:1], ids[1:2], [bad], ids[3:]], "the batch once, then event by event in order"
    assert (outcome.applied, outcome.dead_lettered) == (3, 1)
    [(message, reason, error)] = letters.letters
    assert (message.offset, reason, error) == (2, "rejected", "unknown department")


async def test_a_refused_batch_of_one_is_dead_lettered_without_a_second_try() -> None:
    letters, apply = InMemoryDeadLetters(), Recorder(refuse={CREATED.id}, error=ContractError("bad_data", "no"))
    outcome = await _pipeline(apply, letters).process(_messages(encode(CREATED)))
    assert apply.calls == [[CREATED.id]] and outcome.dead_lettered == 1
    assert letters.letters[0][1] == "bad_data"


async def test_a_value_the_database_refuses_is_unappliable_data_without_the_value_in_the_text() -> None:
    refused = asyncpg.DataError("invalid input for query argument $6: 3000000000 (value out of int32 range)")
    letters, apply = InMemoryDeadLetters(), Recorder(refuse={CREATED.id}, error=refused)
    outcome = await asyncio.wait_for(_pipeline(apply, letters).process(_messages(encode(CREATED))), timeout=5)
    assert outcome.dead_lettered == 1 and len(apply.calls) == 1, "not retried"
    [(_, reason, error)] = letters.letters
    assert reason == "unappliable_data" and "3000000000" not in error and "DataError" in error


async def test_with_chunk_1_each_event_is_applied_retried_and_refused_alone() -> None:
    events = _created(3)
    letters, apply = InMemoryDeadLetters(), Recorder(transient=1, refuse={events[1].id})
    outcome = await _pipeline(apply, letters, chunk=1).process(_messages(*map(encode, events)))
    ids = [e.id for e in events]
    assert apply.calls == [ids[:1], ids[:1], ids[1:2], ids[2:]], "no event before a failing one is applied again"
    assert (outcome.applied, outcome.dead_lettered) == (2, 1) and letters.letters[0][0].offset == 1


class SlowDeadLetters(InMemoryDeadLetters):
    """Each send takes a while to be acknowledged, like a broker round trip."""

    def __init__(self) -> None:
        super().__init__()
        self.sending = 0

    async def send(self, message: RawMessage, *, reason: str, error: str) -> None:
        self.sending += 1
        await asyncio.sleep(0.05)
        await super().send(message, reason=reason, error=error)
        self.sending -= 1


async def test_dead_letters_are_sent_together_and_all_acknowledged_before_process_returns() -> None:
    letters, apply = SlowDeadLetters(), Recorder()
    started = time.perf_counter()
    outcome = await _pipeline(apply, letters).process(_messages(*[b"not json"] * 20, encode(CREATED)))
    elapsed = time.perf_counter() - started
    assert len(letters.letters) == 20 and letters.sending == 0, "every dead letter acknowledged"
    assert [m.offset for m, _, _ in letters.letters] == list(range(20))
    assert elapsed < 0.05 * 20 / 2, "sent together, not one round trip after another"
    assert outcome.dead_lettered == 20 and apply.calls == [[CREATED.id]]


async def test_a_cancelled_consumer_stops_at_once_instead_of_retrying() -> None:
    letters = InMemoryDeadLetters()
    calls = 0

    async def apply(events: list) -> None:
        nonlocal calls
        calls += 1
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(_pipeline(apply, letters).process(_messages(encode(CREATED))), timeout=5)
    assert calls == 1 and letters.letters == []


async def test_dispatch_applies_consecutive_events_of_a_type_together_in_order() -> None:
    a1, a2, a3 = _created(3)
    b1 = STATUS
    seen: list[tuple[str, list[str]]] = []

    def handler(kind: str):  # noqa: ANN202
        async def handle(events: list) -> str:
            seen.append((kind, [e.id for e in events]))
            return kind

        return handle

    apply = dispatch({CREATED.type: handler("a"), STATUS.type: handler("b")})
    results = await apply([a1, a2, b1, a3])
    assert seen == [("a", [a1.id, a2.id]), ("b", [b1.id]), ("a", [a3.id])]
    assert results == ["a", "b", "a"]
    assert await apply([]) == []


def test_raw_message_of_an_aiokafka_record() -> None:
    record = ConsumerRecord("t.x", 4, 17, 0, 0, b"key", b"value", None, 3, 5, [("ce_type", b"x")])
    assert raw_message(record) == RawMessage("t.x", 4, 17, b"key", b"value", (("ce_type", b"x"),))
    empty = ConsumerRecord("t.x", 0, 1, 0, 0, None, None, None, 0, 0, None)
    assert raw_message(empty) == RawMessage("t.x", 0, 1, None, None, ())


def test_raw_message_of_a_faust_message_with_headers_as_a_dict() -> None:
    message = Message("t.x", 2, 9, 0.0, 0, {"ce_type": b"x", "ce_id": bytearray(b"1")}, b"key", b"value", None)
    assert raw_message(message) == RawMessage("t.x", 2, 9, b"key", b"value", (("ce_type", b"x"), ("ce_id", b"1")))
    listed = Message("t.x", 2, 10, 0.0, 0, [("ce_type", b"x")], None, b"v", None)
    assert raw_message(listed).headers == (("ce_type", b"x"),)


PARTITION = TopicPartition("t.referral-events", 0)


def _record(offset: int, value: bytes) -> ConsumerRecord:
    return ConsumerRecord(PARTITION.topic, 0, offset, 0, 0, b"k", value, None, 1, len(value), [])


class FakeConsumer:
    """Hands out its batches one poll at a time, then nothing; remembers commits (or refuses them)."""

    def __init__(self, *batches: dict, commit_error: Exception | None = None):
        self._batches = list(batches)
        self._commit_error = commit_error
        self.commits: list[dict] = []
        self.polls = 0

    async def getmany(self, timeout_ms: int) -> dict:
        self.polls += 1
        if self._batches:
            return self._batches.pop(0)
        await asyncio.sleep(timeout_ms / 1000)
        return {}

    async def commit(self, offsets: dict) -> None:
        self.commits.append(offsets)
        if self._commit_error:
            raise self._commit_error


async def _run_until(fake: FakeConsumer, pipeline: Pipeline, done) -> None:  # noqa: ANN001
    task = asyncio.create_task(run_consumer(fake, pipeline, poll_timeout_ms=10))  # type: ignore[arg-type]
    try:
        for _ in range(1000):  # up to 10 s: a retry backs off with jitter, and CI machines are busy
            if done():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the consumer did not get there")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_run_consumer_commits_a_partition_after_its_batch_applied_and_dead_lettered() -> None:
    first, second = _created(2)
    fake = FakeConsumer({PARTITION: [_record(5, encode(first)), _record(6, b"{not json"), _record(7, encode(second))]})
    letters, apply = InMemoryDeadLetters(), Recorder(transient=1)
    await _run_until(fake, _pipeline(apply, letters), lambda: fake.commits)
    assert apply.calls == [[first.id, second.id]] * 2
    assert [m.offset for m, _, _ in letters.letters] == [6]
    assert fake.commits == [{PARTITION: 8}]


async def test_run_consumer_goes_on_when_a_commit_fails() -> None:
    fake = FakeConsumer(
        {PARTITION: [_record(0, encode(CREATED))]},
        {PARTITION: [_record(1, encode(STATUS))]},
        commit_error=CommitFailedError("rebalanced"),
    )
    apply = Recorder()
    await _run_until(fake, _pipeline(apply, InMemoryDeadLetters()), lambda: len(fake.commits) == 2)
    assert apply.calls == [[CREATED.id], [STATUS.id]]
    assert fake.commits == [{PARTITION: 1}, {PARTITION: 2}]


def test_dead_letter_headers_name_reason_and_origin_and_replace_earlier_ones() -> None:
    message = RawMessage("referral-events", 4, 17, b"k", b"v", headers=(("ce_type", b"x"), ("dlq-reason", b"old")))
    headers = dict(
        dead_letter_headers(message, consumer="notify-service", reason="invalid_data", error="data.severity")
    )
    assert headers["dlq-reason"] == b"invalid_data"
    assert headers["dlq-origin-topic"] == b"referral-events"
    assert headers["dlq-origin-partition"] == b"4" and headers["dlq-origin-offset"] == b"17"
    assert headers["dlq-consumer"] == b"notify-service" and headers["ce_type"] == b"x"

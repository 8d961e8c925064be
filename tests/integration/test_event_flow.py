"""The shared Kafka helpers against the real broker: round trips, order per key, idempotence, dead letters."""

import uuid
from collections import defaultdict

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from shared.contracts.envelope import decode, encode, make_event
from shared.contracts.examples import example_events
from shared.contracts.topics import dlq
from shared.db.inbox import first_delivery
from shared.kafka.config import producer_config
from shared.kafka.dead_letter_tools import read_dead_letters, replay
from shared.kafka.dead_letters import KafkaDeadLetters
from shared.kafka.pipeline import Pipeline, consuming
from shared.kafka.producer import KafkaEventPublisher
from tests.support.polling import eventually, read_all

pytestmark = pytest.mark.integration


@pytest.fixture
async def producer(kafka_bootstrap: str):
    producer = AIOKafkaProducer(**producer_config(kafka_bootstrap, "tests"))
    await producer.start()
    yield producer
    await producer.stop()


async def test_every_event_type_round_trips_keyed_by_subject_in_order_per_key(
    kafka_bootstrap: str, topic: str, producer: AIOKafkaProducer
) -> None:
    publisher = KafkaEventPublisher(producer)
    subjects = [f"sk_{uuid.uuid4().hex[:8]}" for _ in range(4)]
    sent = []
    for round_ in range(3):
        for i, example in enumerate(example_events()):
            envelope = make_event(example.data, source=example.source, subject=subjects[(i + round_) % len(subjects)])
            await publisher.publish(topic, envelope)
            sent.append(envelope)

    records = await read_all(kafka_bootstrap, topic, expected=len(sent))

    received = [decode(r.value) for r in records]
    assert sorted(e.id for e in received) == sorted(e.id for e in sent)
    assert {e.type for e in received} == {e.type for e in example_events()}
    assert {e.id: e for e in received} == {e.id: e for e in sent}  # every field survives the trip
    partitions, order = defaultdict(set), defaultdict(list)
    for record, event in zip(records, received, strict=True):
        assert record.key.decode() == event.subject
        partitions[event.subject].add(record.partition)
        order[event.subject].append((record.partition, record.offset, event.id))
    assert all(len(p) == 1 for p in partitions.values()), "one subject key, one partition"
    for subject, seen in order.items():
        assert [event_id for _, _, event_id in sorted(seen)] == [e.id for e in sent if e.subject == subject]


async def test_consumer_applies_a_duplicate_once_and_dead_letters_garbage_then_goes_on(
    kafka_bootstrap: str, topic: str, database_url: str, producer: AIOKafkaProducer
) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    await pool.execute("CREATE TABLE effects (event_id text NOT NULL, subject text NOT NULL)")

    async def apply(events) -> None:
        for event in events:
            async with pool.acquire() as conn, conn.transaction():
                if await first_delivery(conn, "test-consumer", event.id):
                    await conn.execute("INSERT INTO effects VALUES ($1, $2)", event.id, event.subject)

    first, second = example_events()[:2]
    key = first.subject.encode()
    for value in (encode(first), encode(first), b"\x00garbage{", encode(second)):
        await producer.send_and_wait(topic, value, key=key, partition=1)

    pipeline = Pipeline(
        consumer="test-consumer",
        decoder=decode,
        apply=apply,
        handles={first.type, second.type},
        dead_letters=KafkaDeadLetters(producer, "tests"),
    )
    try:
        async with consuming(kafka_bootstrap, f"g-{uuid.uuid4().hex[:8]}", [topic], pipeline):

            async def both_applied() -> bool:
                return await pool.fetchval("SELECT count(*) FROM effects") >= 2

            await eventually(both_applied, what="the two distinct events applied")
        rows = await pool.fetch("SELECT event_id FROM effects ORDER BY event_id")
        assert sorted(r["event_id"] for r in rows) == sorted([first.id, second.id])

        letters = await read_dead_letters(kafka_bootstrap, topic)
        assert len(letters) == 1
        (letter,) = letters
        assert letter.value == b"\x00garbage{" and letter.key == key
        assert letter.reason == "invalid_json" and letter.origin_topic == topic
        assert letter.headers["dlq-origin-partition"] == "1" and letter.headers["dlq-origin-offset"] == "2"
    finally:
        await pool.close()


async def test_dead_letters_replay_to_their_origin_topic(
    kafka_bootstrap: str, topic: str, producer: AIOKafkaProducer
) -> None:
    event = example_events()[0]
    dead_letters = KafkaDeadLetters(producer, "tests")
    from shared.kafka.dead_letters import RawMessage

    await dead_letters.send(
        RawMessage(topic, 0, 5, b"k", encode(event)), reason="unhandled_type", error="no handler for x"
    )
    letters = await read_dead_letters(kafka_bootstrap, dlq(topic))
    assert [d.reason for d in letters] == ["unhandled_type"]

    assert await replay(kafka_bootstrap, letters) == 1

    (record,) = await read_all(kafka_bootstrap, topic, expected=1)
    assert decode(record.value) == event and record.key == b"k"
    headers = dict(record.headers)
    assert headers["dlq-replayed-from"] == f"{letters[0].partition}:{letters[0].offset}".encode()
    assert not any(k.startswith("dlq-r") and k != "dlq-replayed-from" for k in headers)

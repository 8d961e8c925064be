"""Reading and replaying dead letters, for ops (`crp dlq ...`).

A replay leaves a marker on the .dlq topic: a record without a value on the letter's partition whose
`dlq-replay-of` header names the letter (`partition:offset`) and `dlq-replayed-at` says when. Reading folds the
markers into their letters, so a replayed letter shows as replayed (and `crp dlq list` hides it unless --all).
"""

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.contracts.topics import DLQ_SUFFIX
from shared.kafka.config import client_config, partitions_of, producer_config
from shared.kafka.dead_letters import DLQ_HEADER_PREFIX


@dataclass(frozen=True)
class DeadLetter:
    """One record of a .dlq topic."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]
    topic: str = ""
    """The .dlq topic it lies on."""
    replayed_at: str | None = None
    """When it was last sent back to its origin topic (ISO 8601, UTC); None while it was not."""

    @property
    def position(self) -> str:
        """`partition:offset`, as `crp dlq` names a letter."""
        return f"{self.partition}:{self.offset}"

    @property
    def reason(self) -> str:
        """Why it was refused (e.g. invalid_json, invalid_data, rejected)."""
        return self.headers.get("dlq-reason", "?")

    @property
    def origin_topic(self) -> str:
        """The topic it was consumed from."""
        return self.headers.get("dlq-origin-topic", "")


REPLAY_OF = "dlq-replay-of"
REPLAYED_AT = "dlq-replayed-at"


def _dlq_topic(topic: str) -> str:
    return topic if topic.endswith(DLQ_SUFFIX) else topic + DLQ_SUFFIX


async def read_dead_letters(
    bootstrap_servers: str, topic: str, *, limit: int = 1000, replayed: bool = True
) -> list[DeadLetter]:
    """The dead letters of `topic` (or of a .dlq topic named directly), oldest first per partition.

    Each carries when it was last replayed; `replayed=False` leaves out the ones that were.
    """
    dlq_topic = _dlq_topic(topic)
    consumer = AIOKafkaConsumer(**client_config(bootstrap_servers, enable_auto_commit=False, client_id="crp-dlq"))
    await consumer.start()
    letters: list[DeadLetter] = []
    try:
        partitions = await partitions_of(bootstrap_servers, dlq_topic)
        if not partitions:
            raise ValueError(f"no such topic: {dlq_topic}")
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        remaining = {p for p in partitions if end[p] > 0}
        # To the end: a letter's replay marker may lie anywhere after it.
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for records in batches.values():
                letters.extend(
                    DeadLetter(
                        r.partition,
                        r.offset,
                        r.key,
                        r.value,
                        {k: v.decode(errors="replace") for k, v in r.headers},
                        dlq_topic,
                    )
                    for r in records
                )
            remaining = {p for p in remaining if await consumer.position(p) < end[p]}
    finally:
        await consumer.stop()
    return _with_replays(letters, include_replayed=replayed)[:limit]


def _with_replays(records: list[DeadLetter], *, include_replayed: bool) -> list[DeadLetter]:
    replays = {
        (r.partition, r.headers[REPLAY_OF]): r.headers.get(REPLAYED_AT, "?") for r in records if REPLAY_OF in r.headers
    }
    letters = [
        replace(r, replayed_at=replays.get((r.partition, r.position))) for r in records if REPLAY_OF not in r.headers
    ]
    return letters if include_replayed else [d for d in letters if d.replayed_at is None]


async def replay(bootstrap_servers: str, letters: list[DeadLetter]) -> int:
    """Send each dead letter back to its origin topic, same key and bytes; then mark it replayed on its .dlq topic.

    The marker goes out only once the broker has the replayed message, so a letter is never marked but not sent.
    """
    producer = AIOKafkaProducer(**producer_config(bootstrap_servers, "crp-dlq-replay"))
    await producer.start()
    try:
        sends = []
        for letter in letters:
            headers = [(k, v.encode()) for k, v in letter.headers.items() if not k.startswith(DLQ_HEADER_PREFIX)]
            headers.append(("dlq-replayed-from", letter.position.encode()))
            sends.append(await producer.send(letter.origin_topic, letter.value, key=letter.key, headers=headers))
        await asyncio.gather(*sends)
        at = datetime.now(UTC).isoformat(timespec="seconds").encode()
        marks = [
            await producer.send(
                letter.topic,
                None,
                key=letter.key,
                partition=letter.partition,
                headers=[(REPLAY_OF, letter.position.encode()), (REPLAYED_AT, at)],
            )
            for letter in letters
            if letter.topic
        ]
        await asyncio.gather(*marks)
    finally:
        await producer.stop()
    return len(letters)

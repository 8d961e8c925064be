"""Dead letters: a message that cannot be applied goes to <topic>.dlq with the reason and origin."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from aiokafka import AIOKafkaProducer

from shared.contracts.topics import dlq

DLQ_HEADER_PREFIX = "dlq-"


@dataclass(frozen=True)
class RawMessage:
    """A consumed message as it arrived: where it came from and its bytes."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


def dead_letter_headers(message: RawMessage, *, consumer: str, reason: str, error: str) -> list[tuple[str, bytes]]:
    """The original headers plus the dlq-* headers documented in docs/asyncapi.yaml."""
    kept = [(k, v) for k, v in message.headers if not k.startswith(DLQ_HEADER_PREFIX)]
    return kept + [
        ("dlq-reason", reason.encode()),
        ("dlq-error", error[:500].encode()),
        ("dlq-origin-topic", message.topic.encode()),
        ("dlq-origin-partition", str(message.partition).encode()),
        ("dlq-origin-offset", str(message.offset).encode()),
        ("dlq-consumer", consumer.encode()),
        ("dlq-failed-at", datetime.now(UTC).isoformat().encode()),
    ]


class DeadLetters(Protocol):
    """Port: park a message that cannot be applied, so the consumer can go on."""

    async def send(self, message: RawMessage, *, reason: str, error: str) -> None: ...


class KafkaDeadLetters:
    """Writes dead letters to <topic>.dlq, same key, original bytes, and waits for the ack."""

    def __init__(self, producer: AIOKafkaProducer, consumer: str):
        self._producer = producer
        self._consumer = consumer

    async def send(self, message: RawMessage, *, reason: str, error: str) -> None:
        """Publish the dead letter; the caller commits the original offset only after this returns."""
        await self._producer.send_and_wait(
            dlq(message.topic),
            message.value,
            key=message.key,
            headers=dead_letter_headers(message, consumer=self._consumer, reason=reason, error=error),
        )


class InMemoryDeadLetters:
    """Fake DeadLetters for unit tests."""

    def __init__(self) -> None:
        self.letters: list[tuple[RawMessage, str, str]] = []

    async def send(self, message: RawMessage, *, reason: str, error: str) -> None:
        """Remember the dead letter."""
        self.letters.append((message, reason, error))

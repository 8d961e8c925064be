"""Publishing CloudEvents: the port, its Kafka adapter and an in-memory fake."""

from dataclasses import dataclass, field
from typing import Protocol

from aiokafka import AIOKafkaProducer

from shared.contracts.envelope import Envelope, encode


class EventPublisher(Protocol):
    """Sends one event to a topic, keyed for per-key order; returns when the broker has it."""

    async def publish(self, topic: str, envelope: Envelope, *, key: str | None = None) -> None: ...


def event_headers(envelope: Envelope) -> list[tuple[str, bytes]]:
    """CloudEvents binary-mode hints, so tools can filter without parsing the body."""
    return [("ce_type", envelope.type.encode()), ("ce_id", str(envelope.id).encode())]


class KafkaEventPublisher:
    """EventPublisher over an (idempotent, acks=all) aiokafka producer."""

    def __init__(self, producer: AIOKafkaProducer):
        self._producer = producer

    async def publish(self, topic: str, envelope: Envelope, *, key: str | None = None) -> None:
        """Send and wait for the acknowledgement; the key defaults to the event's subject."""
        await self._producer.send_and_wait(
            topic,
            encode(envelope),
            key=(key or envelope.subject).encode(),
            headers=event_headers(envelope),
        )


@dataclass
class InMemoryPublisher:
    """Fake EventPublisher for unit tests: remembers what was published, per topic."""

    published: list[tuple[str, str, Envelope]] = field(default_factory=list)

    async def publish(self, topic: str, envelope: Envelope, *, key: str | None = None) -> None:
        """Record the event instead of sending it."""
        self.published.append((topic, key or envelope.subject, envelope))

    def of_type(self, event_type: str) -> list[Envelope]:
        """The published events of one type, in order."""
        return [envelope for _, _, envelope in self.published if envelope.type == event_type]

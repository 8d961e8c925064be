"""The notify service's Kafka consumer: its own group, in order per key, bad messages dead-lettered."""

from services.notify.handlers import EVENT_HANDLERS, IGNORED_EVENTS
from shared.contracts.envelope import decode
from shared.contracts.topics import REFERRAL_EVENTS
from shared.kafka.dispatch import Dispatcher
from shared.kafka.processing import EventProcessor
from shared.runtime import Runtime

TOPICS = (REFERRAL_EVENTS,)
"""Logical topic names; the consumer subscribes to their physical names (settings.topic)."""


def event_processor(runtime: Runtime) -> EventProcessor:
    """Decode with the contracts, dispatch through the handler table, dead-letter what cannot apply."""
    return EventProcessor(
        consumer=runtime.settings.consumer_group,
        decoder=decode,
        handler=Dispatcher(EVENT_HANDLERS, IGNORED_EVENTS),
        dead_letters=runtime.dead_letters,
    )

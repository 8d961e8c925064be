"""The notify service's Kafka consumer: its own group, in order per key, bad messages dead-lettered."""

import functools

from services.notify.handlers import EVENT_HANDLERS, IGNORED_EVENTS
from services.notify.handlers.events import EventDeps
from shared.contracts.envelope import decode
from shared.contracts.topics import CONCERN_EVENTS, REFERRAL_EVENTS
from shared.kafka.dispatch import Dispatcher
from shared.kafka.processing import EventProcessor
from shared.runtime import Runtime

TOPICS = (REFERRAL_EVENTS, CONCERN_EVENTS)
"""Logical topic names; the consumer subscribes to their physical names (settings.topic)."""


def event_processor(runtime: Runtime, deps: EventDeps) -> EventProcessor:
    """Decode with the contracts, dispatch through the handler table, dead-letter what cannot apply."""
    handlers = {kind: functools.partial(handler, deps=deps) for kind, handler in EVENT_HANDLERS.items()}
    return EventProcessor(
        consumer=runtime.settings.consumer_group,
        decoder=decode,
        handler=Dispatcher(handlers, IGNORED_EVENTS),
        dead_letters=runtime.dead_letters,
    )

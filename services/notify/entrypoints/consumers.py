"""The notify service's Kafka consumer: the shared pipeline over referral-events and concern-events.

Notify fans each event out to many deliveries; applying a polled batch at once (one inbox insert, one delivery
insert, one feed insert, in one transaction) keeps up with routing where an event-at-a-time loop did not. A batch
refused as permanent is applied event by event by the pipeline, so only the bad event is dead-lettered.
"""

import functools

from services.notify.handlers import EVENT_HANDLERS
from services.notify.handlers.events import EventDeps, apply_batch
from shared.contracts.envelope import decode
from shared.contracts.topics import CONCERN_EVENTS, REFERRAL_EVENTS
from shared.kafka.dead_letters import DeadLetters
from shared.kafka.pipeline import Pipeline

TOPICS = (REFERRAL_EVENTS, CONCERN_EVENTS)
"""Logical topic names; the consumer subscribes to their physical names (settings.topic)."""


def pipeline(name: str, deps: EventDeps, dead_letters: DeadLetters) -> Pipeline:
    """Notify's handler table as a pipeline: each polled batch planned and written in one transaction."""
    return Pipeline(
        consumer=name,
        decoder=decode,
        apply=functools.partial(apply_batch, deps=deps, planners=EVENT_HANDLERS),
        handles=EVENT_HANDLERS,
        dead_letters=dead_letters,
    )

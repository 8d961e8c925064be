"""The intake service's Kafka consumers: concern-inbound (raw) and referral-events (CloudEvents).

Two consumers, because each topic has its own decoder: a source system must never be able to pass a
referral event off as inbound data (referrals decide who may read personal details).
"""

from collections.abc import Mapping

from services.intake.handlers import IGNORED_EVENTS
from shared.contracts.envelope import decode
from shared.contracts.inbound import decode_inbound
from shared.contracts.topics import CONCERN_INBOUND, REFERRAL_EVENTS
from shared.kafka.dispatch import Dispatcher, Handler
from shared.kafka.processing import EventProcessor
from shared.runtime import Runtime

TOPICS = (CONCERN_INBOUND, REFERRAL_EVENTS)
"""Logical topic names; the consumers subscribe to their physical names (settings.topic)."""


def inbound_processor(runtime: Runtime, handlers: Mapping[str, Handler]) -> EventProcessor:
    """Raw concerns from housing systems: decoded as InboundConcern, mapped, accepted or dead-lettered."""
    return EventProcessor(
        consumer=runtime.settings.consumer_group,
        decoder=decode_inbound,
        handler=Dispatcher({"InboundConcern": handlers["InboundConcern"]}),
        dead_letters=runtime.dead_letters,
    )


def referral_processor(runtime: Runtime, handlers: Mapping[str, Handler]) -> EventProcessor:
    """Referral events into intake's projection: who may read a concern, and its history."""
    return EventProcessor(
        consumer=referral_group(runtime.settings.consumer_group),
        decoder=decode,
        handler=Dispatcher({k: v for k, v in handlers.items() if k != "InboundConcern"}, ignored=IGNORED_EVENTS),
        dead_letters=runtime.dead_letters,
    )


def referral_group(consumer_group: str) -> str:
    """The consumer group of the referral projection (its own offsets, no rebalances shared with inbound)."""
    return f"{consumer_group}-referrals"

"""Handlers of the intake service: event type -> handler, one literal table; and its consumers, one per topic."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from services.intake.handlers.deps import Deps
from services.intake.handlers.inbound import handle_inbound
from services.intake.handlers.referrals import on_referral_clock, on_referral_created, on_referral_status_changed
from shared.contracts.envelope import decode
from shared.contracts.inbound import decode_inbound
from shared.contracts.referrals import (
    ReferralCreated,
    ReferralEscalated,
    ReferralSlaBreached,
    ReferralStatusChanged,
    ReferralSuggested,
    ReferralSuggestionDecided,
)
from shared.contracts.topics import CONCERN_INBOUND, REFERRAL_EVENTS
from shared.kafka.pipeline import ApplyBatch

INBOUND_CONCERN = "InboundConcern"

EVENT_HANDLERS: dict[str, Callable[[Deps, Any], Awaitable[None]]] = {
    INBOUND_CONCERN: handle_inbound,
    ReferralCreated.event_type: on_referral_created,
    ReferralStatusChanged.event_type: on_referral_status_changed,
    ReferralSlaBreached.event_type: on_referral_clock,
    ReferralEscalated.event_type: on_referral_clock,
}
"""Events this service applies. A type with no handler is dead-lettered, to be replayed once it has one."""

IGNORED_EVENTS: frozenset[str] = frozenset({ReferralSuggested.event_type, ReferralSuggestionDecided.event_type})
"""Event types this service reads but deliberately does not act on (a suggestion is the consultant's, in routing;
a confirmed one arrives as its referral.created.v1)."""


@dataclass(frozen=True)
class Consumer:
    """One of intake's consumers: how it decodes its topic, which types it applies and which it acknowledges."""

    decoder: Callable[[bytes], Any]
    handles: frozenset[str]
    ignores: frozenset[str] = frozenset()
    group_suffix: str = ""
    """Appended to the service's consumer group: its own offsets, no rebalances shared with the other consumer."""


CONSUMERS: dict[str, Consumer] = {
    # Raw concerns from housing systems: decoded as InboundConcern, mapped, accepted or dead-lettered. Each topic has
    # its own decoder: a source system must never pass a referral event off as inbound data (referrals decide who
    # may read personal details).
    CONCERN_INBOUND: Consumer(decode_inbound, frozenset({INBOUND_CONCERN})),
    # Referral events into intake's projection: who may read a concern, and its history.
    REFERRAL_EVENTS: Consumer(decode, frozenset(EVENT_HANDLERS) - {INBOUND_CONCERN}, IGNORED_EVENTS, "-referrals"),
}
"""Intake's consumers by logical topic; each runs the shared pipeline over its topic."""


def bind(deps: Deps) -> dict[str, ApplyBatch]:
    """The handler table with its dependencies filled in, each entry applying a batch event by event, in order."""
    return {event_type: _each(partial(handler, deps)) for event_type, handler in EVENT_HANDLERS.items()}


def _each(handler: Callable[[Any], Awaitable[None]]) -> ApplyBatch:
    async def apply(events: list[Any]) -> None:
        # Each handler keeps its own transaction per event (a concern's receipt is its own).
        for event in events:
            await handler(event)

    return apply

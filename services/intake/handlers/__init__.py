"""Handlers of the intake service: event type -> handler, one literal table."""

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from services.intake.handlers.deps import Deps
from services.intake.handlers.inbound import handle_inbound
from services.intake.handlers.referrals import on_referral_clock, on_referral_created, on_referral_status_changed
from shared.contracts.referrals import (
    ReferralCreated,
    ReferralEscalated,
    ReferralSlaBreached,
    ReferralStatusChanged,
    ReferralSuggested,
    ReferralSuggestionDecided,
)
from shared.kafka.dispatch import Handler

EVENT_HANDLERS: dict[str, Callable[[Deps, Any], Awaitable[None]]] = {
    "InboundConcern": handle_inbound,
    ReferralCreated.event_type: on_referral_created,
    ReferralStatusChanged.event_type: on_referral_status_changed,
    ReferralSlaBreached.event_type: on_referral_clock,
    ReferralEscalated.event_type: on_referral_clock,
}
"""Events this service applies. A type with no handler is dead-lettered, to be replayed once it has one."""

IGNORED_EVENTS: frozenset[str] = frozenset({ReferralSuggested.event_type, ReferralSuggestionDecided.event_type})
"""Event types this service reads but deliberately does not act on (a suggestion is the consultant's, in routing;
a confirmed one arrives as its referral.created.v1)."""


def bind(deps: Deps) -> dict[str, Handler]:
    """The handler table with its dependencies filled in, for the Dispatcher."""
    return {event_type: partial(handler, deps) for event_type, handler in EVENT_HANDLERS.items()}

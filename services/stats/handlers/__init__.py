"""Handlers of the stats service: event type -> handler, one literal table (the handlers are in `projections.py`,
the port they write through in `ports.py`)."""

from collections.abc import Awaitable, Callable
from typing import Any

from services.stats.handlers.ports import ProjectionWriter
from services.stats.handlers.projections import (
    concern_erased,
    concern_reported,
    notification_delivered,
    notification_failed,
    referral_created,
    referral_escalated,
    referral_sla_breached,
    referral_status_changed,
    referral_suggested,
    referral_suggestion_decided,
)
from shared.contracts.concerns import ConcernErased, ConcernReported
from shared.contracts.envelope import Envelope
from shared.contracts.notifications import NotificationDelivered, NotificationFailed
from shared.contracts.referrals import (
    ReferralCreated,
    ReferralEscalated,
    ReferralSlaBreached,
    ReferralStatusChanged,
    ReferralSuggested,
    ReferralSuggestionDecided,
)

Handler = Callable[[Envelope[Any], ProjectionWriter], Awaitable[None]]

EVENT_HANDLERS: dict[str, Handler] = {
    ConcernReported.event_type: concern_reported,
    ConcernErased.event_type: concern_erased,
    ReferralCreated.event_type: referral_created,
    ReferralStatusChanged.event_type: referral_status_changed,
    ReferralSlaBreached.event_type: referral_sla_breached,
    ReferralEscalated.event_type: referral_escalated,
    ReferralSuggested.event_type: referral_suggested,
    ReferralSuggestionDecided.event_type: referral_suggestion_decided,
    NotificationDelivered.event_type: notification_delivered,
    NotificationFailed.event_type: notification_failed,
}
"""Events this service applies. A type with no handler is dead-lettered, to be replayed once it has one."""

IGNORED_EVENTS: frozenset[str] = frozenset()
"""Event types this service reads but deliberately does not act on."""

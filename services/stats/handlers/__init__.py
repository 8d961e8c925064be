"""Handlers of the stats service: event type -> handler, one literal table at the bottom.

Each handler turns an event into projection updates through a `ProjectionWriter`; the caller (the
`ProjectionApplier`) owns the transaction and the inbox, so a replayed event never counts twice.
"""

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from services.stats.domain.facts import ConcernFact, StatusChange, acknowledges
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
from shared.contracts.vocabulary import ReferralStatus


class ProjectionWriter(Protocol):
    """The port the handlers write through (PostgreSQL in production, a list of calls in unit tests)."""

    async def record_concern(self, fact: ConcernFact) -> None: ...
    async def erase_concern(self, concern_id: str, subject_key: str, erased_at: Any) -> None: ...
    async def record_referral(self, data: ReferralCreated) -> None: ...
    async def record_status_change(self, change: StatusChange) -> None: ...
    async def count_clock_event(self, data: Any, column: str) -> None: ...
    async def record_delivery(self, data: Any, *, delivered: bool) -> None: ...
    async def record_suggestion(self, data: ReferralSuggested) -> None: ...
    async def record_suggestion_decision(self, data: ReferralSuggestionDecided) -> None: ...


async def concern_reported(event: Envelope[ConcernReported], writer: ProjectionWriter) -> None:
    """Count a new concern by day, department, municipality, category and severity."""
    data = event.data
    await writer.record_concern(
        ConcernFact(
            concern_id=data.concern_id,
            organisation_id=data.organisation_id,
            department_id=data.department_id,
            municipality_code=data.municipality_code,
            # A report naming no tenancy carries its department's key: never a repeat of the department's others.
            subject_key=None if data.subject_is_tenancy is False else data.subject_key,
            severity=str(data.severity),
            categories=tuple(str(c) for c in data.categories),
            reported_at=data.reported_at,
        )
    )


async def concern_erased(event: Envelope[ConcernErased], writer: ProjectionWriter) -> None:
    """Remove the concern's link to its tenancy."""
    await writer.erase_concern(event.data.concern_id, event.data.subject_key, event.data.erased_at)


async def referral_created(event: Envelope[ReferralCreated], writer: ProjectionWriter) -> None:
    """Start a referral's row: target, recipient, clock start."""
    await writer.record_referral(event.data)


async def referral_status_changed(event: Envelope[ReferralStatusChanged], writer: ProjectionWriter) -> None:
    """Fold a lifecycle move into the referral: state, time to answer, time to completion, outcome."""
    data = event.data
    completes = data.to_status is ReferralStatus.COMPLETED
    await writer.record_status_change(
        StatusChange(
            referral_id=data.referral_id,
            concern_id=data.concern_id,
            target=str(data.target),
            department_id=data.department_id,
            municipality_code=data.municipality_code,
            to_status=str(data.to_status),
            changed_at=data.changed_at,
            acknowledges=acknowledges(data.to_status, data.changed_by_role),
            completes=completes,
            outcome=str(data.outcome) if completes and data.outcome else None,
        )
    )


async def referral_sla_breached(event: Envelope[ReferralSlaBreached], writer: ProjectionWriter) -> None:
    """Count an SLA breach (acknowledgement not in time)."""
    await writer.count_clock_event(event.data, "sla_breaches")


async def referral_escalated(event: Envelope[ReferralEscalated], writer: ProjectionWriter) -> None:
    """Count an escalation (twice the due time passed)."""
    await writer.count_clock_event(event.data, "escalations")


async def notification_delivered(event: Envelope[NotificationDelivered], writer: ProjectionWriter) -> None:
    """A notification reached its recipient."""
    await writer.record_delivery(event.data, delivered=True)


async def notification_failed(event: Envelope[NotificationFailed], writer: ProjectionWriter) -> None:
    """A delivery attempt failed; `final` ones are delivery failures ops must look at."""
    await writer.record_delivery(event.data, delivered=False)


async def referral_suggested(event: Envelope[ReferralSuggested], writer: ProjectionWriter) -> None:
    """Count a suggestion a hint made, by hint."""
    await writer.record_suggestion(event.data)


async def referral_suggestion_decided(event: Envelope[ReferralSuggestionDecided], writer: ProjectionWriter) -> None:
    """Count the consultant's decision on a suggestion (confirmed or dismissed)."""
    await writer.record_suggestion_decision(event.data)


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

"""Stats' handlers: each turns an event into projection updates through a `ProjectionWriter`.

The caller (the `ProjectionApplier`) owns the transaction and the inbox, so a replayed event never counts twice.
"""

from services.stats.domain.facts import ConcernFact, StatusChange, acknowledges
from services.stats.handlers.ports import ProjectionWriter
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

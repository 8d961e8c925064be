"""Events about referrals, written by routing to the referral-events topic."""

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from shared.contracts.events import Code, EntityId, EventData, MunicipalityCode, SubjectKey, UtcDatetime
from shared.contracts.topics import REFERRAL_EVENTS
from shared.contracts.vocabulary import (
    ActorRole,
    Categories,
    Disclosure,
    Hint,
    LegalBasis,
    Outcome,
    ReferralStatus,
    ReferralTarget,
    RejectReason,
    Severity,
    Task,
)


class ReferralCreated(EventData):
    """Routing referred a concern to a recipient; the referral starts as `requested` and its clock runs."""

    event_type = "referral.created.v1"
    topic = REFERRAL_EVENTS

    referral_id: EntityId
    """Id of the referral, derived deterministically from concern id + target (+ recipient)."""
    concern_id: EntityId
    """The concern referred."""
    subject_key: SubjectKey
    """Pseudonymous key of the concern's tenancy; the Kafka key."""
    target: ReferralTarget
    """The kind of recipient."""
    recipient_id: EntityId
    """The recipient: a municipality's single entry point, a consultant or an association."""
    organisation_id: EntityId
    """The housing organisation the concern belongs to."""
    department_id: EntityId
    """The department / estate where the concern arose."""
    municipality_code: MunicipalityCode
    """Official 4-digit code of the department's municipality."""
    categories: Categories
    """The concern's categories this recipient may see (associations never see health categories)."""
    severity: Severity
    """Severity used for the clock, after repeats raised it."""
    urgent: bool
    """Whether the referral must be handled at once (acute, threats or violence, suspected abuse)."""
    repeated: bool
    """Whether three or more concerns about the tenancy arrived within 90 days."""
    legal_basis: LegalBasis
    """The legal basis for sharing personal details with this recipient; `none` means not shared."""
    disclosure: Disclosure
    """What the recipient may fetch through intake's API."""
    task: Task
    """What the recipient is asked to do."""
    suggested_function: Code | None = None
    """Municipal function suggested: housing_support, dementia_coordinator, social_psychiatry, ..."""
    rules_version: Annotated[int, Field(ge=1)]
    """Version of the routing rules that made the decision."""
    rule_id: Code
    """The rule that made the decision."""
    ack_due_at: UtcDatetime
    """When the recipient must have acknowledged the referral (Danish working days)."""
    created_at: UtcDatetime
    """When routing created the referral."""
    replaces_referral_id: EntityId | None = None
    """The rejected referral this one re-routes, along the fallback chain."""
    underretning: bool | None = None
    """True: a statutory notification (underretning, barnets lov) to the municipality's children and youth entry,
    acknowledged within 1 working day (24 hours when acute); absent for any other referral."""
    receipt_due_at: UtcDatetime | None = None
    """For an underretning: when the municipality must have confirmed its receipt (6 working days)."""


class ReferralStatusChanged(EventData):
    """A referral moved along its lifecycle (HL7 FHIR Task states)."""

    event_type = "referral.status_changed.v1"
    topic = REFERRAL_EVENTS

    referral_id: EntityId
    """The referral."""
    concern_id: EntityId
    """The concern it refers."""
    target: ReferralTarget
    """The kind of recipient."""
    municipality_code: MunicipalityCode
    """Official 4-digit code of the department's municipality."""
    department_id: EntityId
    """The department / estate where the concern arose."""
    from_status: ReferralStatus
    """State before the change."""
    to_status: ReferralStatus
    """State after the change."""
    reason: Code | None = None
    """Machine code of the reason; for `rejected` one of the RejectReason values."""
    outcome: Outcome | None = None
    """How the referral ended; present exactly when `to_status` is `completed`."""
    changed_by_role: ActorRole
    """Who made the change: the recipient's role, or `system`."""
    changed_at: UtcDatetime
    """When the change took effect."""
    rerouted_to_referral_id: EntityId | None = None
    """On a rejection: the referral that carries the concern on to the next recipient of the fallback chain. A new
    one (its referral.created.v1 follows), or, when that recipient has a referral of the concern open already, that
    one: it takes the rejected one over, so that a recipient never has two open referrals of one concern."""
    merged_into_open: bool | None = None
    """On a rejection: whether `rerouted_to_referral_id` was open already. It then carries the more demanding task of
    the two, urgency if either had it and the earlier due time; its legal basis and disclosure stay as they were."""
    rerouted_to_target: ReferralTarget | None = None
    """On a rejection: the kind of recipient `rerouted_to_referral_id` is addressed to."""
    rerouted_to_recipient_id: EntityId | None = None
    """On a rejection: the recipient `rerouted_to_referral_id` is addressed to."""
    rerouted_task: Task | None = None
    """On a rejection: what that recipient is asked to do now (for a referral open already, its task after taking
    the rejected one over: the task of a merged referral can only grow, e.g. from `inform` to `act`)."""

    @model_validator(mode="after")
    def _reason_and_outcome_fit(self) -> Self:
        rejected = self.to_status is ReferralStatus.REJECTED
        if rejected and self.reason is not None and self.reason not in set(RejectReason):
            raise ValueError("reason must be a reject reason when to_status is rejected")
        if (self.to_status is ReferralStatus.COMPLETED) != (self.outcome is not None):
            raise ValueError("outcome is required with to_status completed, and only then")
        return self


class ReferralClockRan(EventData):
    """What the clocks' events share: the referral, its recipient and the due time that passed (not an event)."""

    referral_id: EntityId
    """The referral."""
    concern_id: EntityId
    """The concern it refers."""
    target: ReferralTarget
    """The kind of recipient."""
    recipient_id: EntityId
    """The recipient that did not acknowledge."""
    municipality_code: MunicipalityCode
    """Official 4-digit code of the department's municipality."""
    department_id: EntityId
    """The department / estate where the concern arose."""
    severity: Severity
    """Severity that set the clock."""
    ack_due_at: UtcDatetime
    """When the acknowledgement was due."""


class ReferralSlaBreached(ReferralClockRan):
    """A referral was not acknowledged by its due time; the recipient is reminded. For an underretning also: its
    receipt was not confirmed within 6 working days (`clock` underretning_receipt)."""

    event_type = "referral.sla_breached.v1"
    topic = REFERRAL_EVENTS

    ack_due_at: UtcDatetime
    """When the acknowledgement was due (for the clock underretning_receipt: when the receipt was to be confirmed)."""
    breached_at: UtcDatetime
    """When the breach was detected."""
    clock: Literal["acknowledgement", "underretning_receipt"] | None = None
    """Which clock ran out; absent means acknowledgement (as on events from before the field existed)."""


class ReferralEscalated(ReferralClockRan):
    """A referral was still not acknowledged at twice its due time; it goes to the escalation contact."""

    event_type = "referral.escalated.v1"
    topic = REFERRAL_EVENTS

    escalation_contact_id: EntityId
    """The recipient's escalation contact, who now gets the referral."""
    escalated_at: UtcDatetime
    """When the referral escalated."""


class ReferralSuggested(EventData):
    """A hint (other than a danger or a child) suggests a recipient its category would add; the consultant decides."""

    event_type = "referral.suggested.v1"
    topic = REFERRAL_EVENTS

    suggestion_id: EntityId
    """The suggestion, derived deterministically from concern id + hint + target + recipient."""
    concern_id: EntityId
    """The concern."""
    hint: Hint
    """The hint intake's triage read (a code, never the text)."""
    target: ReferralTarget
    """The kind of recipient suggested."""
    recipient_id: EntityId
    """The recipient suggested."""
    organisation_id: EntityId
    """The housing organisation the concern belongs to."""
    department_id: EntityId
    """The department / estate where the concern arose."""
    municipality_code: MunicipalityCode
    """Official 4-digit code of the department's municipality."""
    rule_id: Code
    """The rule that would refer the concern with the hint's category."""
    suggested_at: UtcDatetime
    """When routing suggested it."""


class ReferralSuggestionDecided(EventData):
    """The consultant (or an admin) confirmed a suggestion (a referral carries it) or dismissed it; decided once."""

    event_type = "referral.suggestion_decided.v1"
    topic = REFERRAL_EVENTS

    suggestion_id: EntityId
    """The suggestion."""
    concern_id: EntityId
    """The concern."""
    hint: Hint
    """The hint that suggested it."""
    target: ReferralTarget
    """The kind of recipient suggested."""
    recipient_id: EntityId
    """The recipient suggested."""
    department_id: EntityId
    """The department / estate where the concern arose."""
    municipality_code: MunicipalityCode
    """Official 4-digit code of the department's municipality."""
    decision: Literal["confirmed", "dismissed"]
    """What was decided (the reason given stays in routing: it is free text)."""
    decided_by_role: ActorRole
    """Who decided: the consultant or an admin."""
    decided_at: UtcDatetime
    """When."""
    referral_id: EntityId | None = None
    """For a confirmation: the referral that carries it (created, or the recipient's open one)."""

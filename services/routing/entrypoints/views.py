"""What the HTTP API answers and accepts (pydantic models; the OpenAPI document shows them)."""

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from services.routing.domain.referral import Referral
from shared.contracts.vocabulary import (
    Category,
    Consent,
    Disclosure,
    LegalBasis,
    Outcome,
    ReferralStatus,
    ReferralTarget,
    Severity,
    Task,
)


class ReferralView(BaseModel):
    """A referral as its recipient, an admin or ops see it (no personal data: those stay in intake)."""

    referral_id: str
    concern_id: str
    subject_key: str
    organisation_id: str
    department_id: str
    municipality_code: str
    target: ReferralTarget
    recipient_id: str
    categories: tuple[Category, ...]
    severity: Severity
    urgent: bool
    repeated: bool
    legal_basis: LegalBasis
    disclosure: Disclosure
    task: Task
    suggested_function: str | None
    rules_version: int
    rule_id: str
    status: ReferralStatus
    ack_due_at: datetime
    escalate_at: datetime
    overdue: bool
    """Not acknowledged and past its due time."""
    created_at: datetime
    replaces_referral_id: str | None
    outcome: Outcome | None
    reject_reason: str | None
    breached_at: datetime | None
    escalated_at: datetime | None
    escalation_contact_id: str | None
    concern_erased: bool
    """The concern's personal details were erased in intake; the referral itself carries none."""
    history: list[dict[str, Any]] | None = None

    @classmethod
    def of(cls, referral: Referral, *, now: datetime, history: list[dict] | None = None) -> "ReferralView":
        """The view of a stored referral at time `now`."""
        values = asdict(referral)
        values.pop("concern_basis")
        values.pop("transitions")
        erased = values.pop("concern_erased_at") is not None
        overdue = referral.status is ReferralStatus.REQUESTED and referral.ack_due_at <= now
        return cls(**values, overdue=overdue, concern_erased=erased, history=history)


class ReferralPage(BaseModel):
    """One page of referrals, newest first."""

    items: list[ReferralView]
    next_offset: int | None


class TransitionRequest(BaseModel):
    """A move along the lifecycle: `to`, with `reason` for a rejection and `outcome` to complete."""

    model_config = ConfigDict(extra="forbid")

    to: ReferralStatus
    reason: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")] | None = None
    outcome: Outcome | None = None
    note: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    """Free text for the referral's history; never sent in events or logged."""


class TransitionResult(BaseModel):
    """The referral after the move, and the referral that replaces it when it was rejected."""

    referral: ReferralView
    rerouted_to: ReferralView | None = None


class SimulatedConcern(BaseModel):
    """The facts of a concern routing would look at (no personal details)."""

    model_config = ConfigDict(extra="forbid")

    department_id: Annotated[str, Field(min_length=1, max_length=128)]
    municipality_code: Annotated[str, Field(pattern=r"^\d{4}$")]
    categories: Annotated[list[Category], Field(min_length=1)]
    severity: Severity
    consent: Consent
    legal_basis: LegalBasis | None = None
    prior_concerns_90d: Annotated[int, Field(ge=0, le=1000)] = 0
    """How many other concerns about the tenancy arrived in the last 90 days (2 or more makes this a repeat)."""
    reported_at: datetime | None = None
    """When the concern arrives (default: now); sets the due times."""


class SimulationRequest(BaseModel):
    """A concern to route; optionally a draft rules document to try instead of the one in force."""

    model_config = ConfigDict(extra="forbid")

    concern: SimulatedConcern
    rules: dict[str, Any] | None = None


class SimulatedReferral(BaseModel):
    """A referral routing would create."""

    target: ReferralTarget
    recipient_id: str
    task: Task
    legal_basis: LegalBasis
    disclosure: Disclosure
    categories: tuple[Category, ...]
    urgent: bool
    suggested_function: str | None
    rule_id: str
    ack_due_at: datetime
    escalate_at: datetime


class SimulationResult(BaseModel):
    """What would happen to the concern, and which rules fired; nothing was stored or sent."""

    rules_version: int | None
    """The version in force used, or null when a draft document was simulated."""
    repeated: bool
    severity: Severity
    fired_rules: list[str]
    referrals: list[SimulatedReferral]


class RulesVersion(BaseModel):
    """A stored version of the rules document."""

    version: int
    created_at: datetime
    created_by: str
    document: dict[str, Any]

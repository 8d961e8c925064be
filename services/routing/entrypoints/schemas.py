"""What the HTTP API answers and accepts (pydantic models; the OpenAPI document shows them)."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from services.routing.domain.referral import Referral
from services.routing.domain.routing import ReferralPlan
from services.routing.domain.rules_diff import FieldChange, SectionDiff
from services.routing.domain.suggestions import Suggestion, Verdict
from shared.contracts.concern_report import ConcernReport
from shared.contracts.text import FreeText, Line
from shared.contracts.vocabulary import (
    DISCLOSURE_ERASED,
    Category,
    Consent,
    Disclosure,
    Hints,
    LegalBasis,
    Outcome,
    ReferralStatus,
    RejectReason,
    Severity,
)
from shared.web.derived import derived_from

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def _plausible(value: datetime) -> datetime:
    # Due times lie working days after it: 9999-12-31 was an overflow, and a 500.
    if not EARLIEST <= (value if value.tzinfo else value.replace(tzinfo=UTC)) < LATEST:
        raise ValueError(f"must lie between {EARLIEST.date()} and {LATEST.date()}")
    return value


ReportedAt = Annotated[datetime, AfterValidator(_plausible)]
"""When a simulated concern arrives: a moment from which due times can still be counted."""


class HistoryEntry(BaseModel):
    """One move of a referral, oldest first."""

    seq: int
    from_status: ReferralStatus
    to_status: ReferralStatus
    reason: str | None
    outcome: Outcome | None
    note: str | None
    """The mover's free text (never sent in events or logged)."""
    changed_by_role: str
    changed_at: datetime
    rerouted_to: str | None
    """The referral that replaced this one when it was rejected."""


class ReferralView(
    derived_from(
        Referral,
        leave_out=("concern_basis", "transitions", "concern_erased_at"),
        defaults=("underretning", "receipt_due_at", "receipt_breached_at"),  # answers before underretninger lacked them
    )
):
    """A referral as its recipient, an admin or ops see it (no personal data: those stay in intake)."""

    # Its fields are Referral's but routing's internals (the concern's own basis, the move count, when the concern
    # was erased); declared here is only what the view shows differently.

    disclosure: Disclosure | Literal["erased"]
    """What the recipient may see: as routed (full, anonymous, no_personal_details), or erased once the concern's
    personal details are (nothing personal is left in intake to fetch)."""
    overdue: bool
    """Not acknowledged and past its due time."""
    concern_erased: bool
    """The concern's personal details were erased in intake; the referral itself carries none."""
    history: list[HistoryEntry]
    """Its moves, oldest first (empty until it first moves); in every answer, lists and moves included."""
    suggestions: list["SuggestionView"] = []
    """On the consultant's referral, read one by one: the recipients the concern's hints suggest, open or decided
    (POST /v1/suggestions/{suggestion_id}/decision)."""

    @classmethod
    def of(
        cls, referral: Referral, *, now: datetime, history: list[dict], suggestions: list[Suggestion] = ()
    ) -> "ReferralView":
        """The view of a stored referral at time `now`, with its moves (and its concern's suggestions)."""
        values = cls.domain_values(referral)
        erased = referral.concern_erased_at is not None
        if erased:
            values["disclosure"] = DISCLOSURE_ERASED
        overdue = referral.status is ReferralStatus.REQUESTED and referral.ack_due_at <= now
        shown = [SuggestionView.of(s) for s in suggestions]
        return cls(**values, overdue=overdue, concern_erased=erased, history=history, suggestions=shown)


class SuggestionView(derived_from(Suggestion, leave_out=("decided_by", "organisation_id"))):
    """A recipient a hint suggests for a concern, and the consultant's decision (codes and ids only)."""

    # Its fields are Suggestion's: `hint` is the hint intake's triage read (its category's recipients are suggested),
    # `rule_id` the rule that would have referred the concern with that category, `referral_id` the referral that
    # carries a confirmed suggestion. Who decided stays in the audit record (only the role is shown).

    @classmethod
    def of(cls, suggestion: Suggestion) -> "SuggestionView":
        """The view of a stored suggestion."""
        return cls(**cls.domain_values(suggestion))


ReferralView.model_rebuild()


class SuggestionPage(BaseModel):
    """One page of suggestions, newest first."""

    items: list[SuggestionView]
    next_offset: int | None


class SuggestionDecisionRequest(BaseModel):
    """The consultant's decision on a suggestion: confirm (a referral to the recipient) or dismiss."""

    model_config = ConfigDict(extra="forbid")

    decision: Verdict
    reason: Annotated[FreeText, Field(min_length=1, max_length=500)] | None = None
    """Why (optional free text for the audit record; never sent in events or logged)."""


class SuggestionDecisionResult(BaseModel):
    """The suggestion as decided, and for a confirmation the referral that carries it."""

    suggestion: SuggestionView
    referral: ReferralView | None = None


class ReferralPage(BaseModel):
    """One page of referrals, newest first."""

    items: list[ReferralView]
    next_offset: int | None


class TransitionRequest(BaseModel):
    """A move along the lifecycle: `to`, with `reason` for a rejection and `outcome` to complete."""

    model_config = ConfigDict(extra="forbid")

    to: ReferralStatus
    reason: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=64,
                pattern=r"^[a-z][a-z0-9_]*$",
                description="Needed for `rejected`: one of " + ", ".join(RejectReason) + " (else a 422 naming it).",
            ),
        ]
        | None
    ) = None
    outcome: Outcome | None = None
    note: Annotated[FreeText, Field(min_length=1, max_length=2000)] | None = None
    """Free text for the referral's history; never sent in events or logged."""


class TransitionResult(BaseModel):
    """The referral after the move, and the referral that replaces it when it was rejected."""

    referral: ReferralView
    rerouted_to: ReferralView | None = None


class SimulatedConcern(BaseModel):
    """The facts of a concern routing looks at, as the simulation took them before it took intake's body."""

    model_config = ConfigDict(extra="forbid")

    department_id: Annotated[Line, Field(min_length=1, max_length=128)]
    municipality_code: Annotated[str, Field(pattern=r"^\d{4}$")]
    """Must be the department's municipality."""
    categories: Annotated[list[Category], Field(min_length=1)]
    severity: Severity
    consent: Consent
    legal_basis: LegalBasis | None = None
    prior_concerns_90d: Annotated[int, Field(ge=0, le=1000)] = 0
    reported_at: ReportedAt | None = None


class SimulationRequest(BaseModel):
    """A concern to route, as reported to intake; optionally an older stored version or a draft document."""

    model_config = ConfigDict(extra="forbid")

    concern: ConcernReport | None = None
    """The body of intake's POST /v1/concerns, as is; the municipality is the department's."""
    facts: SimulatedConcern | None = None
    """Deprecated: the thin facts the simulation took before (also accepted under `concern`); give one of the two."""
    municipality_code: Annotated[str, Field(pattern=r"^\d{4}$")] | None = None
    """Optional: the municipality the caller expects; a 422 naming this field when it is not the department's."""
    prior_concerns_90d: Annotated[int, Field(ge=0, le=1000)] = 0
    """How many other concerns about the tenancy arrived in the last 90 days (2 or more make this a repeat)."""
    reported_at: ReportedAt | None = None
    """When the concern arrives (default: now); sets the due times."""
    rules_version: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None
    """Route with this stored version instead of the one in force."""
    rules: dict[str, Any] | None = None
    """Route with this draft document instead (validated like PUT /v1/rules); not with `rules_version`."""
    hints: Hints = ()
    """The hints intake's triage would read in the description (routing never sees the text)."""

    @model_validator(mode="before")
    @classmethod
    def _old_shape(cls, value: Any) -> Any:
        """The old input put the facts under `concern`: read them as `facts` (they name the municipality)."""
        concern = value.get("concern") if isinstance(value, dict) else None
        old = isinstance(concern, dict) and "municipality_code" in concern and "reporter" not in concern
        if old and "facts" not in value:
            return {**{k: v for k, v in value.items() if k != "concern"}, "facts": concern}
        return value


class SimulatedReferral(derived_from(ReferralPlan, leave_out=("underretning",))):
    """A referral routing would create."""

    # Its fields are the ReferralPlan's (the plan of a referral), with the due times it would get.
    ack_due_at: datetime
    escalate_at: datetime


class SimulationResult(BaseModel):
    """What would happen to the concern, and which rules fired; nothing was stored or sent."""

    rules_version: int | None
    """The stored version used (the one in force unless `rules_version` was asked for); null for a draft."""
    department_id: str
    municipality_code: str
    """The department's municipality, from the reference directory."""
    repeated: bool
    severity: Severity
    fired_rules: list[str]
    referrals: list[SimulatedReferral]


class RulesVersion(BaseModel):
    """A stored version of the rules document."""

    version: int
    created_at: datetime
    created_by: str
    """The admin client that stored it (`default`: the default file, stored at first start)."""
    document: dict[str, Any]


class RulesVersionSummary(BaseModel):
    """A stored version without its document."""

    version: int
    created_at: datetime
    created_by: str
    name: str
    description: str


class RulesVersionPage(BaseModel):
    """Stored versions, newest first; `next_before` asks for the page after this one (null: none left)."""

    items: list[RulesVersionSummary]
    next_before: int | None


class RulesDiff(BaseModel):
    """What changed from version `against` to version `version` (a null `before` or `after`: the field is absent)."""

    version: int
    against: int | None
    """The version compared with; null when `version` is the first (everything in it is added)."""
    rules: SectionDiff
    """Rules by id: added, removed, changed (with the changed fields), and whether their order changed."""
    sections: dict[str, SectionDiff]
    """Other keyed sections that changed (e.g. municipalities, consultants, associations), entries by id or code."""
    fields: list[FieldChange]
    """Other fields that changed (name, description, health_categories, fallback chains), by dotted path."""
    unified: str
    """A unified diff of the two versions' YAML, for reading line by line."""

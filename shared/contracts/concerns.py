"""Events about concerns, written by intake to the concern-events topic."""

from shared.contracts.events import EntityId, EventData, MunicipalityCode, SubjectKey, UtcDatetime
from shared.contracts.topics import CONCERN_EVENTS
from shared.contracts.vocabulary import (
    Categories,
    ChildrenInHousehold,
    Consent,
    Hints,
    IntakeChannel,
    LegalBasis,
    ReporterRole,
    Severity,
)


class ConcernReported(EventData):
    """A concern about a resident was reported and accepted by intake.

    Thin by design: the description, the reporter's and the resident's details stay encrypted in
    intake and are fetched through its API by a recipient whose referral allows it.
    """

    event_type = "concern.reported.v1"
    topic = CONCERN_EVENTS

    concern_id: EntityId
    """Id of the concern in intake."""
    organisation_id: EntityId
    """The housing organisation (boligorganisation) the concern belongs to."""
    department_id: EntityId
    """The department / estate (afdeling) where the concern arose."""
    municipality_code: MunicipalityCode
    """Official 4-digit code of the department's municipality, e.g. 0316 (Holbæk)."""
    subject_key: SubjectKey
    """Pseudonymous key of the tenancy (or the department when no tenancy is named); the Kafka key."""
    categories: Categories
    """One or more categories, each at most once."""
    severity: Severity
    """Severity after intake's checks (repeats raise it)."""
    consent: Consent
    """Whether the resident consented to sharing personal details."""
    legal_basis: LegalBasis | None = None
    """Legal basis for sharing personal details, when the reporter named one."""
    observed_at: UtcDatetime
    """When the reporter observed what the concern is about."""
    reported_at: UtcDatetime
    """When intake accepted the concern."""
    reporter_role: ReporterRole
    """The kind of reporter (caretaker, resident representative, ...), never who."""
    channel: IntakeChannel
    """How the concern arrived."""
    source_system: EntityId | None = None
    """Id of the integrated housing system, for concerns that arrived on concern-inbound."""
    has_reporter_contact: bool
    """Whether intake holds contact details for the reporter (for receipts and questions)."""
    has_resident_details: bool
    """Whether intake holds personal details of the resident."""
    subject_is_tenancy: bool | None = None
    """Whether the report named a tenancy. False: `subject_key` is the department's, so the concern is no repeat
    of others in the department. Absent on events from before the field existed (read as named)."""
    hints: Hints | None = None
    """What intake's triage read in the description (codes only; the text never leaves intake), e.g.
    possible_suicide_risk. Absent when nothing was read, and on events from before the field existed."""
    children_in_household: ChildrenInHousehold | None = None
    """Whether children live in the household, when the reporter said."""
    danger_confirmed: bool | None = None
    """Whether the reporter confirmed a danger to life or health now; absent when not asked."""


class ConcernErased(EventData):
    """A concern's personal details were erased everywhere (its data key was destroyed)."""

    event_type = "concern.erased.v1"
    topic = CONCERN_EVENTS

    concern_id: EntityId
    """Id of the erased concern."""
    subject_key: SubjectKey
    """Pseudonymous key of the concern's tenancy; the Kafka key."""
    erased_at: UtcDatetime
    """When the erasure took effect."""

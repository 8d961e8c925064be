"""The fixed vocabularies of DESIGN.md: categories, severities, legal bases, lifecycle states and codes."""

from enum import StrEnum
from typing import Annotated, Final

from pydantic import AfterValidator, Field


def _unique(values: tuple) -> tuple:
    if len(set(values)) != len(values):
        raise ValueError("items must be unique")
    return values


class Category(StrEnum):
    """The fixed set of concern categories."""

    MENTAL_HEALTH = "mental_health"
    DEMENTIA_SIGNS = "dementia_signs"
    NEGLECT_OF_DWELLING = "neglect_of_dwelling"  # mislighold
    ODOUR_NUISANCE = "odour_nuisance"  # lugtgener
    HOARDING = "hoarding"
    SELF_NEGLECT = "self_neglect"
    NEIGHBOUR_CONFLICT = "neighbour_conflict"
    NOISE = "noise"
    THREATS_OR_VIOLENCE = "threats_or_violence"
    SUSPECTED_ABUSE = "suspected_abuse"
    LONELINESS = "loneliness"
    RENT_ARREARS = "rent_arrears"
    EVICTION_RISK = "eviction_risk"  # risiko for udsættelse
    SUBSTANCE_ABUSE = "substance_abuse"
    CHILD_WELFARE = "child_welfare"  # bekymring for et barn (underretning, barnets lov)
    OTHER = "other"


Categories = Annotated[
    tuple[Category, ...],
    Field(min_length=1, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_unique),
]
"""One or more categories, each at most once."""


class Hint(StrEnum):
    """What intake's triage read in the reporter's free text (only the code leaves intake, never the text)."""

    POSSIBLE_SUICIDE_RISK = "possible_suicide_risk"
    POSSIBLE_FALL_OR_HELPLESS = "possible_fall_or_helpless"
    FIRE_OR_GAS = "fire_or_gas"
    VIOLENCE_OR_THREATS = "violence_or_threats"
    CHILD_AT_RISK = "child_at_risk"
    POSSIBLE_HOARDING = "possible_hoarding"
    POSSIBLE_DEMENTIA = "possible_dementia"
    POSSIBLE_MENTAL_HEALTH = "possible_mental_health"
    POSSIBLE_SUBSTANCE_ABUSE = "possible_substance_abuse"
    POSSIBLE_EVICTION = "possible_eviction"


DANGER_HINTS: Final = frozenset(
    {Hint.POSSIBLE_SUICIDE_RISK, Hint.FIRE_OR_GAS, Hint.POSSIBLE_FALL_OR_HELPLESS, Hint.VIOLENCE_OR_THREATS}
)
"""Hints of danger to life or health now: the concern is urgent."""

Hints = Annotated[tuple[Hint, ...], Field(json_schema_extra={"uniqueItems": True}), AfterValidator(_unique)]
"""Hint codes, each at most once."""


class ChildrenInHousehold(StrEnum):
    """Whether children live in the household the concern is about."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class Severity(StrEnum):
    """How serious a concern is; sets the acknowledgement clock (acute 1 hour ... low 6 working days)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    ACUTE = "acute"


class Consent(StrEnum):
    """Whether the resident consented to sharing personal details."""

    GIVEN = "given"
    REFUSED = "refused"
    NOT_ASKED = "not_asked"


class LegalBasis(StrEnum):
    """The legal basis for sharing personal details with a recipient; `none` means anonymous only."""

    CONSENT = "consent"
    VITAL_INTEREST = "vital_interest"
    STATUTORY_DUTY = "statutory_duty"
    NONE = "none"


class ReporterRole(StrEnum):
    """Who reported the concern (vicevært = caretaker, beboerdemokrat = resident representative)."""

    CARETAKER = "caretaker"
    RESIDENT_REPRESENTATIVE = "resident_representative"
    ADMINISTRATION = "administration"
    CONSULTANT = "consultant"
    SYSTEM = "system"
    OTHER = "other"


class IntakeChannel(StrEnum):
    """How the concern arrived: the HTTP API or the concern-inbound topic."""

    HTTP = "http"
    INBOUND = "inbound"


class ReferralTarget(StrEnum):
    """Who a referral goes to: the municipality's single entry point, the consultant, an association."""

    MUNICIPALITY = "municipality"
    CONSULTANT = "consultant"
    ASSOCIATION = "association"


class ReferralStatus(StrEnum):
    """Lifecycle states of a referral, aligned with HL7 FHIR Task."""

    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Outcome(StrEnum):
    """How a completed referral ended."""

    SUPPORT_ESTABLISHED = "support_established"
    EVICTION_AVOIDED = "eviction_avoided"
    DWELLING_RESTORED = "dwelling_restored"
    MOVED_TO_SUITABLE_HOUSING = "moved_to_suitable_housing"
    RESIDENT_DECLINED_HELP = "resident_declined_help"
    COULD_NOT_CONTACT = "could_not_contact"
    NO_ACTION_NEEDED = "no_action_needed"


class RejectReason(StrEnum):
    """Why a recipient rejected a referral; the referral is then re-routed along a fallback chain."""

    NOT_OUR_RESPONSIBILITY = "not_our_responsibility"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    NO_CONSENT = "no_consent"
    CAPACITY = "capacity"
    DUPLICATE = "duplicate"


class Disclosure(StrEnum):
    """What the recipient may see: everything, an anonymous consultation, or the case without personal data."""

    FULL = "full"
    ANONYMOUS = "anonymous"
    NO_PERSONAL_DETAILS = "no_personal_details"


DISCLOSURE_ERASED: Final = "erased"
"""What a view of a concern or referral discloses once the concern's personal details are erased: nothing personal
is left to show anyone. Views only (intake's and routing's answers); events keep the disclosure a referral was given."""


class Task(StrEnum):
    """What the recipient is asked to do."""

    ACT = "act"
    INFORM = "inform"
    OBTAIN_CONSENT = "obtain_consent"
    TRIAGE = "triage"
    CALL = "call"
    """Call at once: the text points to a danger the reporter did not confirm (assess it, and ask for consent)."""


class ClientRole(StrEnum):
    """Roles of API clients (DESIGN.md, public HTTP contract)."""

    REPORTER = "reporter"
    CONSULTANT = "consultant"
    MUNICIPALITY = "municipality"
    ASSOCIATION = "association"
    OPS = "ops"
    ADMIN = "admin"


class ActorRole(StrEnum):
    """Who changed something: an API client role, or `system` for the platform itself (clocks, routing)."""

    REPORTER = "reporter"
    CONSULTANT = "consultant"
    MUNICIPALITY = "municipality"
    ASSOCIATION = "association"
    OPS = "ops"
    ADMIN = "admin"
    SYSTEM = "system"


class NotificationChannel(StrEnum):
    """How a notification went out."""

    WEBHOOK = "webhook"
    EMAIL = "email"
    FEED = "feed"

"""The views of intake's API: every response shape, in one place (filled by the handlers and routes)."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from services.intake.domain.guidance import Guidance, HintGuidance
from shared.contracts.vocabulary import Disclosure


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)


class ConcernReceipt(_Body):
    """The answer to a reported concern: keep the receipt code, and read the guidance now."""

    id: str
    """The concern's id."""
    status: Literal["received"]
    """received: stored durably; routing picks it up from here."""
    received_at: datetime
    """When intake accepted the concern."""
    receipt_code: str
    """A short code to quote when asking about the concern, e.g. K7WX-3MPQ: GET /v1/concerns/{receipt_code}."""
    guidance: list[Guidance]
    """Practical guidance in Danish for the concern's categories."""
    hints: list[HintGuidance] = []
    """What the description may point to (danger first), with what to do now, in Danish; empty when nothing."""


class ErasureResult(_Body):
    """The concern's personal details are destroyed."""

    id: str
    status: Literal["erased"]
    erased_at: datetime


class ConsentAnswer(_Body):
    """The resident's answer when the consultant asked for consent to share their details."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True, extra="forbid")
    consent: Literal["given", "refused"]
    """`given`: the municipality's referral discloses the details from now on (basis `consent`); `refused`: they
    stay withheld."""


class ConsentRegistered(_Body):
    """The consent on record for the concern."""

    id: str
    consent: Literal["given", "refused"]
    registered_by: str
    """The person or API client that registered it."""
    registered_at: datetime


class DepartmentView(_Body):
    """A department (afdeling) the caller may report on."""

    id: str
    name: str
    organisation_id: str
    municipality_code: str
    """Official 4-digit code of the department's municipality."""
    tenancies: int
    """Number of tenancies (lejemål) in the department."""


class AuditView(_Body):
    """One audited access to a concern's personal details."""

    client_id: str
    role: str
    action: Literal["read_details", "read_reporter_contact", "erasure", "register_consent"]
    basis: str
    at: datetime


class ReporterView(_Body):
    """The reporter as they identified themselves."""

    name: str | None = None
    contact: str | None = None


class ResidentView(_Body):
    """The resident's personal details."""

    name: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    date_of_birth: date | None = None


class DetailsView(_Body):
    """Personal details and free text, decrypted for a caller whose role and legal basis allow it."""

    description: str
    """What was observed, in the reporter's words."""
    tenancy_id: str | None = None
    """The tenancy (lejemål)."""
    reporter: ReporterView
    """Who reported."""
    resident: ResidentView | None = None
    """The resident, when the reporter gave details."""


class ReferralView(_Body):
    """One referral of the concern; recipient, basis and task only for callers who may see them."""

    referral_id: str
    target: str
    status: str
    created_at: datetime
    updated_at: datetime
    recipient_id: str | None = None
    disclosure: str | None = None
    """What the referral discloses: as it was given, or erased once the concern's personal details are."""
    legal_basis: str | None = None
    task: str | None = None


class HistoryView(_Body):
    """One step in the concern's life: reported, referred, status changes, breaches, escalations, erasure."""

    at: datetime
    event: str
    referral_id: str | None = None
    target: str | None = None
    from_status: str | None = None
    to_status: str | None = None
    reason: str | None = None
    outcome: str | None = None


class ExternalRefView(_Body):
    """The concern's id in the system that reported it."""

    system: str
    id: str


class ConcernView(_Body):
    """A concern with its referrals and history, as the caller may see it."""

    id: str
    status: Literal["received", "referred", "erased"]
    """received (not yet referred), referred, or erased (personal details destroyed)."""
    disclosure: Disclosure | Literal["erased"]
    """What this caller sees: full, anonymous (no identifying data), no_personal_details, or erased (the personal
    details are destroyed: nothing personal is disclosed to anyone)."""
    receipt_code: str | None = None
    """The receipt code: for ops, admins and the client that reported it (null for referral recipients)."""
    external_ref: ExternalRefView | None = None
    """The reporting system's id of the concern, when it has one (shown to whom the receipt code is shown)."""
    received_at: datetime
    observed_at: datetime
    organisation_id: str
    department_id: str
    municipality_code: str
    categories: list[str]
    """The categories this caller may see (an association never sees health categories)."""
    severity: str
    consent: str | None = None
    legal_basis: str | None = None
    reporter_role: str
    channel: str
    source_system: str | None = None
    erased_at: datetime | None = None
    details: DetailsView | None = None
    """Personal details and free text; null when the caller may not see them, or after erasure."""
    referrals: list[ReferralView]
    history: list[HistoryView]


class ContactView(_Body):
    """How notify may reach the reporter (GET /v1/concerns/{id}/reporter-contact)."""

    channel: Literal["email", "sms"] | None
    """email or sms; null when the reporter left a contact that is neither (it is not used to notify)."""
    address: str
    receipt_code: str
    """The concern's receipt code, which every mail to the reporter quotes (never the id alone)."""


class ConcernSummary(_Body):
    """One line of a concern list (GET /v1/concerns): no personal details, nothing decrypted."""

    id: str
    receipt_code: str | None = None
    """For ops, admins, the client that reported it, and the organisation's reporters for its inbound concerns."""
    external_ref: ExternalRefView | None = None
    status: Literal["received", "referred", "erased"]
    referral_statuses: list[str]
    """The status of each referral, oldest first (no recipients, reasons or outcomes)."""
    received_at: datetime
    organisation_id: str
    department_id: str
    municipality_code: str
    categories: list[str]
    severity: str
    channel: str
    source_system: str | None = None


class ConcernPage(_Body):
    """A page of concerns, newest first."""

    items: list[ConcernSummary]
    limit: int
    offset: int
    next_offset: int | None = None
    """The offset of the next page; null on the last page."""

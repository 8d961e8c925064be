"""Who may see what of a concern (DESIGN.md, "Legal basis per recipient"): pure rules, no I/O."""

from dataclasses import dataclass

from shared.auth.principal import PLATFORM_WIDE, Principal, Role
from shared.contracts.vocabulary import Category, Disclosure, LegalBasis, ReferralStatus, ReferralTarget

HEALTH_CATEGORIES = frozenset(
    {Category.MENTAL_HEALTH, Category.DEMENTIA_SIGNS, Category.SUBSTANCE_ABUSE, Category.SELF_NEGLECT}
)
"""Categories that reveal health (GDPR art. 9): never shown to an association."""

CLOSED_WITHOUT_HELP = frozenset({ReferralStatus.REJECTED, ReferralStatus.CANCELLED, ReferralStatus.FAILED})
"""A referral in these states no longer carries a right to personal details."""

SHARING_BASES = frozenset({LegalBasis.CONSENT, LegalBasis.VITAL_INTEREST, LegalBasis.STATUTORY_DUTY})


@dataclass(frozen=True)
class ConcernFacts:
    """What the rules need to know about a concern."""

    organisation_id: str
    department_id: str
    municipality_code: str
    reporter_client_id: str | None


@dataclass(frozen=True)
class ReferralFacts:
    """What the rules need to know about one of the concern's referrals (from referral-events)."""

    referral_id: str
    target: ReferralTarget
    department_id: str
    municipality_code: str
    disclosure: Disclosure
    legal_basis: LegalBasis
    status: ReferralStatus
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Access:
    """What a caller sees: its disclosure level, the audit basis when details are shown, and which referrals."""

    disclosure: Disclosure
    basis: str | None = None
    referral_ids: frozenset[str] | None = None
    """The referrals the caller sees; None means all of them."""
    categories: frozenset[str] | None = None
    """The categories the caller sees; None means all of them."""
    referral_details: bool = True
    """Whether the caller sees recipients, reasons and outcomes (a reporter sees statuses only)."""

    @property
    def shows_details(self) -> bool:
        """Whether personal details and free text are decrypted for this caller."""
        return self.disclosure is Disclosure.FULL


def decide_access(principal: Principal, concern: ConcernFacts, referrals: list[ReferralFacts]) -> Access | None:
    """The caller's view of the concern, or None when the caller may not know it exists."""
    if principal.role is Role.ADMIN:
        return Access(Disclosure.FULL, basis="admin")
    if principal.role is Role.OPS:
        return Access(Disclosure.ANONYMOUS)
    if principal.role is Role.REPORTER:
        own = concern.reporter_client_id is not None and concern.reporter_client_id == principal.client_id
        in_scope = principal.covers(department_id=concern.department_id, organisation_id=concern.organisation_id)
        return Access(Disclosure.FULL, basis="own_report", referral_details=False) if own and in_scope else None
    mine = [r for r in referrals if _addressed_to(principal, r)]
    if not mine:
        return _own_report(principal, concern)
    ids = frozenset(r.referral_id for r in mine)
    if principal.role is Role.ASSOCIATION:
        seen = frozenset(c for r in mine for c in r.categories) - HEALTH_CATEGORIES
        return Access(Disclosure.NO_PERSONAL_DETAILS, referral_ids=ids, categories=seen)
    sharing = [r for r in mine if _may_share(principal.role, r)]
    if sharing:
        return Access(Disclosure.FULL, basis=_basis(sharing[0]), referral_ids=ids)
    return Access(Disclosure.ANONYMOUS, referral_ids=ids)


def _own_report(principal: Principal, concern: ConcernFacts) -> Access | None:
    """A consultant who reported the concern itself sees its own report as a reporter does, with no referral."""
    own = concern.reporter_client_id is not None and concern.reporter_client_id == principal.client_id
    if principal.role is Role.CONSULTANT and own and principal.covers(department_id=concern.department_id):
        return Access(Disclosure.FULL, basis="own_report", referral_details=False)
    return None


def sees_receipt_code(principal: Principal, concern: ConcernFacts) -> bool:
    """Whether the caller is shown the receipt code (and external ref): ops and admins (support finds a caller's
    case by it), the client that reported the concern, and a reporter of the organisation for a concern its
    housing system sent in (concern-inbound: no client reported it). Recipients identify cases by referral id.
    """
    if principal.role in PLATFORM_WIDE:
        return True
    if concern.reporter_client_id is not None:
        return concern.reporter_client_id == principal.client_id
    return principal.role is Role.REPORTER and principal.covers(
        department_id=concern.department_id, organisation_id=concern.organisation_id
    )


def _addressed_to(principal: Principal, referral: ReferralFacts) -> bool:
    if principal.role is Role.MUNICIPALITY:
        return referral.target is ReferralTarget.MUNICIPALITY and referral.municipality_code == (
            principal.municipality_code
        )
    if principal.role is Role.CONSULTANT:
        return referral.target is ReferralTarget.CONSULTANT and referral.department_id in principal.department_ids
    if principal.role is Role.ASSOCIATION:
        return referral.target is ReferralTarget.ASSOCIATION and referral.department_id in principal.department_ids
    return False


def _may_share(role: Role, referral: ReferralFacts) -> bool:
    if referral.disclosure is not Disclosure.FULL or referral.status in CLOSED_WITHOUT_HELP:
        return False
    # A municipality is outside the housing organisation: it needs consent, vital interest or statutory duty.
    return role is Role.CONSULTANT or referral.legal_basis in SHARING_BASES


def _basis(referral: ReferralFacts) -> str:
    if referral.legal_basis in SHARING_BASES:
        return referral.legal_basis.value
    return "housing_social_task"  # the organisation's own consultant, handling "the ability to live"


CONSENT_REACHES = frozenset({ReferralTarget.MUNICIPALITY, ReferralTarget.CONSULTANT})
"""The recipients a resident's registered consent opens the details to (never an association)."""


def gains_consent(target: ReferralTarget, legal_basis: LegalBasis, registered_consent: str | None) -> bool:
    """Whether a referral routed without a legal basis has one now: the consultant registered the resident's
    consent after the report (POST /v1/concerns/{id}/consent), so its basis becomes `consent`."""
    return registered_consent == "given" and legal_basis is LegalBasis.NONE and target in CONSENT_REACHES


def may_register_consent(principal: Principal, concern: ConcernFacts) -> bool:
    """Whether the caller may register the resident's consent: an admin, or a consultant whose departments cover
    the concern (the one who asks the resident; DESIGN.md, "Legal basis per recipient")."""
    if principal.role is Role.ADMIN:
        return True
    return principal.role is Role.CONSULTANT and concern.department_id in principal.department_ids


class ConsentConflict(Exception):
    """The consent cannot be registered: the concern is erased, or another answer is already on record."""


def check_consent(answer: str, *, reported: str, registered: bool, erased: bool) -> bool:
    """Whether registering `answer` changes anything (False: the same answer is already registered, a replay).

    Raises ConsentConflict for an erased concern (nothing left to disclose), for an answer other than one already
    registered, and for `refused` over consent given in the report (a withdrawal: the referrals routed on that
    consent are routing's to change, not this registration's)."""
    if erased:
        raise ConsentConflict("the concern is erased: there are no personal details left to disclose")
    if registered:
        if reported != answer:
            raise ConsentConflict(
                "the resident's consent is already registered as given"
                if reported == "given"
                else "the resident's refusal of consent is already registered"
            )
        return False
    if reported == "given" and answer != "given":
        raise ConsentConflict("consent was given in the report; withdrawing it is not a registration")
    return True

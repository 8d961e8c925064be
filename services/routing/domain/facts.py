"""What routing knows about a concern when it decides: thin facts, never personal details."""

from dataclasses import dataclass
from datetime import datetime

from shared.contracts.vocabulary import Category, ChildrenInHousehold, Consent, Hint, LegalBasis, Severity

SEVERITY_ORDER = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.ACUTE)


def raised(severity: Severity) -> Severity:
    """One step up (acute stays acute): how a repeated concern is treated."""
    index = SEVERITY_ORDER.index(severity)
    return SEVERITY_ORDER[min(index + 1, len(SEVERITY_ORDER) - 1)]


@dataclass(frozen=True)
class ConcernFacts:
    """The parts of concern.reported.v1 the rules look at, plus whether it is a repeat."""

    concern_id: str
    organisation_id: str
    department_id: str
    municipality_code: str
    subject_key: str
    categories: frozenset[Category]
    severity: Severity
    consent: Consent
    legal_basis: LegalBasis | None
    reported_at: datetime
    repeated: bool = False
    hints: frozenset[Hint] = frozenset()
    """What intake's triage read in the description (codes only)."""
    children_in_household: ChildrenInHousehold | None = None
    danger_confirmed: bool = False
    """The reporter confirmed a danger to life or health now."""

    @property
    def effective_severity(self) -> Severity:
        """The severity the clocks and rules use: raised one step when the concern is a repeat."""
        return raised(self.severity) if self.repeated else self.severity

    @property
    def basis_for_personal_details(self) -> LegalBasis | None:
        """Consent, or the vital interest / statutory duty the reporter named; None when there is neither."""
        if self.consent is Consent.GIVEN:
            return LegalBasis.CONSENT
        if self.legal_basis in (LegalBasis.VITAL_INTEREST, LegalBasis.STATUTORY_DUTY):
            return self.legal_basis
        return None

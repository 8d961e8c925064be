"""The rules document: rules, fallback chains and the recipients per municipality and department."""

from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, model_validator

from services.routing.domain.rules import Rule, Strict
from shared.contracts.text import FreeText, Line
from shared.contracts.vocabulary import Category, ReferralTarget

RecipientId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
MunicipalityCode = Annotated[str, Field(pattern=r"^\d{4}$")]


class FallbackStep(StrEnum):
    """Where a rejected referral may go next."""

    CONSULTANT = "consultant"
    """The consultant covering the department."""
    CONSULTANT_ESCALATION = "consultant_escalation"
    """The escalation contact of that consultant (e.g. the consultants' manager)."""
    MUNICIPALITY = "municipality"
    """The municipality's single entry point."""


class Municipality(Strict):
    """A municipality's single entry point (én indgang)."""

    name: Line = ""
    single_entry: RecipientId
    escalation_contact: RecipientId
    children_entry: RecipientId | None = None
    """The children and youth entry (børne- og ungeindgang), where underretninger go; escalates as the single
    entry does."""


class Consultant(Strict):
    """A housing-social consultant (boligsocial konsulent) and the departments it covers."""

    name: Line = ""
    departments: Annotated[tuple[RecipientId, ...], Field(min_length=1)]
    escalation_contact: RecipientId


class Association(Strict):
    """An organised volunteer association (frivillig forening) registered for departments."""

    name: Line = ""
    departments: Annotated[tuple[RecipientId, ...], Field(min_length=1)]
    escalation_contact: RecipientId


class RulesDocument(Strict):
    """A complete, validated rules document; stored as a new version by PUT /v1/rules."""

    name: Line = Field(..., min_length=1, max_length=100)
    description: FreeText = Field("", max_length=1000)
    health_categories: frozenset[Category]
    rules: Annotated[tuple[Rule, ...], Field(min_length=1)]
    fallback: dict[ReferralTarget, Annotated[tuple[FallbackStep, ...], Field(min_length=1)]]
    # The recipient sections come from the reference directory (intake owns it; routing follows the
    # reference-data topic): a stored document leaves them out, and routing fills them in (adapters/directory.py).
    municipalities: dict[MunicipalityCode, Municipality] = {}
    consultants: dict[RecipientId, Consultant] = {}
    associations: dict[RecipientId, Association] = {}

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [rule.id for rule in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"rule ids must be unique: {', '.join(duplicates)}")
        covered: dict[str, str] = {}
        for consultant_id, consultant in self.consultants.items():
            for department in consultant.departments:
                if department in covered:
                    raise ValueError(f"department {department} is covered by {covered[department]} and {consultant_id}")
                covered[department] = consultant_id
        for association_id, association in self.associations.items():
            unknown = sorted(set(association.departments) - set(covered))
            if unknown:
                raise ValueError(f"association {association_id} serves departments no consultant covers: {unknown}")
        children = [m.children_entry for m in self.municipalities.values() if m.children_entry]
        recipients = [m.single_entry for m in self.municipalities.values()] + [*self.consultants, *self.associations]
        recipients += children
        clashes = sorted({r for r in recipients if recipients.count(r) > 1})
        if clashes:
            raise ValueError(f"recipient ids must be unique: {', '.join(clashes)}")
        missing = {ReferralTarget.MUNICIPALITY, ReferralTarget.ASSOCIATION} - set(self.fallback)
        if missing:
            raise ValueError(f"fallback needs a chain for: {', '.join(sorted(missing))}")
        return self

    def consultant_for(self, department_id: str) -> str | None:
        """The consultant covering a department."""
        return next((cid for cid, c in self.consultants.items() if department_id in c.departments), None)

    def associations_for(self, department_id: str) -> list[str]:
        """The associations registered for a department, in document order."""
        return [aid for aid, a in self.associations.items() if department_id in a.departments]

    def municipality_entry(self, code: str) -> str | None:
        """The single entry point of a municipality."""
        municipality = self.municipalities.get(code)
        return municipality.single_entry if municipality else None

    def children_entry(self, code: str) -> str | None:
        """The children and youth entry of a municipality (underretninger), when the directory names one."""
        municipality = self.municipalities.get(code)
        return municipality.children_entry if municipality else None

    def escalation_contact(self, recipient_id: str) -> str:
        """The recipient's escalation contact (a contact is its own; `escalation-<id>` when none is named)."""
        entries = [*self.municipalities.values(), *self.consultants.values(), *self.associations.values()]
        for entry in entries:
            if recipient_id in (getattr(entry, "single_entry", None), getattr(entry, "children_entry", None)):
                return entry.escalation_contact
        entry = self.consultants.get(recipient_id) or self.associations.get(recipient_id)
        if entry:
            return entry.escalation_contact
        if any(e.escalation_contact == recipient_id for e in entries):
            return recipient_id
        return f"escalation-{recipient_id}"

    def unroutable(self, department_id: str, municipality_code: str) -> str | None:
        """Why a concern of this department cannot be routed with this document, or None."""
        if self.consultant_for(department_id) is None:
            return "unknown_department"
        if municipality_code not in self.municipalities:
            return "unknown_municipality"
        return None

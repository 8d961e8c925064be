"""The rules document routing routes with: the stored rules plus the recipients of the reference directory.

The directory (departments' consultants and associations, municipalities' single entries, escalation contacts)
is owned by intake and followed from the reference-data topic; the stored rules document holds only the rules.
"""

from services.routing.domain.document import Association, Consultant, Municipality, RulesDocument
from shared.contracts.reference import RecipientKind, ReferenceDirectory


def with_directory(rules: RulesDocument, directory: ReferenceDirectory) -> RulesDocument:
    """The effective document: `rules` with its recipient sections taken from the directory (the directory wins)."""
    covered: dict[str, list[str]] = {}
    registered: dict[str, list[str]] = {}
    for _, department in directory.departments():
        for consultant in department.consultants:
            covered.setdefault(consultant, []).append(department.id)
        for association in department.associations:
            registered.setdefault(association, []).append(department.id)

    def contact(recipient_id: str) -> str:
        return directory.recipients[recipient_id].escalation_contact or f"escalation-{recipient_id}"

    def name(recipient_id: str) -> str:
        return directory.recipients[recipient_id].name

    consultants = {
        rid: Consultant(name=name(rid), departments=tuple(covered[rid]), escalation_contact=contact(rid))
        for rid, recipient in directory.recipients.items()
        if recipient.kind is RecipientKind.CONSULTANT and rid in covered
    }
    associations = {
        rid: Association(name=name(rid), departments=tuple(registered[rid]), escalation_contact=contact(rid))
        for rid, recipient in directory.recipients.items()
        if recipient.kind is RecipientKind.ASSOCIATION and rid in registered
    }
    municipalities = {
        code: Municipality(
            name=name(m.single_entry),
            single_entry=m.single_entry,
            escalation_contact=m.escalation_contact or contact(m.single_entry),
            children_entry=m.children_entry,
        )
        for code, m in directory.municipalities.items()
        if m.single_entry is not None
    }
    data = rules.model_dump()
    data.update(municipalities=municipalities, consultants=consultants, associations=associations)
    return RulesDocument.model_validate(data)

"""Reading a concern as the caller may see it: access rules, decryption and the audit row, together."""

from dataclasses import replace

from services.intake.adapters.audit import AuditEntry
from services.intake.adapters.concern_store import StoredConcern
from services.intake.adapters.referral_store import HistoryEntry, StoredReferral
from services.intake.adapters.sealing import UnreadableDetails
from services.intake.domain.access import Access, ConcernFacts, decide_access, gains_consent, sees_receipt_code
from services.intake.entrypoints.schemas import (
    ConcernView,
    ContactView,
    DetailsView,
    ExternalRefView,
    HistoryView,
    ReferralView,
)
from services.intake.handlers.deps import Deps
from services.intake.handlers.ports import UnitOfWork
from services.intake.metrics import DETAIL_READS
from shared.auth.principal import Principal
from shared.contracts.vocabulary import DISCLOSURE_ERASED, Disclosure, LegalBasis, ReferralTarget


async def view_concern(deps: Deps, concern_id: str, principal: Principal) -> ConcernView | None:
    """The concern as `principal` may see it, or None when it does not exist for them (404)."""
    async with deps.unit_of_work() as uow:
        concern = await uow.concerns.get(concern_id)
        if concern is None:
            return None
        return await view_stored(deps, uow, concern, principal)


async def view_stored(deps: Deps, uow: UnitOfWork, concern: StoredConcern, principal: Principal) -> ConcernView | None:
    """A stored concern as `principal` may see it, or None when it does not exist for them (404)."""
    referrals = _with_registered_consent(concern, await uow.referrals.of_concern(concern.id))
    access = decide_access(principal, facts_of(concern), [r.facts() for r in referrals])
    if access is None:
        return None
    details = None
    if access.shows_details and concern.erased_at is None:
        details = await _open_audited(deps, uow, concern, principal, access.basis or "unspecified")
    history = await uow.referrals.history_of(concern.id)
    return _shape(concern, access, referrals, history, details, principal)


def _with_registered_consent(concern: StoredConcern, referrals: list[StoredReferral]) -> list[StoredReferral]:
    """The referrals with the basis the resident's registered consent gives them (routing's events carry the basis
    at routing time; a consent registered later is intake's to apply, as the owner of the details)."""
    registered = concern.consent if concern.consent_registered_at is not None else None
    return [
        replace(r, legal_basis=LegalBasis.CONSENT.value, disclosure=Disclosure.FULL.value)
        if gains_consent(ReferralTarget(r.target), LegalBasis(r.legal_basis), registered)
        else r
        for r in referrals
    ]


def facts_of(concern: StoredConcern) -> ConcernFacts:
    """What the access rules need to know of a stored concern."""
    return ConcernFacts(
        concern.organisation_id, concern.department_id, concern.municipality_code, concern.reporter_client_id
    )


def external_ref_of(concern: StoredConcern) -> ExternalRefView | None:
    """The concern's external ref, when it has one."""
    if concern.external_system is None or concern.external_id is None:
        return None
    return ExternalRefView(system=concern.external_system, id=concern.external_id)


async def _open_audited(
    deps: Deps, uow: UnitOfWork, concern: StoredConcern, principal: Principal, basis: str
) -> DetailsView | None:
    try:
        sealed = deps.sealer.open(concern.id, concern.wrapped_key, concern.sealed)
    except UnreadableDetails:
        return None
    # The audit row is written before the details leave the service; if it cannot be written (the unit of work
    # does not commit), they do not.
    await uow.audit.record(concern.id, principal, action="read_details", basis=basis)
    DETAIL_READS.labels(principal.role.value, basis).inc()
    reporter = sealed["reporter"]
    return DetailsView(
        description=sealed["description"],
        tenancy_id=sealed.get("tenancy_id"),
        reporter={"name": reporter.get("name"), "contact": reporter.get("contact")},
        resident=sealed.get("resident"),
    )


def _shape(
    concern: StoredConcern,
    access: Access,
    referrals: list[StoredReferral],
    history: list[HistoryEntry],
    details: DetailsView | None,
    principal: Principal,
) -> ConcernView:
    visible = [r for r in referrals if access.referral_ids is None or r.referral_id in access.referral_ids]
    targets = {r.referral_id: r.target for r in referrals}
    shown_ids = {r.referral_id for r in visible}
    steps = [HistoryView(at=concern.received_at, event="reported")]
    for entry in history:
        if entry.referral_id in shown_ids:
            full = access.referral_details
            steps.append(
                HistoryView(
                    at=entry.at,
                    event=entry.event,
                    referral_id=entry.referral_id,
                    target=targets.get(entry.referral_id),
                    from_status=entry.from_status,
                    to_status=entry.to_status,
                    reason=entry.reason if full else None,
                    outcome=entry.outcome if full else None,
                )
            )
    if concern.erased_at is not None:
        steps.append(HistoryView(at=concern.erased_at, event="erased"))
    steps.sort(key=lambda s: s.at)
    association = access.disclosure is Disclosure.NO_PERSONAL_DETAILS
    categories = [c for c in concern.categories if access.categories is None or c in access.categories]
    status = "erased" if concern.erased_at else ("referred" if referrals else "received")
    quotable = sees_receipt_code(principal, facts_of(concern))
    erased = concern.erased_at is not None
    return ConcernView(
        id=concern.id,
        status=status,
        # After erasure nothing personal is left to disclose, whatever the caller's access allowed.
        disclosure=DISCLOSURE_ERASED if erased else access.disclosure,
        receipt_code=concern.receipt_code if quotable else None,
        external_ref=external_ref_of(concern) if quotable else None,
        received_at=concern.received_at,
        observed_at=concern.observed_at,
        organisation_id=concern.organisation_id,
        department_id=concern.department_id,
        municipality_code=concern.municipality_code,
        categories=categories,
        severity=concern.severity,
        consent=None if association else concern.consent,
        legal_basis=None if association else concern.legal_basis,
        reporter_role=concern.reporter_role,
        channel=concern.channel,
        source_system=concern.source_system,
        erased_at=concern.erased_at,
        details=details,
        referrals=[_referral(r, access.referral_details, erased=erased) for r in visible],
        history=steps,
    )


def _referral(referral: StoredReferral, full: bool, *, erased: bool) -> ReferralView:
    extra = (
        {
            "recipient_id": referral.recipient_id,
            "disclosure": DISCLOSURE_ERASED if erased else referral.disclosure,
            "legal_basis": referral.legal_basis,
            "task": referral.task,
        }
        if full
        else {}
    )
    return ReferralView(
        referral_id=referral.referral_id,
        target=referral.target,
        status=referral.status,
        created_at=referral.created_at,
        updated_at=referral.updated_at,
        **extra,
    )


async def reporter_contact(deps: Deps, concern_id: str, principal: Principal) -> ContactView | None:
    """The reporter's contact for receipts (audited), or None: unknown concern, no contact, or erased."""
    async with deps.unit_of_work() as uow:
        concern = await uow.concerns.get(concern_id)
        if concern is None or concern.erased_at is not None or not concern.has_reporter_contact:
            return None
        try:
            sealed = deps.sealer.open(concern.id, concern.wrapped_key, concern.sealed)
        except UnreadableDetails:
            return None
        reporter = sealed["reporter"]
        if not reporter.get("contact_address"):
            return None
        await uow.audit.record(concern.id, principal, action="read_reporter_contact", basis="reporter_notification")
    DETAIL_READS.labels(principal.role.value, "reporter_notification").inc()
    return ContactView(
        channel=reporter.get("contact_channel"), address=reporter["contact_address"], receipt_code=concern.receipt_code
    )


async def audit_entries(deps: Deps, concern_id: str) -> list[AuditEntry] | None:
    """The concern's audit trail, or None when there is no such concern."""
    async with deps.unit_of_work() as uow:
        if await uow.concerns.get(concern_id) is None:
            return None
        return await uow.audit.trail(concern_id)

"""Registering the resident's consent after the report: the consultant asked (the `obtain_consent` task), and from
then on a referral routed without a legal basis discloses the details on the basis of that consent."""

from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.access import ConsentConflict, check_consent, may_register_consent
from services.intake.handlers.deps import Deps
from services.intake.handlers.views import facts_of
from shared.auth.principal import Principal


@dataclass(frozen=True)
class RegisteredConsent:
    """The consent on record after a registration (or its replay)."""

    concern_id: str
    consent: str
    registered_by: str
    registered_at: datetime


async def register_consent(deps: Deps, concern_id: str, answer: str, principal: Principal) -> RegisteredConsent | None:
    """Register `answer` (given|refused) for the concern, audited with who registered it; None when the concern does
    not exist for the caller (404). Raises ConsentConflict (409): erased, or another answer already on record.

    Registering the same answer again changes nothing and audits nothing (a retried form)."""
    async with deps.unit_of_work() as uow:
        concern = await uow.concerns.get(concern_id)
        if concern is None or not may_register_consent(principal, facts_of(concern)):
            return None
        registered, erased = concern.consent_registered_at is not None, concern.erased_at is not None
        if not check_consent(answer, reported=concern.consent, registered=registered, erased=erased):
            at = concern.consent_registered_at or deps.clock()
            return RegisteredConsent(concern.id, concern.consent, concern.consent_registered_by or "", at)
        now = deps.clock()
        if not await uow.concerns.register_consent(concern_id, answer, principal.client_id, now):
            raise ConsentConflict("the concern was erased or its consent registered meanwhile")
        # Audited like a read of the details: who, in which role, on what basis (the answer itself).
        await uow.audit.record(concern_id, principal, action="register_consent", basis=f"consent_{answer}")
    return RegisteredConsent(concern_id, answer, principal.client_id, now)

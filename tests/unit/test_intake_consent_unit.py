"""Registering the resident's consent after the report (POST /v1/concerns/{id}/consent) on the in-memory unit of
work: who may, what a conflict is, and that the municipality's anonymous referral discloses the details after it."""

import uuid
from typing import Any

import pytest

from services.intake.domain.access import ConsentConflict, check_consent, gains_consent, may_register_consent
from services.intake.handlers import views
from services.intake.handlers.consent import register_consent
from services.intake.handlers.deps import Deps
from services.intake.handlers.ports import InMemoryUnitOfWork
from services.intake.handlers.referrals import on_referral_created
from services.intake.handlers.views import facts_of
from shared.auth.principal import Principal, Role
from shared.contracts.examples import example_events
from shared.contracts.referrals import ReferralCreated
from shared.contracts.vocabulary import LegalBasis, ReferralTarget
from tests.unit.test_intake_views_unit import ADMIN, HOLBAEK, REPORTER, fake_deps, stored

pytestmark = pytest.mark.unit
CONSULTANT = Principal("cli_consultant", Role.CONSULTANT, department_ids=frozenset({"dep-0316-017"}))
OTHER_CONSULTANT = Principal("cli_other_consultant", Role.CONSULTANT, department_ids=frozenset({"dep-0326-001"}))
RESIDENT = {"name": "Fiktiv Beboer", "address": "Testvej 1", "phone": None}


async def anonymous_referrals(deps: Deps, uow: InMemoryUnitOfWork, **changes: Any) -> str:
    """A concern reported without consent, routed as the rules do it: an anonymous consultation for Holbæk's single
    entry and the consultant's `obtain_consent` task (no details for either)."""
    example = next(e for e in example_events() if e.type == "referral.created.v1")
    concern_id = example.data.concern_id
    details = deps.sealer.seal(concern_id, {"description": "Fiktiv: lugt", "tenancy_id": "17-0042",
                                            "reporter": {"name": "Fiktiv Vicevært"}, "resident": RESIDENT})  # fmt: skip
    uow.concerns.store(stored(deps, concern_id, consent="not_asked", legal_basis=None, sealed=details.ciphertext,
                              wrapped_key=details.wrapped_key, **changes))  # fmt: skip
    for target, recipient, disclosure, task in (
        ("municipality", "mun-0316-single-entry", "anonymous", "act"),
        ("consultant", "con-0316", "no_personal_details", "obtain_consent"),
    ):
        data = ReferralCreated.model_validate(example.data.model_dump() | {
            "referral_id": str(uuid.uuid4()), "target": target, "recipient_id": recipient, "task": task,
            "legal_basis": "none", "disclosure": disclosure,
        })  # fmt: skip
        await on_referral_created(deps, example.model_copy(update={"id": str(uuid.uuid4()), "data": data}))
    return concern_id


def test_consent_opens_the_municipality_and_the_consultant_never_an_association() -> None:
    assert gains_consent(ReferralTarget.MUNICIPALITY, LegalBasis.NONE, "given")
    assert gains_consent(ReferralTarget.CONSULTANT, LegalBasis.NONE, "given")
    assert not gains_consent(ReferralTarget.ASSOCIATION, LegalBasis.NONE, "given")
    assert not gains_consent(ReferralTarget.MUNICIPALITY, LegalBasis.NONE, "refused")
    assert not gains_consent(ReferralTarget.MUNICIPALITY, LegalBasis.NONE, None)


def test_only_the_covering_consultant_and_admins_may_register() -> None:
    deps, _ = fake_deps()
    facts = facts_of(stored(deps, str(uuid.uuid4())))
    assert may_register_consent(CONSULTANT, facts) and may_register_consent(ADMIN, facts)
    assert not any(may_register_consent(p, facts) for p in (OTHER_CONSULTANT, REPORTER, HOLBAEK))


def test_conflicts() -> None:
    assert check_consent("given", reported="not_asked", registered=False, erased=False)
    assert check_consent("given", reported="refused", registered=False, erased=False)  # asked again, said yes
    assert not check_consent("given", reported="given", registered=True, erased=False)  # a replay
    for answer, reported, registered, erased in (
        ("given", "not_asked", False, True),
        ("refused", "given", True, False),
        ("given", "refused", True, False),
        ("refused", "given", False, False),
    ):
        with pytest.raises(ConsentConflict):
            check_consent(answer, reported=reported, registered=registered, erased=erased)


async def test_registered_consent_lets_the_municipality_see_the_details_and_is_audited() -> None:
    deps, uow = fake_deps()
    concern_id = await anonymous_referrals(deps, uow)
    before = await views.view_concern(deps, concern_id, HOLBAEK)
    assert before is not None and before.details is None and before.disclosure == "anonymous"

    done = await register_consent(deps, concern_id, "given", CONSULTANT)

    assert done is not None and (done.consent, done.registered_by) == ("given", "cli_consultant")
    after = await views.view_concern(deps, concern_id, HOLBAEK)
    assert after is not None and after.details is not None and after.details.resident.name == "Fiktiv Beboer"
    assert after.consent == "given"
    assert [(r.legal_basis, r.disclosure) for r in after.referrals] == [("consent", "full")]
    trail = [(e.client_id, e.action, e.basis) for e in await uow.audit.trail(concern_id)]
    assert trail == [
        ("cli_consultant", "register_consent", "consent_given"),
        ("cli_holbaek", "read_details", "consent"),
    ]
    # The same answer again changes nothing and audits nothing; another answer is a conflict.
    again = await register_consent(deps, concern_id, "given", CONSULTANT)
    assert again == done and len(await uow.audit.trail(concern_id)) == 2
    with pytest.raises(ConsentConflict):
        await register_consent(deps, concern_id, "refused", ADMIN)


async def test_refused_consent_keeps_the_details_withheld() -> None:
    deps, uow = fake_deps()
    concern_id = await anonymous_referrals(deps, uow)

    assert await register_consent(deps, concern_id, "refused", CONSULTANT) is not None

    view = await views.view_concern(deps, concern_id, HOLBAEK)
    assert view is not None and view.details is None and view.disclosure == "anonymous"
    assert [(r.legal_basis, r.disclosure) for r in view.referrals] == [("none", "anonymous")]


async def test_outside_the_consultants_scope_the_concern_does_not_exist() -> None:
    deps, uow = fake_deps()
    concern_id = await anonymous_referrals(deps, uow)

    assert await register_consent(deps, concern_id, "given", OTHER_CONSULTANT) is None
    assert await register_consent(deps, str(uuid.uuid4()), "given", CONSULTANT) is None
    assert await uow.audit.trail(concern_id) == []


async def test_an_erased_concern_takes_no_consent() -> None:
    deps, uow = fake_deps()
    concern_id = await anonymous_referrals(deps, uow)
    await uow.concerns.shred(concern_id, deps.clock())

    with pytest.raises(ConsentConflict):
        await register_consent(deps, concern_id, "given", CONSULTANT)

"""Who may read and move a referral: recipients by their token's role and scope; admins; ops read only."""

from datetime import UTC, datetime

import pytest

from services.routing.domain.referral import Referral
from services.routing.handlers.scope import may_move, may_read, sql_filter
from shared.auth.principal import Principal, Role
from shared.contracts.vocabulary import Disclosure, LegalBasis, ReferralStatus, ReferralTarget, Severity, Task

pytestmark = pytest.mark.unit
NOW = datetime(2025, 3, 4, tzinfo=UTC)


def referral(target: ReferralTarget, department: str = "hoeng-1", code: str = "0326") -> Referral:
    return Referral(
        referral_id="r-1", concern_id="c-1", subject_key="sk_test0000", organisation_id="org-demo",
        department_id=department, municipality_code=code, target=target, recipient_id="x", categories=(),
        severity=Severity.LOW, urgent=False, repeated=False, legal_basis=LegalBasis.NONE,
        disclosure=Disclosure.ANONYMOUS, task=Task.ACT, suggested_function=None, rules_version=1, rule_id="other",
        concern_basis=LegalBasis.NONE, status=ReferralStatus.REQUESTED, ack_due_at=NOW, escalate_at=NOW,
        created_at=NOW,
    )  # fmt: skip


HOLBAEK = Principal("m1", Role.MUNICIPALITY, municipality_code="0316")
KALUNDBORG = Principal("m2", Role.MUNICIPALITY, municipality_code="0326")
CONSULTANT = Principal("c1", Role.CONSULTANT, department_ids=frozenset({"holbaek-1", "hoeng-1"}))
ASSOCIATION = Principal("a1", Role.ASSOCIATION, department_ids=frozenset({"hoeng-1"}))
OPS, ADMIN = Principal("o1", Role.OPS), Principal("ad", Role.ADMIN)
REPORTER = Principal("r1", Role.REPORTER, organisation_id="org-demo")


@pytest.mark.parametrize(
    ("principal", "target", "reads", "moves"),
    [
        (KALUNDBORG, ReferralTarget.MUNICIPALITY, True, True),
        (HOLBAEK, ReferralTarget.MUNICIPALITY, False, False),  # another municipality's referral
        (KALUNDBORG, ReferralTarget.CONSULTANT, False, False),  # addressed to the consultant
        (CONSULTANT, ReferralTarget.CONSULTANT, True, True),
        (CONSULTANT, ReferralTarget.MUNICIPALITY, False, False),
        (ASSOCIATION, ReferralTarget.ASSOCIATION, True, True),
        (ASSOCIATION, ReferralTarget.CONSULTANT, False, False),
        (OPS, ReferralTarget.MUNICIPALITY, True, False),
        (ADMIN, ReferralTarget.ASSOCIATION, True, True),
        (REPORTER, ReferralTarget.CONSULTANT, False, False),
    ],
)
def test_recipients_by_scope(principal, target, reads, moves) -> None:
    assert may_read(principal, referral(target)) is reads
    assert may_move(principal, referral(target)) is moves


def test_listing_filters_by_scope() -> None:
    assert sql_filter(ADMIN, 1) == ("TRUE", [])
    assert sql_filter(HOLBAEK, 3) == ("target = $3 AND municipality_code = $4", ["municipality", "0316"])
    assert sql_filter(CONSULTANT, 1) == (
        "target = $1 AND department_id = ANY($2::text[])",
        ["consultant", ["hoeng-1", "holbaek-1"]],
    )

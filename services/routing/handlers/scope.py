"""Who may see and move a referral: recipients identify themselves by their token's role and scope."""

from services.routing.domain.referral import Referral
from shared.auth.principal import PLATFORM_WIDE, Principal, Role
from shared.contracts.vocabulary import ReferralTarget

RECIPIENT_ROLE = {
    ReferralTarget.MUNICIPALITY: Role.MUNICIPALITY,
    ReferralTarget.CONSULTANT: Role.CONSULTANT,
    ReferralTarget.ASSOCIATION: Role.ASSOCIATION,
}
READERS = (Role.ADMIN, Role.OPS, Role.MUNICIPALITY, Role.CONSULTANT, Role.ASSOCIATION)
"""Reporters follow their concerns through intake, not here."""


def is_recipient(principal: Principal, referral: Referral) -> bool:
    """A municipality token for the referral's municipality, a consultant or association token for its department."""
    return RECIPIENT_ROLE[referral.target] is principal.role and principal.covers(
        department_id=referral.department_id, municipality_code=referral.municipality_code
    )


def may_read(principal: Principal, referral: Referral) -> bool:
    """Admins and ops see every referral; a recipient sees the referrals addressed to it."""
    return principal.role in PLATFORM_WIDE or is_recipient(principal, referral)


def may_move(principal: Principal, referral: Referral) -> bool:
    """Only the recipient or an admin moves a referral (ops may look, not act)."""
    return principal.role is Role.ADMIN or is_recipient(principal, referral)


def sql_filter(principal: Principal, first_arg: int) -> tuple[str, list]:
    """The WHERE clause (and its arguments) that limits a listing to what `principal` may read."""
    if principal.role in PLATFORM_WIDE:
        return "TRUE", []
    target = next(t for t, role in RECIPIENT_ROLE.items() if role is principal.role).value
    if principal.role is Role.MUNICIPALITY:
        return f"target = ${first_arg} AND municipality_code = ${first_arg + 1}", [target, principal.municipality_code]
    return f"target = ${first_arg} AND department_id = ANY(${first_arg + 1}::text[])", [
        target,
        sorted(principal.department_ids),
    ]

"""Following concerns: by receipt code (guarded against guessing), "my concerns", and search by external ref."""

import math

from services.intake.adapters.concern_store import ConcernFilter, StoredConcern
from services.intake.domain.access import sees_receipt_code
from services.intake.entrypoints.schemas import ConcernPage, ConcernSummary, ConcernView
from services.intake.handlers.deps import Deps
from services.intake.handlers.views import external_ref_of, facts_of, view_stored
from shared.auth.principal import PLATFORM_WIDE, Principal, Role


class TooManyGuesses(Exception):
    """The client failed too many receipt-code look-ups lately; it may try again after `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed receipt-code look-ups; try again in {retry_after} s")
        self.retry_after = retry_after


async def view_by_receipt_code(deps: Deps, code: str, principal: Principal) -> ConcernView | None:
    """The concern with this (normalised) receipt code as the caller may see it, or None (404).

    Ops and admins find any code; everyone else only among the concerns they reported themselves, in the same
    query, so another reporter's code and a code nobody has answer alike. Each look-up takes a token from the
    client's bucket before it starts (so parallel guesses count too) and a hit gives it back: failures use it up.
    While the bucket is empty every look-up by code is refused, hits included (TooManyGuesses).
    """
    key = principal.client_id
    wait = deps.receipt_guesses.take(key)
    if wait > 0:
        raise TooManyGuesses(math.ceil(wait))
    try:
        owner = None if principal.role in PLATFORM_WIDE else principal.client_id
        async with deps.unit_of_work() as uow:
            concern = await uow.concerns.by_receipt_code(code, owner)
            view = await view_stored(deps, uow, concern, principal) if concern is not None else None
    except BaseException:
        deps.receipt_guesses.give_back(key)  # the database failed, not the guess
        raise
    if view is not None:
        deps.receipt_guesses.give_back(key)
    return view


def list_filter(principal: Principal, external_ref: tuple[str, str] | None) -> ConcernFilter | None:
    """Which concerns the caller's list holds, or None for an empty list.

    Ops and admins: every concern. A reporter: its own reports and, searching by external ref, also its
    organisation's concerns from concern-inbound (an integration finds what its housing system sent in, which no
    API client reported). A consultant: its own reports.
    """
    system, external_id = external_ref if external_ref else (None, None)
    if principal.role in PLATFORM_WIDE:
        return ConcernFilter(external_system=system, external_id=external_id)
    departments = principal.department_ids or None
    if principal.role is Role.REPORTER:
        if principal.organisation_id is None:
            return None
        return ConcernFilter(
            principal.client_id, external_ref is not None, principal.organisation_id, departments, system, external_id
        )
    return ConcernFilter(principal.client_id, False, None, departments, system, external_id)


async def list_concerns(
    deps: Deps, principal: Principal, *, external_ref: tuple[str, str] | None, limit: int, offset: int
) -> ConcernPage:
    """A page of the caller's concerns, newest first; summaries only (nothing decrypted, nothing audited)."""
    where = list_filter(principal, external_ref)
    # One more than asked tells whether there is a next page.
    if where is None:
        return ConcernPage(items=[], limit=limit, offset=offset, next_offset=None)
    async with deps.unit_of_work() as uow:
        found = await uow.concerns.matching(where, limit=limit + 1, offset=offset)
        page = found[:limit]
        statuses = await uow.referrals.statuses_of([c.id for c in page]) if page else {}
    items = [_summary(c, statuses.get(c.id, []), principal) for c in page]
    next_offset = offset + limit if len(found) > limit else None
    return ConcernPage(items=items, limit=limit, offset=offset, next_offset=next_offset)


def _summary(concern: StoredConcern, referral_statuses: list[str], principal: Principal) -> ConcernSummary:
    quotable = sees_receipt_code(principal, facts_of(concern))
    status = "erased" if concern.erased_at else ("referred" if referral_statuses else "received")
    return ConcernSummary(
        id=concern.id,
        receipt_code=concern.receipt_code if quotable else None,
        external_ref=external_ref_of(concern) if quotable else None,
        status=status,
        referral_statuses=referral_statuses,
        received_at=concern.received_at,
        organisation_id=concern.organisation_id,
        department_id=concern.department_id,
        municipality_code=concern.municipality_code,
        categories=concern.categories,
        severity=concern.severity,
        channel=concern.channel,
        source_system=concern.source_system,
    )

"""The consultant's worklist (/arbejdsliste) and the referral page both staff desks share.

A desk is a list of the referrals routing lets the person see (their departments, or their municipality: routing
decides from the person's token), sorted by due time with overdue and repeated ones marked, and one page per
referral: what intake may disclose to this person (intake audits the read), the history, the clocks, the moves
the referral's status allows, and for an `obtain_consent` task the guidance's own wording on consent. The
municipality's inbox (municipality.py) is the same desk under /indbakke.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path
from fastapi.responses import RedirectResponse, Response

from services.portal.adapters.services_api import ApiError
from services.portal.domain import staff
from services.portal.domain.paging import page_number, paginate
from services.portal.entrypoints.deps import CheckedForm, Viewer, require_person
from services.portal.entrypoints.guidance import guidance_library
from shared.logging import get_logger

log = get_logger(__name__)
LIST_LIMIT = 500
ReferralId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


@dataclass(frozen=True)
class Desk:
    """One staff desk: where it lives, who may use it, its Danish name and its list template."""

    prefix: str
    roles: tuple[str, ...]
    title: str
    list_template: str


WORKLIST = Desk("/arbejdsliste", ("consultant", "association"), "Arbejdsliste", "worklist.html")


def labels() -> dict[str, Any]:
    """The Danish names the templates show, by table."""
    return {
        "status": staff.STATUS,
        "target": staff.TARGET,
        "task": staff.TASK,
        "disclosure": staff.DISCLOSURE,
        "legal_basis": staff.LEGAL_BASIS,
        "consent": staff.CONSENT,
        "severity": staff.SEVERITY,
        "outcome": staff.OUTCOME,
        "reject_reason": staff.REJECT_REASON,
        "function": staff.SUGGESTED_FUNCTION,
        "event": staff.HISTORY_EVENT,
    }


async def guidance(viewer: Viewer, category: str) -> dict[str, Any] | None:
    """Intake's guidance for a category (its one owner; the portal keeps the library a while), or None."""
    return (await guidance_library(viewer)).get(category)


CONSENT_ROUTE = "/v1/concerns/{concern_id}/consent"
"""Intake's route for a resident's consent given (or refused) after the report."""


async def category_titles(viewer: Viewer, referrals: list[dict[str, Any]]) -> dict[str, str]:
    """The categories' Danish titles, as intake's guidance names them."""
    wanted = sorted({c for r in referrals for c in r.get("categories") or []})
    titles = {}
    for category in wanted:
        found = await guidance(viewer, category)
        titles[category] = found["title"] if found else category
    return titles


async def department_names(viewer: Viewer) -> dict[str, str]:
    """The names of the departments the person may see (intake's reference data); empty when intake refuses."""
    try:
        departments = await viewer.get("intake", "/v1/departments")
    except ApiError:
        return {}
    return {d["id"]: d["name"] for d in departments or []}


async def referrals_of(viewer: Viewer, *, show_all: bool) -> list[dict[str, Any]]:
    """The referrals routing lets the person see, in worklist order (open ones only unless `show_all`)."""
    page = await viewer.get("routing", "/v1/referrals", params={"limit": LIST_LIMIT})
    items = page.get("items") or []
    if not show_all:
        items = [r for r in items if r.get("status") in staff.OPEN]
    return staff.worklist_order(items)


async def list_page(
    viewer: Viewer, desk: Desk, show_all: bool, extra: dict[str, Any] | None = None, page: int = 1
) -> Response:
    """A desk's list page: page `page` of the list in worklist order."""
    paged = paginate(await referrals_of(viewer, show_all=show_all), page)
    referrals = paged.items
    return viewer.render(
        desk.list_template,
        {
            "title": desk.title if paged.number == 1 else f"{desk.title}, side {paged.number} af {paged.pages}",
            "desk": desk,
            "referrals": referrals,
            "paging": paged,
            "show_all": show_all,
            "departments": await department_names(viewer),
            "categories": await category_titles(viewer, referrals),
            "labels": labels(),
            "due_of": staff.due_of,
            "label": staff.label,
            **(extra or {}),
        },
    )


async def _concern_as_disclosed(viewer: Viewer, concern_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """The concern as intake discloses it to this person (intake audits a read of personal details)."""
    try:
        return await viewer.get("intake", f"/v1/concerns/{quote(concern_id)}"), None
    except ApiError as error:
        if error.status in (403, 404):
            return None, "Intake viser dig ikke bekymringen bag henvisningen."
        raise


async def _next_referral(viewer: Viewer, referral: dict[str, Any]) -> dict[str, Any] | None:
    """Where a rejected referral went next (its replacement), as far as the person may see it."""
    next_id = staff.rerouted_to(referral)
    if next_id is None:
        return None
    try:
        return await viewer.get("routing", f"/v1/referrals/{quote(next_id)}")
    except ApiError as error:
        if error.status in (403, 404):
            return {"referral_id": next_id, "hidden": True}
        raise


async def detail_page(
    viewer: Viewer,
    desk: Desk,
    referral_id: str,
    *,
    notice: str | None = None,
    problem: str | None = None,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """One referral: disclosure, history, clocks, moves (and the consent guidance for an obtain_consent task)."""
    referral = await viewer.get("routing", f"/v1/referrals/{quote(referral_id)}")
    concern, concern_note = await _concern_as_disclosed(viewer, referral["concern_id"])
    categories = await category_titles(viewer, [referral])
    consent_guidance = []
    if referral.get("task") == "obtain_consent" and referral.get("status") in staff.OPEN:
        for category in referral.get("categories") or []:
            found = await guidance(viewer, category)
            if found and found.get("consent"):
                consent_guidance.append({"title": found["title"], "text": found["consent"]})
    return viewer.render(
        "referral.html",
        {
            "title": "Henvisning",
            "desk": desk,
            "referral": referral,
            "concern": concern,
            "concern_note": concern_note,
            "next_referral": await _next_referral(viewer, referral),
            "moves": staff.moves_for(referral.get("status", "")),
            "consent_guidance": consent_guidance,
            "departments": await department_names(viewer),
            "categories": categories,
            "labels": labels(),
            "label": staff.label,
            "due": staff.due_of(referral),
            "notice": notice,
            "problem": problem,
            "errors": errors or {},
            "typed": typed or {},
            "reject_reasons": [{"value": k, "label": v} for k, v in staff.REJECT_REASON.items()],
            "outcomes": [{"value": k, "label": v} for k, v in staff.OUTCOME.items()],
        },
        status_code,
    )


CONSENT_NOTICE = {"given": "Gemt. Beboerens samtykke er registreret.", "refused": "Gemt. Beboerens nej er registreret."}
FIELD_NAMES = {"reason": "Begrundelse", "outcome": "Resultat", "note": "Note", "to": "Ny status"}


async def move(viewer: Viewer, desk: Desk, referral_id: str, form: Any) -> Response:
    """POST a move to routing on the person's behalf; a refusal is shown on the referral's page, beside the field."""
    to = str(form.get("to") or "")
    body: dict[str, Any] = {"to": to}
    typed = {k: str(form.get(k) or "").strip() for k in ("reason", "outcome", "note")}
    if to == "rejected":
        body["reason"] = typed["reason"] or None
    if to == "completed":
        body["outcome"] = typed["outcome"] or None
    if typed["note"]:
        body["note"] = typed["note"]
    errors = {}
    if to == "rejected" and not typed["reason"]:
        errors["reason"] = "Vælg en begrundelse for afvisningen."
    if to == "completed" and not typed["outcome"]:
        errors["outcome"] = "Vælg, hvad resultatet blev."
    if errors:
        return await detail_page(viewer, desk, referral_id, errors=errors, typed={**typed, "to": to}, status_code=422)
    try:
        await viewer.post("routing", f"/v1/referrals/{quote(referral_id)}/transitions", json=body)
    except ApiError as error:
        if error.status == 409:
            return await detail_page(
                viewer, desk, referral_id, problem=error.detail or "Henvisningen kan ikke flyttes sådan nu.",
                typed={**typed, "to": to}, status_code=409,
            )  # fmt: skip
        if error.status == 422:
            found = {f.split(".")[-1]: p for f, p in error.field_errors} or {"to": error.detail}
            return await detail_page(
                viewer, desk, referral_id, errors=found, typed={**typed, "to": to}, status_code=422
            )
        raise
    log.info("portal_referral_moved", to=to)
    return RedirectResponse(f"{desk.prefix}/{quote(referral_id)}?flyttet={quote(to)}", status_code=303)


async def register_consent(viewer: Viewer, desk: Desk, referral_id: str, form: Any) -> Response:
    """Register the resident's answer on consent with intake (the owner of the concern and its consent)."""
    answer = str(form.get("consent") or "")
    if answer not in ("given", "refused"):
        return await detail_page(
            viewer, desk, referral_id, errors={"consent": "Vælg, hvad beboeren svarede."}, status_code=422
        )
    referral = await viewer.get("routing", f"/v1/referrals/{quote(referral_id)}")
    path = CONSENT_ROUTE.format(concern_id=quote(referral["concern_id"]))
    try:
        await viewer.post("intake", path, json={"consent": answer})
    except ApiError as error:
        if error.status in (409, 422):  # erased, or another answer registered already: intake's Danish reason
            return await detail_page(
                viewer, desk, referral_id, errors={"consent": error.detail}, status_code=error.status
            )
        raise
    return RedirectResponse(f"{desk.prefix}/{quote(referral_id)}?samtykke={answer}", status_code=303)


def desk_router(
    desk: Desk, list_page_of: Callable[[Viewer, bool, int], Awaitable[Response]] | None = None
) -> APIRouter:
    """The routes of a desk: its list, a referral's page, a move, and registering consent."""
    router = APIRouter(include_in_schema=False)
    Staff = Annotated[Viewer, Depends(require_person(*desk.roles))]

    @router.get(desk.prefix)
    async def desk_list(viewer: Staff, vis: str | None = None, side: str | None = None) -> Response:
        show_all = vis == "alle"
        page = page_number(side)
        if list_page_of is not None:
            return await list_page_of(viewer, show_all, page)
        return await list_page(viewer, desk, show_all, page=page)

    @router.get(desk.prefix + "/{referral_id}")
    async def desk_referral(
        viewer: Staff, referral_id: ReferralId, flyttet: str | None = None, samtykke: str | None = None
    ) -> Response:
        notice = None
        if flyttet in staff.STATUS:
            notice = f"Gemt. Henvisningen står nu som: {staff.STATUS[flyttet]}."
        elif samtykke in CONSENT_NOTICE:
            notice = CONSENT_NOTICE[samtykke]
        return await detail_page(viewer, desk, referral_id, notice=notice)

    @router.post(desk.prefix + "/{referral_id}/flyt")
    async def desk_move(viewer: Staff, referral_id: ReferralId, form: CheckedForm) -> Response:
        return await move(viewer, desk, referral_id, form)

    @router.post(desk.prefix + "/{referral_id}/samtykke")
    async def desk_consent(viewer: Staff, referral_id: ReferralId, form: CheckedForm) -> Response:
        return await register_consent(viewer, desk, referral_id, form)

    return router


router = desk_router(WORKLIST)
"""GET /arbejdsliste, GET /arbejdsliste/{id}, POST /arbejdsliste/{id}/flyt, POST /arbejdsliste/{id}/samtykke."""

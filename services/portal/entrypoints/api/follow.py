"""Journey 2, follow my concern: by receipt code, and the list of my own concerns (status and who has it)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import RedirectResponse, Response

from services.portal.adapters.services_api import ApiError
from services.portal.domain.follow import (
    CONCERN_STATUS,
    EVENTS,
    REFERRAL_STATUS,
    TARGETS,
    normalise_receipt_code,
)
from services.portal.domain.report_form import SEVERITY_NAMES
from services.portal.entrypoints.deps import Viewer, require_person
from services.portal.entrypoints.guidance import category_titles, departments, guidance_library

router = APIRouter(include_in_schema=False)
Reporting = Annotated[Viewer, Depends(require_person("reporter", "consultant"))]
PAGE_SIZE = 20
CODE_PATH = r"^[A-Za-z0-9 -]{8,10}$"


def _names(viewer: Viewer) -> dict[str, Any]:
    return {
        "concern_status": CONCERN_STATUS,
        "referral_status": REFERRAL_STATUS,
        "targets": TARGETS,
        "events": EVENTS,
        "severities": SEVERITY_NAMES,
    }


NOT_FOUND = (
    "Vi kan ikke finde en bekymring med den kode blandt dem, du har meldt. Tjek koden – eller bekymringen er slettet."
)
TOO_MANY = "Der er tastet forkerte koder for mange gange. Vent lidt, og prøv så igen."
MALFORMED = "Koden består af 8 tegn, fx K7WX-3MPQ. Tjek, at du har skrevet den rigtigt."


def _code_form(
    viewer: Viewer, code: str, message: str | None = None, heading: str | None = None, status: int = 200
) -> Response:
    """The receipt-code form, with the refusal beside the field when there is one."""
    title = heading or ("Fejl: Følg en bekymring" if message else "Følg en bekymring")
    values = {"title": title, "heading": heading or "Følg en bekymring", "code": code}
    return viewer.render("follow.html", {**values, "errors": {"kode": message} if message else {}}, status)


@router.get("/foelg")
async def follow_form(viewer: Reporting, kode: str | None = Query(None, max_length=40)) -> Response:
    """A field for the receipt code (a GET form: no personal data is sent, bookmarking works)."""
    if kode is None:
        return _code_form(viewer, "")
    code = normalise_receipt_code(kode)
    if code is None:
        return _code_form(viewer, kode, MALFORMED, status=422)
    return RedirectResponse(f"/bekymringer/{code}", status_code=303)


@router.get("/bekymringer")
async def my_concerns(viewer: Reporting, side: int = Query(1, ge=1, le=1000)) -> Response:
    """The concerns I reported, newest first: code, when, what, status (no personal details)."""
    page = await viewer.get("intake", "/v1/concerns", params={"limit": PAGE_SIZE, "offset": (side - 1) * PAGE_SIZE})
    titles = category_titles(await guidance_library(viewer))
    return viewer.render(
        "mine.html",
        {
            "title": "Mine bekymringer",
            "items": page.get("items") or [],
            "page_number": side,
            "has_next": page.get("next_offset") is not None and len(page.get("items") or []) == PAGE_SIZE,
            "category_titles": titles,
            **_names(viewer),
        },
    )


@router.get("/bekymringer/{code}")
async def concern(viewer: Reporting, code: Annotated[str, Path(pattern=CODE_PATH)]) -> Response:
    """Status and who has it, by receipt code (intake answers only for the person's own concerns)."""
    normal = normalise_receipt_code(code)
    if normal is None:
        return _code_form(viewer, code, MALFORMED, status=404)
    if normal != code:
        return RedirectResponse(f"/bekymringer/{normal}", status_code=303)
    try:
        view = await viewer.get("intake", f"/v1/concerns/{normal}")
    except ApiError as error:
        if error.status == 404:
            return _code_form(viewer, code, NOT_FOUND, "Bekymringen blev ikke fundet", 404)
        if error.status == 429:
            return _code_form(viewer, code, TOO_MANY, "For mange forsøg", 429)
        raise
    erased = view.get("status") == "erased" or view.get("disclosure") == "erased"
    titles = category_titles(await guidance_library(viewer))
    department_names = {d["id"]: d["name"] for d in await departments(viewer)}
    return viewer.render(
        "concern.html",
        {
            "title": f"Bekymring {normal}",
            "code": normal,
            "erased": erased,
            # Only what the reporter chose themselves, never the resident's details: status, who has it, when.
            "concern": {
                "status": view.get("status"),
                "received_at": view.get("received_at"),
                "observed_at": view.get("observed_at"),
                "erased_at": view.get("erased_at"),
                "categories": [titles.get(c, c) for c in view.get("categories") or []],
                "severity": view.get("severity"),
                "department": department_names.get(view.get("department_id"), view.get("department_id")),
            },
            "referrals": [
                {"target": r.get("target"), "status": r.get("status"), "updated_at": r.get("updated_at")}
                for r in view.get("referrals") or []
            ],
            "history": [
                {"at": h.get("at"), "event": h.get("event"), "target": h.get("target"), "to_status": h.get("to_status")}
                for h in view.get("history") or []
            ],
            **_names(viewer),
        },
    )

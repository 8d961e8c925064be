"""Journey 1, report a concern: the form, intake's refusals beside their fields, the receipt with the guidance."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import RedirectResponse, Response

from services.portal.adapters.services_api import ApiError, ServiceUnavailable
from services.portal.domain import report_form
from services.portal.domain.report_form import ReportForm, field_errors, ordered
from services.portal.entrypoints.deps import CheckedForm, Viewer, require_person
from services.portal.entrypoints.guidance import category_options, departments, guidance_library
from shared.logging import get_logger

log = get_logger(__name__)
router = APIRouter(include_in_schema=False)
Reporting = Annotated[Viewer, Depends(require_person("reporter", "consultant"))]
RECEIPT_CODE = r"^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$"
RECEIPTS_KEPT = 5
UNAVAILABLE = (
    "Bekymringen er ikke sendt, fordi platformen ikke svarer lige nu. Det, du har skrevet, står stadig i formularen: "
    "prøv at sende igen om lidt. Er der fare for liv eller helbred, så ring 112."
)


async def _form_page(viewer: Viewer, form: ReportForm, errors: dict[str, str], status: int = 200) -> Response:
    library = await guidance_library(viewer)
    found = await departments(viewer)
    options = [{"value": d["id"], "label": f"{d['name']} ({d['tenancies']} lejemål)"} for d in found]
    chosen = set(form.categories)
    return viewer.render(
        "report.html",
        {
            "title": "Meld en bekymring" if not errors else "Fejl: Meld en bekymring",
            "form": form,
            "errors": errors,
            "labels": report_form.LABELS,
            "departments": options,
            "categories": category_options(library),
            "library": library,
            "consent_texts": [(c, g) for c, g in library.items() if not chosen or c in chosen],
            "severities": report_form.SEVERITIES,
            "reporter_roles": report_form.REPORTER_ROLES,
            "consents": report_form.CONSENTS,
            "children": report_form.CHILDREN,
        },
        status,
    )


@router.get("/bekymringer/ny")
async def new_concern(viewer: Reporting) -> Response:
    """The empty form (the person's name and e-mail as the reporter's, now as the time observed)."""
    person = viewer.person
    form = ReportForm.blank(
        role=person.role, name=person.name, contact=person.email, departments=list(person.departments)
    )
    return await _form_page(viewer, form, {})


@router.post("/bekymringer/ny")
async def send_concern(viewer: Reporting, posted: CheckedForm) -> Response:
    """POST the concern to intake with the person's token; on a refusal the form again, with every value kept."""
    form = ReportForm.from_post(posted)
    body, own_errors = form.body()
    try:
        receipt = await viewer.post(
            "intake", "/v1/concerns", json=body, headers={"Idempotency-Key": form.value("idempotency_key")}
        )
    except ApiError as error:
        if error.status not in (409, 422):
            raise
        errors = {**field_errors(error.field_errors), **own_errors}
        if not errors:
            errors = {"_general": error.detail or "Bekymringen kunne ikke modtages."}
        return await _form_page(viewer, form, ordered(errors), 422)
    except ServiceUnavailable:
        message = UNAVAILABLE
        return await _form_page(viewer, form, {"_general": message}, 503)
    code = receipt["receipt_code"]
    kept: dict[str, Any] = viewer.session.data.get("receipts") or {}
    kept[code] = {"guidance": receipt.get("guidance") or [], "hints": receipt.get("hints") or [],
                  "received_at": receipt.get("received_at")}  # fmt: skip
    viewer.session.data["receipts"] = dict(list(kept.items())[-RECEIPTS_KEPT:])
    await viewer.context.sessions.save(viewer.session)
    log.info("portal_concern_reported", role=viewer.role)
    return RedirectResponse(f"/bekymringer/{code}/kvittering", status_code=303)


@router.get("/bekymringer/{code}/kvittering")
async def receipt(viewer: Reporting, code: Annotated[str, Path(pattern=RECEIPT_CODE)]) -> Response:
    """The receipt code, the guidance for the concern's categories and what the text pointed to, a link to follow."""
    kept = (viewer.session.data.get("receipts") or {}).get(code)
    if kept is None:
        return RedirectResponse(f"/bekymringer/{code}", status_code=303)
    return viewer.render(
        "receipt.html",
        {
            "title": "Tak – bekymringen er modtaget",
            "code": code,
            "guidance": kept["guidance"],
            "hints": kept["hints"],
            "received_at": kept.get("received_at"),
        },  # fmt: skip
    )

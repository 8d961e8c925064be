"""Journey 1, report a concern: the form, intake's refusals beside their fields, the receipt with the guidance."""

import hmac
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from services.portal.adapters.services_api import ApiError, ServiceUnavailable
from services.portal.domain import report_form
from services.portal.domain.report_form import ReportForm, field_errors, ordered
from services.portal.entrypoints.deps import (
    CSRF_FIELD,
    PortalContext,
    PortalDep,
    SessionDep,
    Viewer,
    checked_form,
    posted_form,
    require_person,
)
from services.portal.entrypoints.guidance import category_options, departments, guidance_library
from shared.logging import get_logger

log = get_logger(__name__)
router = APIRouter(include_in_schema=False)
REPORTING_ROLES = ("reporter", "consultant")
Reporting = Annotated[Viewer, Depends(require_person(*REPORTING_ROLES))]
FORM_PATH = "/bekymringer/ny"
DRAFT_COOKIE = "portal_draft"
"""Holds the id of a kept draft (its own short, sealed session row), only on the form's path."""
DRAFT_FIELD = "draft_check"
"""The form's proof for keeping a draft when the session has ended: `<subject>.<HMAC(session id, subject)>`."""
DRAFT_LIFETIME = timedelta(minutes=30)
DRAFT_NOTICE = "Din session var udløbet. Vi har gemt det, du skrev – kontrollér og send igen."
RECEIPT_CODE = r"^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$"
RECEIPTS_KEPT = 5
UNAVAILABLE = (
    "Bekymringen er ikke sendt, fordi platformen ikke svarer lige nu. Det, du har skrevet, står stadig i formularen: "
    "prøv at sende igen om lidt. Er der fare for liv eller helbred, så ring 112."
)


def draft_check(context: PortalContext, raw_session_id: str, subject: str) -> str:
    """The value of the form's draft field for this session and person."""
    return f"{subject}.{context.sessions.tag('report-draft', raw_session_id, subject)}"


def draft_subject(context: PortalContext, raw_session_id: str | None, sent: object) -> str | None:
    """The person whose form this is, when `sent` is the draft field the portal wrote for this browser's session
    (the session itself may be gone); None otherwise (another site's POST, no cookie, a tampered field)."""
    if not raw_session_id or not isinstance(sent, str) or "." not in sent:
        return None
    subject = sent.rsplit(".", 1)[0]
    return subject if hmac.compare_digest(sent, draft_check(context, raw_session_id, subject)) else None


async def _keep_draft(request: Request, context: PortalContext, posted: FormData) -> Response:
    """The session ended while the form was filled in: keep what was typed (sealed, 30 min, this browser only) and
    send the person to the login and back to the form. Nothing is sent to intake: after the login the form opens
    with the values in it, to be checked and sent again (with the new session's CSRF token)."""
    response = RedirectResponse("/auth/login?next=" + FORM_PATH, status_code=303)
    raw_id = request.cookies.get(context.settings.portal_cookie_name)
    subject = draft_subject(context, raw_id, posted.get(DRAFT_FIELD))
    if subject is None:
        return response
    fields = [[k, str(v)] for k, v in posted.multi_items() if k not in (CSRF_FIELD, DRAFT_FIELD)]
    kept = await context.sessions.create(data={"draft": fields, "subject": subject}, lifetime=DRAFT_LIFETIME)
    response.set_cookie(DRAFT_COOKIE, kept.raw_id, path=FORM_PATH, max_age=int(DRAFT_LIFETIME.total_seconds()),
                        httponly=True, samesite="lax", secure=context.settings.secure_cookies)  # fmt: skip
    log.info("portal_report_draft_kept")
    return response


async def _take_draft(request: Request, viewer: Viewer) -> ReportForm | None:
    """The draft kept for this browser, once, when it is this person's; its row is deleted either way."""
    raw_id = request.cookies.get(DRAFT_COOKIE)
    if not raw_id:
        return None
    kept = await viewer.context.sessions.load(raw_id)
    if kept is None:
        return None
    await viewer.context.sessions.delete(kept.raw_id)
    draft = kept.data.get("draft")
    if not isinstance(draft, list) or kept.data.get("subject") != viewer.person.subject:
        return None
    return ReportForm.from_post(FormData([(str(k), str(v)) for k, v in draft]))


async def _form_page(
    viewer: Viewer, form: ReportForm, errors: dict[str, str], status: int = 200, notice: str | None = None
) -> Response:
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
            "draft_check": draft_check(viewer.context, viewer.session.raw_id, viewer.person.subject),
            "notice": notice,
        },
        status,
    )


@router.get(FORM_PATH)
async def new_concern(request: Request, viewer: Reporting) -> Response:
    """The empty form (the person's name and e-mail as the reporter's, now as the time observed), or the draft
    kept when the session ended during the last send."""
    if request.cookies.get(DRAFT_COOKIE):
        draft = await _take_draft(request, viewer)
        response = await _form_page(viewer, draft, {}, notice=DRAFT_NOTICE) if draft else None
        if response is None:
            response = await _form_page(viewer, _blank(viewer), {})
        response.delete_cookie(DRAFT_COOKIE, path=FORM_PATH)
        return response
    return await _form_page(viewer, _blank(viewer), {})


def _blank(viewer: Viewer) -> ReportForm:
    person = viewer.person
    return ReportForm.blank(
        role=person.role, name=person.name, contact=person.email, departments=list(person.departments)
    )


@router.post(FORM_PATH)
async def send_concern(
    request: Request, context: PortalDep, session: SessionDep, raw_form: Annotated[FormData, Depends(posted_form)]
) -> Response:
    """POST the concern to intake with the person's token; on a refusal the form again, with every value kept.
    Without a live session the values are kept as a draft for the form after the login (see `_keep_draft`)."""
    if session is None or not session.authenticated:
        return await _keep_draft(request, context, raw_form)
    viewer = await require_person(*REPORTING_ROLES)(request, context, session)
    posted = await checked_form(request, session, raw_form)
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

"""Admin pages: the routing rules' versions (view, diff, simulate a concern), API clients, webhooks and deliveries.

Every page checks the role here (a person of another role gets the Danish 403) and calls the services with the
person's own token, so routing and notify check it again and audit the admin by name.
"""

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

import yaml
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import RedirectResponse, Response

from services.portal.adapters.services_api import ApiError
from services.portal.domain import staff
from services.portal.domain.person import ROLE_NAMES, ROLES
from services.portal.entrypoints.api.worklist import guidance, labels
from services.portal.entrypoints.deps import CheckedForm, Viewer, require_person
from shared.contracts.vocabulary import Category, Consent, Severity

router = APIRouter(include_in_schema=False)
Admin = Annotated[Viewer, Depends(require_person("admin"))]
Steward = Annotated[Viewer, Depends(require_person("admin", "ops"))]
"""Webhooks and failed deliveries: ops keeps them running, admins too."""
Version = Annotated[int, Path(ge=1, le=2_147_483_647)]
EntityId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
SIMULATED_TEXT = "Simulering fra portalen (ingen rigtig bekymring)."
SECTION_NAMES = {
    "rules": "Regler",
    "municipalities": "Kommuner",
    "consultants": "Konsulenter",
    "associations": "Foreninger",
    "escalation": "Eskalering",
}


def _yaml(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=110)


def _value(value: Any) -> str:
    """A diff's before/after value as one short text."""
    if value is None:
        return "(findes ikke)"
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, allow_unicode=True, sort_keys=False, default_flow_style=True, width=200).strip()
    return str(value)


# Rules: versions, one version, a diff -------------------------------------------------------------------------------


@router.get("/admin/regler")
async def rules_versions(viewer: Admin, foer: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None) -> Response:
    """The stored versions, newest first, each with links to read it and to compare it with the one before."""
    page = await viewer.get("routing", "/v1/rules/versions", params={"limit": 50, "before": foer})
    current = await viewer.get("routing", "/v1/rules")
    return viewer.render(
        "admin_rules.html",
        {"title": "Regler", "versions": page.get("items") or [], "next_before": page.get("next_before"),
         "in_force": current.get("version")},
    )  # fmt: skip


@router.get("/admin/regler/{version}")
async def rules_version(viewer: Admin, version: Version) -> Response:
    """One stored version as YAML."""
    found = await viewer.get("routing", f"/v1/rules/versions/{version}")
    return viewer.render(
        "admin_rules_version.html",
        {"title": f"Regler, version {version}", "version": found, "text": _yaml(found.get("document"))},
    )


@router.get("/admin/regler/{version}/forskel")
async def rules_diff(
    viewer: Admin, version: Version, mod: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None
) -> Response:
    """What changed in `version` against `mod` (default: the version before): rules, sections, fields, YAML diff."""
    found = await viewer.get("routing", f"/v1/rules/versions/{version}/diff", params={"against": mod})
    sections = [("rules", found.get("rules") or {})]
    sections += [(name, diff) for name, diff in sorted((found.get("sections") or {}).items())]
    return viewer.render(
        "admin_rules_diff.html",
        {
            "title": f"Forskel på version {found.get('against') or '–'} og {version}",
            "diff": found,
            "sections": [(SECTION_NAMES.get(name, name), diff) for name, diff in sections],
            "value": _value,
        },
    )


# Rules: simulate a concern ------------------------------------------------------------------------------------------


async def _simulation_choices(viewer: Viewer) -> dict[str, Any]:
    departments = await viewer.get("intake", "/v1/departments")
    versions = (await viewer.get("routing", "/v1/rules/versions", params={"limit": 50})).get("items") or []
    categories = []
    for category in Category:
        found = await guidance(viewer, category.value)
        categories.append({"value": category.value, "label": found["title"] if found else category.value})
    return {
        "departments": [{"value": d["id"], "label": f"{d['name']} ({d['municipality_code']})"} for d in departments],
        "versions": [{"value": str(v["version"]), "label": f"Version {v['version']}: {v['name']}"} for v in versions],
        "categories": categories,
        "severities": [{"value": s.value, "label": staff.SEVERITY[s.value]} for s in Severity],
        "consents": [{"value": c.value, "label": staff.CONSENT[c.value]} for c in Consent],
        "bases": [{"value": b, "label": staff.LEGAL_BASIS[b]} for b in ("vital_interest", "statutory_duty")],
    }


def _simulation_page(viewer: Viewer, choices: dict, typed: dict, errors: dict, result: Any, status: int) -> Response:
    return viewer.render(
        "admin_simulate.html",
        {"title": "Simulér en bekymring", **choices, "typed": typed, "errors": errors, "result": result,
         "labels": labels(), "label": staff.label},
        status,
    )  # fmt: skip


@router.get("/admin/simulering")
async def simulate_form(viewer: Admin) -> Response:
    """The form: a concern's facts as a reporter would give them, and the version to route it with."""
    typed = {"categories": [], "severity": "medium", "consent": "not_asked", "prior": "0"}
    return _simulation_page(viewer, await _simulation_choices(viewer), typed, {}, None, 200)


API_TO_FORM = {"department_id": "department_id", "categories": "categories", "severity": "severity",
               "consent": "consent", "legal_basis": "legal_basis", "prior_concerns_90d": "prior",
               "rules_version": "rules_version"}  # fmt: skip
"""The simulation request's fields (the last part of a 422's field path) -> the form's fields."""


@router.post("/admin/simulering")
async def simulate(viewer: Admin, form: CheckedForm) -> Response:
    """Ask routing what it would do with the concern (nothing is stored or sent) and show who would get what."""
    typed = {
        "department_id": str(form.get("department_id") or ""),
        "categories": [str(c) for c in form.getlist("categories")],
        "severity": str(form.get("severity") or ""),
        "consent": str(form.get("consent") or ""),
        "legal_basis": str(form.get("legal_basis") or ""),
        "prior": str(form.get("prior") or "0").strip(),
        "rules_version": str(form.get("rules_version") or ""),
    }
    errors = {}
    if not typed["department_id"]:
        errors["department_id"] = "Vælg en afdeling."
    if not typed["categories"]:
        errors["categories"] = "Vælg mindst én kategori."
    if typed["severity"] not in set(Severity):
        errors["severity"] = "Vælg, hvor alvorligt det er."
    if typed["consent"] not in set(Consent):
        errors["consent"] = "Vælg, om beboeren har givet samtykke."
    if not typed["prior"].isdigit() or int(typed["prior"]) > 1000:
        errors["prior"] = "Skriv et helt tal fra 0 til 1000."
    choices = await _simulation_choices(viewer)
    if errors:
        return _simulation_page(viewer, choices, typed, errors, None, 422)
    concern = {
        "department_id": typed["department_id"],
        "categories": typed["categories"],
        "severity": typed["severity"],
        "consent": typed["consent"],
        "description": SIMULATED_TEXT,
        "observed_at": datetime.now(UTC).isoformat(),
        "reporter": {"role": "other"},
    }
    if typed["legal_basis"]:
        concern["legal_basis"] = typed["legal_basis"]
    body: dict[str, Any] = {"concern": concern, "prior_concerns_90d": int(typed["prior"])}
    if typed["rules_version"]:
        body["rules_version"] = int(typed["rules_version"])
    try:
        result = await viewer.post("routing", "/v1/rules/simulate", json=body)
    except ApiError as error:
        if error.status != 422:
            raise
        found = {}
        for field, problem in error.field_errors:
            found[API_TO_FORM.get(field.split(".")[-1], "_form")] = problem
        return _simulation_page(viewer, choices, typed, found or {"_form": error.detail}, None, 422)
    return _simulation_page(viewer, choices, typed, {}, result, 200)


# API clients ---------------------------------------------------------------------------------------------------------

CLIENT_FIELDS = {"name": "name", "role": "role", "municipality_code": "municipality_code",
                 "department_ids": "department_ids", "organisation_id": "organisation_id",
                 "expires_in_days": "expires_in_days"}  # fmt: skip
"""intake's POST /v1/clients fields (the first part of a 422's field path) -> the form's fields."""
ROLE_HINTS = {
    "reporter": "Et boligsystem, der indberetter bekymringer. Kræver en boligorganisation.",
    "consultant": "Et værktøj for boligsociale konsulenter. Kræver mindst én afdeling.",
    "municipality": "En kommunes integration. Kræver kommunekoden.",
    "association": "En frivillig forening. Kræver mindst én afdeling.",
    "ops": "Driftens værktøjer. Hele platformen.",
    "admin": "Alt, også at oprette klienter og ændre regler. Hele platformen.",
}
CLIENT_NOTICES = {"tilbagekaldt": "Klienten er tilbagekaldt. Dens nøgle virker ikke længere nogen steder."}


async def _client_choices(viewer: Viewer) -> dict[str, Any]:
    departments = await viewer.get("intake", "/v1/departments")
    organisations = sorted({d["organisation_id"] for d in departments if d.get("organisation_id")})
    return {
        "roles": [{"value": r, "label": ROLE_NAMES[r], "hint": ROLE_HINTS[r]} for r in ROLES],
        "departments": [{"value": d["id"], "label": f"{d['name']} ({d['municipality_code']})"} for d in departments],
        "organisations": [{"value": o, "label": o} for o in organisations],
    }


async def _clients_page(
    viewer: Viewer, typed: dict, errors: dict, created: dict | None, status: int, notice: str | None = None
) -> Response:
    listing, unavailable = None, False
    try:
        listing = await viewer.get("intake", "/v1/clients")
    except ApiError as error:
        if error.status not in (404, 405):
            raise
        unavailable = True
    items = listing.get("items") if isinstance(listing, dict) else listing
    return viewer.render(
        "admin_clients.html",
        {"title": "API-klienter", "clients": items or [], "unavailable": unavailable, "created": created,
         "errors": errors, "typed": typed, "notice": notice, "role_names": ROLE_NAMES,
         **(await _client_choices(viewer))},
        status,
    )  # fmt: skip


@router.get("/admin/klienter")
async def clients(viewer: Admin, besked: str | None = None) -> Response:
    """The API clients (intake's registry): create one (its token is shown once), revoke one."""
    typed = {"department_ids": []}
    return await _clients_page(viewer, typed, {}, None, 200, CLIENT_NOTICES.get(besked or ""))


@router.post("/admin/klienter")
async def create_client(viewer: Admin, form: CheckedForm) -> Response:
    """Create a client in intake (which checks the scope its role needs) and show its token, this once."""
    typed = {
        "name": str(form.get("name") or "").strip(),
        "role": str(form.get("role") or ""),
        "municipality_code": str(form.get("municipality_code") or "").strip(),
        "department_ids": [str(d) for d in form.getlist("department_ids")],
        "organisation_id": str(form.get("organisation_id") or ""),
        "expires_in_days": str(form.get("expires_in_days") or "").strip(),
    }
    errors = {}
    if not typed["name"]:
        errors["name"] = "Skriv, hvem klienten er."
    if typed["role"] not in ROLES:
        errors["role"] = "Vælg klientens rolle."
    days = typed["expires_in_days"]
    if days and (not days.isdigit() or not 1 <= int(days) <= 3650):
        errors["expires_in_days"] = "Skriv et helt antal dage fra 1 til 3650, eller lad feltet stå tomt."
    if errors:
        return await _clients_page(viewer, typed, errors, None, 422)
    role = typed["role"]
    body: dict[str, Any] = {"name": typed["name"], "role": role}
    if role == "municipality" and typed["municipality_code"]:
        body["municipality_code"] = typed["municipality_code"]
    if role in ("reporter", "consultant", "association") and typed["department_ids"]:
        body["department_ids"] = typed["department_ids"]
    if role == "reporter" and typed["organisation_id"]:
        body["organisation_id"] = typed["organisation_id"]
    if days:
        body["expires_in_days"] = int(days)
    try:
        created = await viewer.post("intake", "/v1/clients", json=body)
    except ApiError as error:
        if error.status != 422:
            raise
        found = {}
        for field, problem in error.field_errors:
            found[CLIENT_FIELDS.get(field.split(".")[0], "_form")] = problem
        return await _clients_page(viewer, typed, found or {"_form": error.detail}, None, 422)
    return await _clients_page(viewer, {"department_ids": []}, {}, created, 200)


@router.post("/admin/klienter/{client_id}/tilbagekald")
async def revoke_client(viewer: Admin, client_id: EntityId, form: CheckedForm) -> Response:
    """Revoke a client in intake: its token stops working in every service within seconds."""
    try:
        await viewer.post("intake", f"/v1/clients/{quote(client_id)}/revoke")
    except ApiError as error:
        if error.status != 404:
            raise
        return viewer.render("error.html", {"title": "Klienten findes ikke", "message": error.detail}, 404)
    return RedirectResponse("/admin/klienter?besked=tilbagekaldt", status_code=303)


# Webhooks and failed deliveries -------------------------------------------------------------------------------------


@router.get("/admin/webhooks")
async def webhooks(viewer: Steward, besked: str | None = None) -> Response:
    """Every subscription (state, event types, why it was disabled) and the deliveries notify gave up on."""
    subscriptions = await viewer.get("notify", "/v1/subscriptions", params={"limit": 200})
    dead = await viewer.get("notify", "/v1/deliveries", params={"state": "dead", "limit": 200})
    notices = {"slettet": "Abonnementet er stoppet.", "aktiveret": "Abonnementet er slået til igen.",
               "gensendt": "Leveringen er sat i kø igen."}  # fmt: skip
    return viewer.render(
        "admin_webhooks.html",
        {
            "title": "Webhooks og fejlede leveringer",
            "subscriptions": subscriptions.get("items") or [],
            "dead": dead.get("items") or [],
            "notice": notices.get(besked or ""),
            "label": staff.label,
            "states": staff.SUBSCRIPTION_STATE,
            "reasons": staff.DISABLED_REASON,
            "event_types": staff.EVENT_TYPES,
        },
    )


async def _webhook_action(viewer: Viewer, method: str, service_path: str, done: str) -> Response:
    try:
        await viewer.call("notify", method, service_path)
    except ApiError as error:
        if error.status not in (409, 422):
            raise
        return viewer.render("error.html", {"title": "Det kunne ikke lade sig gøre", "message": error.detail}, 409)
    return RedirectResponse(f"/admin/webhooks?besked={done}", status_code=303)


@router.post("/admin/webhooks/{subscription_id}/stop")
async def stop_subscription(viewer: Steward, subscription_id: EntityId, form: CheckedForm) -> Response:
    """Stop a subscription (DELETE in notify)."""
    return await _webhook_action(viewer, "DELETE", f"/v1/subscriptions/{quote(subscription_id)}", "slettet")


@router.post("/admin/webhooks/{subscription_id}/aktiver")
async def enable_subscription(viewer: Steward, subscription_id: EntityId, form: CheckedForm) -> Response:
    """Enable a disabled subscription again (notify checks the URL again)."""
    return await _webhook_action(viewer, "POST", f"/v1/subscriptions/{quote(subscription_id)}/enable", "aktiveret")


@router.post("/admin/leveringer/{delivery_id}/gensend")
async def redeliver(viewer: Steward, delivery_id: EntityId, form: CheckedForm) -> Response:
    """Queue a dead delivery again (notify keeps its webhook-id)."""
    return await _webhook_action(viewer, "POST", f"/v1/deliveries/{quote(delivery_id)}/redeliver", "gensendt")

"""The report form: what a person typed, as intake's POST /v1/concerns body, and intake's refusals per field.

The form's field names are the body's paths (`resident.name`), so a refusal's `errors[].field` names the input
it belongs to. Nothing typed is dropped: the values go back into the form on every refusal.
"""

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
TEXT_FIELDS = (
    "department_id",
    "tenancy_id",
    "severity",
    "description",
    "observed_date",
    "observed_time",
    "reporter.role",
    "reporter.name",
    "reporter.contact",
    "resident.name",
    "resident.address",
    "resident.phone",
    "resident.email",
    "resident.date_of_birth",
    "children_in_household",
    "consent",
    "danger_confirmed",
    "idempotency_key",
)
RESIDENT_FIELDS = ("name", "address", "phone", "email", "date_of_birth")
IDEMPOTENCY = re.compile(r"^[A-Za-z0-9-]{8,64}$")

FIELD_ORDER = (
    "department_id",
    "tenancy_id",
    "categories",
    "severity",
    "danger_confirmed",
    "description",
    "observed_at",
    "reporter.role",
    "reporter.name",
    "reporter.contact",
    "resident",
    "resident.name",
    "resident.address",
    "resident.phone",
    "resident.email",
    "resident.date_of_birth",
    "children_in_household",
    "consent",
)
LABELS = {
    "department_id": "Afdeling",
    "tenancy_id": "Lejemål",
    "categories": "Hvad drejer bekymringen sig om",
    "severity": "Hvor alvorligt er det",
    "danger_confirmed": "Fare lige nu",
    "description": "Hvad har du set eller hørt",
    "observed_at": "Hvornår",
    "reporter.role": "Hvem er du",
    "reporter.name": "Dit navn",
    "reporter.contact": "Din e-mail eller dit telefonnummer",
    "resident": "Beboeren",
    "resident.name": "Beboerens navn",
    "resident.address": "Beboerens adresse",
    "resident.phone": "Beboerens telefonnummer",
    "resident.email": "Beboerens e-mail",
    "resident.date_of_birth": "Beboerens fødselsdato",
    "children_in_household": "Bor der børn i hjemmet",
    "consent": "Samtykke",
}
ALIASES = {"reporter": "reporter.role", "observed_date": "observed_at", "observed_time": "observed_at"}

SEVERITIES = [
    {"value": "low", "label": "Lav", "hint": "Det haster ikke, men nogen bør kigge på det."},
    {"value": "medium", "label": "Middel", "hint": "Det bør tages op inden for få dage."},
    {"value": "high", "label": "Høj", "hint": "Det bør tages op hurtigt, helst i dag."},
    {"value": "acute", "label": "Akut", "hint": "Der skal handles nu. Ring 112, hvis liv eller helbred er i fare."},
]
REPORTER_ROLES = [
    {"value": "caretaker", "label": "Vicevært eller ejendomsfunktionær"},
    {"value": "resident_representative", "label": "Beboerdemokrat"},
    {"value": "administration", "label": "Medarbejder i administrationen"},
    {"value": "consultant", "label": "Boligsocial konsulent"},
    {"value": "other", "label": "Andet"},
]
CONSENTS = [
    {"value": "given", "label": "Ja, beboeren har sagt ja til, at oplysningerne må deles"},
    {"value": "refused", "label": "Nej, beboeren har sagt nej"},
    {"value": "not_asked", "label": "Beboeren er ikke spurgt (eller kan ikke tage stilling)"},
]
CHILDREN = [
    {"value": "yes", "label": "Ja"},
    {"value": "no", "label": "Nej"},
    {"value": "unknown", "label": "Ved ikke"},
]
SEVERITY_NAMES = {s["value"]: s["label"] for s in SEVERITIES}


@dataclass
class ReportForm:
    """What the person typed (strings as typed) and the ticked categories."""

    values: dict[str, str] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)

    @classmethod
    def blank(cls, *, role: str | None, name: str | None, contact: str | None, departments: list[str]) -> "ReportForm":
        """A new form: now as the time observed, the person's own name and e-mail as the reporter's."""
        now = datetime.now(COPENHAGEN)
        values = {
            "observed_date": now.date().isoformat(),
            "observed_time": now.strftime("%H:%M"),
            "reporter.role": "consultant" if role == "consultant" else "caretaker",
            "reporter.name": name or "",
            "reporter.contact": contact or "",
            "idempotency_key": str(uuid.uuid4()),
        }
        if len(departments) == 1:
            values["department_id"] = departments[0]
        return cls(values=values)

    @classmethod
    def from_post(cls, form: FormData) -> "ReportForm":
        """The POSTed form, every value kept as typed."""
        values = {name: str(form.get(name) or "") for name in TEXT_FIELDS}
        categories = [str(c) for c in form.getlist("categories") if c]
        if not IDEMPOTENCY.match(values["idempotency_key"]):
            values["idempotency_key"] = str(uuid.uuid4())
        return cls(values=values, categories=categories)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def observed_at(self) -> str | None:
        """The date and time observed as an ISO time in Danish time, or None when they cannot be read."""
        try:
            day = date.fromisoformat(self.value("observed_date").strip())
            clock = time.fromisoformat(self.value("observed_time").strip() or "00:00")
        except ValueError:
            return None
        return datetime.combine(day, clock, COPENHAGEN).isoformat()

    def body(self) -> tuple[dict[str, Any], dict[str, str]]:
        """intake's request body, and the errors the portal finds itself (a date it cannot read)."""
        own: dict[str, str] = {}

        def text(name: str) -> str | None:
            stripped = self.value(name).strip()
            return stripped or None

        body: dict[str, Any] = {
            "department_id": text("department_id"),
            "categories": self.categories,
            "severity": text("severity"),
            "description": self.value("description"),
            "consent": text("consent"),
            "reporter": {k: v for k in ("role", "name", "contact") if (v := text(f"reporter.{k}")) is not None},
        }
        if text("tenancy_id"):
            body["tenancy_id"] = text("tenancy_id")
        observed = self.observed_at()
        if observed is None:
            own["observed_at"] = "Skriv en dato og et tidspunkt, fx 4.12.2026 kl. 08.30."
        else:
            body["observed_at"] = observed
        resident = {k: v for k in RESIDENT_FIELDS if (v := text(f"resident.{k}")) is not None}
        if resident:
            body["resident"] = resident
        if text("children_in_household"):
            body["children_in_household"] = text("children_in_household")
        if self.value("danger_confirmed") == "yes":
            body["danger_confirmed"] = True
        # Required fields left empty: left out, so intake names them as missing.
        return {k: v for k, v in body.items() if v is not None}, own


def field_of(path: str) -> str:
    """The form field a refusal's `errors[].field` belongs to (`categories.1` -> `categories`)."""
    path = path.removeprefix("body.")
    if path.startswith("categories"):
        return "categories"
    if path in ALIASES:
        return ALIASES[path]
    return path if path in LABELS else "_general"


MISSING = re.compile(r"(required|mangler|skal udfyldes|påkrævet|mindst 1 (tegn|element))", re.IGNORECASE)
MISSING_TEXT = {
    "department_id": "Vælg den afdeling, bekymringen gælder.",
    "categories": "Sæt mindst ét kryds ved, hvad bekymringen drejer sig om.",
    "severity": "Vælg, hvor alvorligt det er.",
    "description": "Skriv, hvad du har set eller hørt.",
    "observed_at": "Skriv, hvornår du så det.",
    "reporter.role": "Vælg, hvem du er.",
    "consent": "Svar på, om beboeren har givet samtykke.",
}


def field_errors(refusals: list[tuple[str, str]]) -> dict[str, str]:
    """intake's refusals by form field, in page order (the first refusal of a field wins)."""
    found: dict[str, str] = {}
    for path, problem in refusals:
        name = field_of(path)
        if name in found:
            continue
        text = MISSING_TEXT.get(name) if MISSING.search(problem) else None
        found[name] = text or (problem[:1].upper() + problem[1:] if problem else "Ugyldig værdi.")
    return ordered(found)


def ordered(errors: dict[str, str]) -> dict[str, str]:
    """The errors in the order their fields stand on the page (general ones first)."""
    rank = {name: i for i, name in enumerate(FIELD_ORDER)}
    return dict(sorted(errors.items(), key=lambda item: rank.get(item[0], -1)))

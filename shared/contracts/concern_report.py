"""What a reporter sends (intake's POST /v1/concerns): one model for the HTTP body, mapped inbound payloads and
routing's simulation, so all three refuse alike."""

from datetime import date
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.contracts.events import EntityId
from shared.contracts.inbound import SystemId
from shared.contracts.text import FREE_TEXT, ONE_LINE
from shared.contracts.vocabulary import Category, ChildrenInHousehold, Consent, ReporterRole, Severity


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _unique(values: list[Category]) -> list[Category]:
    if len(set(values)) != len(values):
        raise ValueError("each category at most once")
    return values


def _past_date(value: date) -> date:
    if value > date.today():
        raise ValueError("must not be in the future")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), ONE_LINE]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), AfterValidator(_not_blank), FREE_TEXT
]
TenancyId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), ONE_LINE]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40, pattern=r"^\+?[0-9 ()-]+$")
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    ONE_LINE,
]
Contact = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254), ONE_LINE]


class Reporter(BaseModel):
    """Who reports: the kind of reporter always, name and contact (e-mail or phone) when they give them."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    role: ReporterRole
    """caretaker (vicevært), resident_representative (beboerdemokrat), administration, consultant, system, other."""
    name: Text | None = None
    """The reporter's name, for questions from the recipient."""
    contact: Contact | None = None
    """E-mail address or phone number for the receipt and status; other text is kept but not used to notify."""


class Resident(BaseModel):
    """Personal details of the resident the concern is about (optional; shared only with a legal basis)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: Text | None = None
    """The resident's name."""
    address: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), FREE_TEXT] | None
    ) = None
    """Address, e.g. street, number, floor and door."""
    phone: Phone | None = None
    """The resident's phone number."""
    email: Email | None = None
    """The resident's e-mail address."""
    date_of_birth: Annotated[date, AfterValidator(_past_date)] | None = None
    """Date of birth, when known."""

    @model_validator(mode="after")
    def _something_given(self) -> Self:
        if not any(getattr(self, name) is not None for name in type(self).model_fields):
            raise ValueError("give at least one detail, or leave resident out")
        return self


EXTERNAL_ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
"""What a source system's id may hold: any printable text (also the pattern of the external_ref_id filter)."""


class ExternalRef(BaseModel):
    """The concern's id in the system it came from: with `system` a natural key (a replay is not a new concern)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    system: SystemId
    """Id of the source system, e.g. ejendomssystem-a."""
    id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=EXTERNAL_ID_PATTERN)]
    """The concern's id in that system (no control characters: PostgreSQL refuses NUL)."""


class ConcernReport(BaseModel):
    """A concern about a resident, as reported (DESIGN.md, POST /v1/concerns)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    department_id: EntityId
    """The department (afdeling) where the concern arose; one of GET /v1/departments."""
    tenancy_id: TenancyId | None = None
    """The tenancy (lejemål), e.g. 17-0042; leave out when the concern is about the estate."""
    categories: Annotated[list[Category], Field(min_length=1, max_length=15), AfterValidator(_unique)]
    """One or more categories from the fixed set, each at most once."""
    severity: Severity
    """low, medium, high or acute (acute: act now, and call 112 when life or health is in danger)."""
    description: Description
    """What was observed, in the reporter's own words (Danish); stored encrypted."""
    observed_at: AwareDatetime
    """When it was observed, with a timezone (e.g. 2025-03-04T08:30:00+01:00); not in the future."""
    reporter: Reporter
    """Who reports."""
    resident: Resident | None = None
    """The resident's personal details, when known."""
    consent: Consent
    """Whether the resident agreed to their details being shared: given, refused or not_asked."""
    legal_basis: Literal["vital_interest", "statutory_duty"] | None = None
    """Another legal basis for sharing, when there is one besides consent."""
    external_ref: ExternalRef | None = None
    """The concern's id in the reporting system, when it has one."""
    children_in_household: ChildrenInHousehold | None = None
    """Whether children live in the household (yes, no, unknown): with yes and neglect, violence, substance abuse
    or mental illness the concern is also an underretning to the municipality's children and youth entry."""
    danger_confirmed: bool | None = None
    """The reporter confirms a danger to life or health now: with a danger hint from the text, the municipality
    gets the personal details on vital interest. Without it, the consultant is asked to call at once."""

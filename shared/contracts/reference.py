"""The record of the compacted reference-data topic: the one directory of departments, recipients, municipalities.

intake owns it (its reference file and `PUT /v1/reference-data`); stats, routing and notify follow the topic and
never keep a copy in their own files. One snapshot under the key `directory`: compaction keeps the newest.
"""

import hashlib
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.errors import INVALID_DATA, parse_object, validate
from shared.contracts.events import EntityId, MunicipalityCode
from shared.contracts.text import ONE_LINE, Line
from shared.contracts.topics import REFERENCE_DATA

DIRECTORY_KEY: Final = "directory"
"""The Kafka key of the snapshot (the only key of the topic)."""
MAX_TENANCIES: Final = 1_000_000
"""More tenancies than all of Danish social housing has (about 600,000): a bound, not a guess at a department."""

Name = Annotated[Line, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), ONE_LINE]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class RecipientKind(StrEnum):
    """What a recipient is."""

    CONSULTANT = "consultant"
    """A housing-social consultant (boligsocial konsulent) serving departments."""
    ASSOCIATION = "association"
    """An organised volunteer association (frivillig forening) registered for departments."""
    SINGLE_ENTRY = "single_entry"
    """A municipality's single entry point (én indgang)."""
    CHILDREN_AND_YOUTH = "children_and_youth"
    """A municipality's children and youth entry (børne- og ungeindgang): where underretninger go."""
    ESCALATION_CONTACT = "escalation_contact"
    """Who is told when a recipient does not answer in time (e.g. a team's manager)."""


class Recipient(_Strict):
    """Someone a referral or an escalation can go to."""

    name: Name
    """Display name, in Danish."""
    kind: RecipientKind
    """What the recipient is."""
    email: Email | None = None
    """Where e-mail to the recipient goes (a functional mailbox, never a person's private address)."""
    escalation_contact: EntityId | None = None
    """The recipient that escalations of this recipient's referrals go to."""


class Department(_Strict):
    """A department (afdeling) of a housing organisation, in one municipality."""

    id: EntityId
    """Id of the department."""
    name: Name
    """Display name of the department."""
    municipality_code: MunicipalityCode
    """The municipality the department lies in."""
    tenancies: Annotated[int, Field(ge=0, le=MAX_TENANCIES)]
    """Number of tenancies (lejemål): the denominator of rates per 100 tenancies."""
    consultants: tuple[EntityId, ...] = ()
    """The consultant serving the department (at most one: routing refers to one consultant)."""
    associations: tuple[EntityId, ...] = ()
    """Volunteer associations registered for the department."""


class Organisation(_Strict):
    """A housing organisation (boligorganisation) and its departments."""

    id: EntityId
    """Id of the organisation."""
    name: Name
    """Display name of the organisation."""
    departments: tuple[Department, ...] = ()
    """Its departments."""


class Municipality(_Strict):
    """A municipality by its official code; the single entry and its escalation contact where known."""

    name: Annotated[Line, Field(max_length=200)] = ""
    """Official name (from the official list of municipality codes)."""
    single_entry: EntityId | None = None
    """The recipient id of the municipality's single entry point."""
    children_entry: EntityId | None = None
    """The recipient id of the municipality's children and youth entry (underretninger), apart from the single
    entry; its escalation contact is the municipality's."""
    escalation_contact: EntityId | None = None
    """Who is told when the single entry does not answer in time."""


_ENTRIES = (
    ("single_entry", RecipientKind.SINGLE_ENTRY, "single entry shared by two municipalities"),
    ("children_entry", RecipientKind.CHILDREN_AND_YOUTH, "children and youth entry shared with another entry"),
)
"""A municipality's entries: the field, the kind of recipient it must be, the problem when another entry has it."""


class ReferenceContent(_Strict):
    """Organisations with their departments, recipients by id, municipalities by code."""

    organisations: tuple[Organisation, ...]
    """The housing organisations and their departments."""
    recipients: dict[EntityId, Recipient] = {}
    """Consultants, associations, single entries and escalation contacts, by recipient id."""
    municipalities: dict[MunicipalityCode, Municipality] = {}
    """Municipalities by official code."""

    def departments(self) -> Iterator[tuple[str, Department]]:
        """Every department with its organisation's id."""
        for organisation in self.organisations:
            for department in organisation.departments:
                yield organisation.id, department

    def problems(self) -> list[tuple[str, str]]:
        """(field, problem) for each inconsistency: duplicate ids, unknown codes, unnamed recipients."""
        found: list[tuple[str, str]] = []
        organisations: set[str] = set()
        departments: set[str] = set()
        for i, organisation in enumerate(self.organisations):
            if organisation.id in organisations:
                found.append((f"organisations[{i}].id", "duplicate organisation id"))
            organisations.add(organisation.id)
            for j, department in enumerate(organisation.departments):
                where = f"organisations[{i}].departments[{j}]"
                if department.id in departments:
                    found.append((f"{where}.id", "duplicate department id"))
                departments.add(department.id)
                if department.municipality_code not in self.municipalities:
                    found.append((f"{where}.municipality_code", "unknown municipality code"))
                if len(department.consultants) > 1:
                    found.append((f"{where}.consultants", "at most one consultant per department"))
                if department.associations and not department.consultants:
                    found.append((f"{where}.associations", "a department with associations needs a consultant"))
                for field, kind in (
                    ("consultants", RecipientKind.CONSULTANT),
                    ("associations", RecipientKind.ASSOCIATION),
                ):
                    for k, recipient in enumerate(getattr(department, field)):
                        found += self._recipient_problems(f"{where}.{field}[{k}]", recipient, kind)
        for rid, recipient in self.recipients.items():
            if recipient.escalation_contact is not None:
                found += self._recipient_problems(f"recipients.{rid}.escalation_contact", recipient.escalation_contact)
        entries: set[str] = set()
        for code, municipality in self.municipalities.items():
            if not municipality.name:
                found.append((f"municipalities.{code}.name", "missing name"))
            for name, kind, shared in _ENTRIES:
                entry = getattr(municipality, name)
                if entry is not None:
                    field = f"municipalities.{code}.{name}"
                    if entry in entries:
                        found.append((field, shared))
                    entries.add(entry)
                    found += self._recipient_problems(field, entry, kind)
            if municipality.escalation_contact is not None:
                found += self._recipient_problems(
                    f"municipalities.{code}.escalation_contact", municipality.escalation_contact
                )
        return found

    def _recipient_problems(
        self, field: str, recipient_id: str, kind: RecipientKind | None = None
    ) -> list[tuple[str, str]]:
        recipient = self.recipients.get(recipient_id)
        if recipient is None:
            return [(field, "unknown recipient (not named under recipients)")]
        if kind is not None and recipient.kind is not kind:
            return [(field, f"recipient is not a {kind.value}")]
        return []

    def fingerprint(self) -> str:
        """The content's version: SHA-256 of its canonical JSON."""
        return content_version(self.model_dump(mode="json"))

    def directory(self) -> "ReferenceDirectory":
        """The content as a versioned directory (raises ValueError when it is inconsistent)."""
        return ReferenceDirectory(version=self.fingerprint(), **dict(self))


class ReferenceDirectory(ReferenceContent):
    """The snapshot on the reference-data topic: the content and its version (the latest record wins)."""

    topic: ClassVar[str] = REFERENCE_DATA

    version: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    """SHA-256 (lower-case hex) of the canonical JSON of the content: equal versions mean equal content."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(f"{field}: {problem}" for field, problem in problems))
        if self.content().fingerprint() != self.version:
            raise ValueError("version is not the SHA-256 of the content")
        return self

    def content(self) -> ReferenceContent:
        """The content without its version."""
        return ReferenceContent.model_validate(self.model_dump(exclude={"version"}))


def content_version(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of a content's JSON value."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def encode_directory(directory: ReferenceDirectory) -> bytes:
    """Compact UTF-8 JSON of the snapshot."""
    return directory.model_dump_json().encode()


def decode_directory(raw: bytes | str) -> ReferenceDirectory:
    """Parse and validate a snapshot; raises ContractError."""
    return validate(ReferenceDirectory, parse_object(raw), reason=INVALID_DATA, what="reference directory")

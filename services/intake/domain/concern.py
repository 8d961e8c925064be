"""Accepting a concern: the checks beyond the schema, and the record intake keeps of it."""

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.intake.domain.contact import classify_contact
from services.intake.domain.directory import Department, Directory
from services.intake.domain.receipts import new_receipt_code
from services.intake.domain.report import ConcernReport
from shared.auth.principal import Principal
from shared.contracts.vocabulary import IntakeChannel
from shared.subject_key import subject_key


@dataclass(frozen=True)
class Refusal:
    """One reason a report is refused: the field, what is wrong (never the value), and a metric code."""

    field: str
    problem: str
    reason: str


class ConcernRefused(Exception):
    """The report cannot be accepted as it is; each refusal names a field."""

    def __init__(self, refusals: list[Refusal]):
        super().__init__("; ".join(f"{r.field}: {r.problem}" for r in refusals))
        self.refusals = refusals

    @property
    def reason(self) -> str:
        """The metric code of the first refusal."""
        return self.refusals[0].reason


def check_report(
    report: ConcernReport, directory: Directory, *, principal: Principal | None, now: datetime, skew: timedelta
) -> Department:
    """The report's department, or ConcernRefused: unknown or out-of-scope department, observed in the future."""
    refusals = []
    department = directory.get(report.department_id)
    # An existing department outside the caller's scope is refused like an unknown one: existence is not revealed.
    if department is None or (principal is not None and not _may_report_on(principal, department)):
        refusals.append(Refusal("department_id", "no such department in your scope", "unknown_department"))
    if report.observed_at > now + skew:
        refusals.append(Refusal("observed_at", "must not be in the future", "observed_in_future"))
    if refusals:
        raise ConcernRefused(refusals)
    assert department is not None  # noqa: S101 - refused above
    return department


def _may_report_on(principal: Principal, department: Department) -> bool:
    return principal.covers(
        department_id=department.id,
        municipality_code=department.municipality_code,
        organisation_id=department.organisation_id,
    )


def fingerprint(report: ConcernReport, secret: bytes) -> str:
    """A keyed hash of the report, to tell a replay from a reuse of its key (the report itself is not kept)."""
    return hmac.new(secret, report.model_dump_json().encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class NewConcern:
    """A report intake has checked and is about to store, with its id, receipt code and pseudonymous key."""

    id: str
    receipt_code: str
    department: Department
    subject_key: str
    report: ConcernReport
    received_at: datetime
    channel: IntakeChannel
    source_system: str | None
    reporter_client_id: str | None
    request_hash: str
    hints: tuple[str, ...] = ()
    """What triage read in the description: codes only (the text stays sealed)."""

    @property
    def has_reporter_contact(self) -> bool:
        """Whether the reporter left an e-mail address or phone number."""
        return self.report.reporter.contact is not None

    def sealed_details(self) -> dict[str, Any]:
        """Everything personal or free text: stored only encrypted, never in an event or a log."""
        report = self.report
        contact = classify_contact(report.reporter.contact) if report.reporter.contact else None
        return {
            "description": report.description,
            "tenancy_id": report.tenancy_id,
            "reporter": {
                "name": report.reporter.name,
                "contact": report.reporter.contact,
                "contact_channel": contact.channel if contact else None,
                "contact_address": contact.address if contact else None,
            },
            "resident": report.resident.model_dump(mode="json", exclude_none=True) if report.resident else None,
        }


def new_concern(
    report: ConcernReport,
    department: Department,
    *,
    now: datetime,
    channel: IntakeChannel,
    subject_key_secret: str,
    request_hash: str,
    source_system: str | None = None,
    reporter_client_id: str | None = None,
    hints: tuple[str, ...] = (),
) -> NewConcern:
    """A fresh concern for a checked report: a new id and receipt code, keyed by its tenancy's pseudonym."""
    return NewConcern(
        id=str(uuid.uuid4()),
        receipt_code=new_receipt_code(),
        department=department,
        subject_key=subject_key(
            subject_key_secret,
            department.organisation_id,
            tenancy_id=report.tenancy_id,
            department_id=department.id,
        ),
        report=report,
        received_at=now,
        channel=channel,
        source_system=source_system,
        reporter_client_id=reporter_client_id,
        request_hash=request_hash,
        hints=hints,
    )

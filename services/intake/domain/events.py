"""The events intake records in its outbox: thin, no names, contacts or free text."""

from datetime import datetime

from services.intake.domain.concern import NewConcern
from shared.contracts.concerns import ConcernErased, ConcernReported
from shared.contracts.envelope import Envelope, make_event


def concern_reported(concern: NewConcern, *, source: str) -> Envelope[ConcernReported]:
    """concern.reported.v1 for a concern just accepted, keyed by its subject key."""
    report = concern.report
    data = ConcernReported(
        concern_id=concern.id,
        organisation_id=concern.department.organisation_id,
        department_id=concern.department.id,
        municipality_code=concern.department.municipality_code,
        subject_key=concern.subject_key,
        categories=tuple(report.categories),
        severity=report.severity,
        consent=report.consent,
        legal_basis=report.legal_basis,
        observed_at=report.observed_at,
        reported_at=concern.received_at,
        reporter_role=report.reporter.role,
        channel=concern.channel,
        source_system=concern.source_system,
        has_reporter_contact=concern.has_reporter_contact,
        has_resident_details=report.resident is not None,
        subject_is_tenancy=bool(report.tenancy_id),  # as subject_key() decides between tenancy and department
        hints=concern.hints or None,
        children_in_household=report.children_in_household,
        danger_confirmed=report.danger_confirmed,
    )
    return make_event(data, source=source, subject=concern.subject_key, time=concern.received_at)


def concern_erased(concern_id: str, subject_key: str, *, erased_at: datetime, source: str) -> Envelope[ConcernErased]:
    """concern.erased.v1: the concern's personal details are gone (its data key was destroyed)."""
    data = ConcernErased(concern_id=concern_id, subject_key=subject_key, erased_at=erased_at)
    return make_event(data, source=source, subject=subject_key, time=erased_at)

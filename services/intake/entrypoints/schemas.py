"""Response bodies of intake's HTTP API that are not domain views."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from services.intake.domain.guidance import Guidance, HintGuidance


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)


class ConcernReceipt(_Body):
    """The answer to a reported concern: keep the receipt code, and read the guidance now."""

    id: str
    """The concern's id."""
    status: Literal["received"]
    """received: stored durably; routing picks it up from here."""
    received_at: datetime
    """When intake accepted the concern."""
    receipt_code: str
    """A short code to quote when asking about the concern, e.g. K7WX-3MPQ: GET /v1/concerns/{receipt_code}."""
    guidance: list[Guidance]
    """Practical guidance in Danish for the concern's categories."""
    hints: list[HintGuidance] = []
    """What the description may point to (danger first), with what to do now, in Danish; empty when nothing."""


class ErasureResult(_Body):
    """The concern's personal details are destroyed."""

    id: str
    status: Literal["erased"]
    erased_at: datetime


class DepartmentView(_Body):
    """A department (afdeling) the caller may report on."""

    id: str
    name: str
    organisation_id: str
    municipality_code: str
    """Official 4-digit code of the department's municipality."""
    tenancies: int
    """Number of tenancies (lejemål) in the department."""


class AuditView(_Body):
    """One audited access to a concern's personal details."""

    client_id: str
    role: str
    action: Literal["read_details", "read_reporter_contact", "erasure"]
    basis: str
    at: datetime

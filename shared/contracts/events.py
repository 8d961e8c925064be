"""What every event shares: the base class and the common field types."""

from datetime import UTC, datetime
from typing import Annotated, ClassVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00: a validation error, not a crash of the consumer
        raise ValueError("the instant is outside the representable range") from None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware instant, normalised to UTC."""

ENTITY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
"""What an id may hold: also the pattern of id filters in query strings (no NUL or other bytes a database refuses)."""
EntityId = Annotated[str, Field(min_length=1, max_length=128, pattern=ENTITY_ID_PATTERN)]
"""An opaque identifier (a UUID or a short code such as `cli_3f2a...` or `dep-0316-012`)."""

SubjectKey = Annotated[str, Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
"""Pseudonymous subject key: keyed HMAC of organisation + tenancy (or department), e.g. `sk_3f...`."""
MunicipalityCode = Annotated[str, Field(pattern=r"^\d{4}$")]
"""Official 4-digit Danish municipality code, e.g. 0316 (Holbæk)."""
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
"""A short machine code in snake_case."""
EventType = Annotated[str, Field(pattern=r"^[a-z][a-z_]*(\.[a-z][a-z_]*)*\.v[1-9][0-9]*$")]


class EventData(BaseModel):
    """Base of every CloudEvent `data` model: immutable, strict about unknown fields, thin."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        # A data field may carry a wire name of its own (notification events have an `event_type`
        # field, which would clash with the class variable of the same name).
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    event_type: ClassVar[str]
    topic: ClassVar[str]

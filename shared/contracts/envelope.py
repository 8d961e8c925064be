"""The CloudEvents 1.0 envelope around every event, and its JSON encoding on Kafka (structured mode)."""

import functools
import inspect
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.contracts.errors import (
    INVALID_DATA,
    INVALID_ENVELOPE,
    UNKNOWN_TYPE,
    ContractError,
    parse_object,
    refusal,
)
from shared.contracts.events import EventData, EventType, UtcDatetime
from shared.contracts.registry import EVENT_TYPES
from shared.contracts.text import Line

__all__ = ["ContractError", "Envelope", "decode", "encode", "envelope_schema", "make_event", "validate_envelope"]

DataT = TypeVar("DataT", bound=BaseModel)

REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type", "subject", "time", "data")
"""Attributes a decoded event must carry (CloudEvents' required ones plus `subject`, `time`, `data`)."""


class Envelope(BaseModel, Generic[DataT]):
    """A CloudEvents 1.0 event with a JSON `data` body; `Envelope[ConcernReported]` and so on."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    specversion: Literal["1.0"]
    """CloudEvents specification version."""
    id: Annotated[Line, Field(min_length=1, max_length=128)]
    """Unique id of the event (a UUID); consumers de-duplicate on it, as delivery is at-least-once."""
    source: Annotated[Line, Field(min_length=1, max_length=256)]
    """URI reference of the service that emitted the event, e.g. /services/intake."""
    type: EventType
    """Event type with its major version, e.g. concern.reported.v1."""
    subject: Annotated[Line, Field(min_length=1, max_length=128)]
    """The Kafka key: the subject key (a tenancy pseudonym), or the subscription id of notification events."""
    time: UtcDatetime
    """When the event happened, in UTC."""
    datacontenttype: Literal["application/json"] = "application/json"
    """Content type of `data`."""
    dataschema: Annotated[Line, Field(min_length=1, max_length=512)] | None = None
    """URI of the schema `data` adheres to, when given."""
    data: DataT
    """The event body; its schema depends on `type`."""

    @model_validator(mode="after")
    def _type_matches_data(self) -> Self:
        expected = getattr(type(self.data), "event_type", None)
        if isinstance(expected, str) and expected != self.type:
            raise ValueError("type does not match the data model's event type")
        return self


@functools.cache
def envelope_class(model: type[BaseModel]) -> type[Envelope[Any]]:
    """`Envelope[model]`, built once and held for good."""
    # pydantic caches parametrized classes only weakly; once the garbage collector drops one, the next
    # event rebuilds it, which costs milliseconds (it re-reads the model's source for docstrings).
    return Envelope[model]  # type: ignore[valid-type]


def make_event(
    data: DataT,
    *,
    source: str,
    subject: str,
    id: str | None = None,
    time: datetime | None = None,
) -> Envelope[DataT]:
    """Wrap event data in an envelope: a fresh uuid4 id and the current UTC time unless given."""
    return envelope_class(type(data))(
        specversion="1.0",
        id=id or str(uuid.uuid4()),
        source=source,
        type=type(data).event_type,
        subject=subject,
        time=time or datetime.now(UTC),
        data=data,
    )


def encode(envelope: Envelope[Any]) -> bytes:
    """Compact UTF-8 JSON of the event; absent optional values are left out."""
    return envelope.model_dump_json(exclude_none=True, serialize_as_any=True).encode()


_TYPE_BYTES = re.compile(rb'"type"\s*:\s*"([a-z0-9_.]{1,64})"')
_TYPE_TEXT = re.compile(r'"type"\s*:\s*"([a-z0-9_.]{1,64})"')


def decode(raw: bytes | str) -> Envelope[Any]:
    """Parse a CloudEvent and validate its data into the model of its type; raises ContractError."""
    # Fast path: guess the type from the text, then parse and validate in one go in pydantic-core (Rust).
    # The guess cannot be wrong in effect: Envelope[model] accepts only events of model's own type. Anything
    # it refuses (also JSON that Python's parser reads but pydantic's does not: NaN, lone surrogates, a BOM)
    # takes the slow path below, which decides and words the refusal as before.
    found = (_TYPE_BYTES if isinstance(raw, bytes) else _TYPE_TEXT).search(raw)  # type: ignore[arg-type]
    if found is not None:
        model = EVENT_TYPES.get(found[1].decode() if isinstance(raw, bytes) else found[1])  # type: ignore[union-attr]
        if model is not None:
            try:
                return envelope_class(model).model_validate_json(raw)
            except ValidationError:
                pass
    return _decode_slowly(raw)


def _decode_slowly(raw: bytes | str) -> Envelope[Any]:
    value = parse_object(raw)
    missing = [name for name in REQUIRED_ATTRIBUTES if name not in value]
    if missing:
        raise ContractError(INVALID_ENVELOPE, f"missing attribute(s): {', '.join(missing)}", fields=tuple(missing))
    event_type = value["type"]
    model = EVENT_TYPES.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        raise ContractError(UNKNOWN_TYPE, "unknown event type", fields=("type",))
    return validate_envelope(model, value)


def validate_envelope(model: type[EventData], value: dict[str, Any]) -> Envelope[Any]:
    """Validate a parsed event against `Envelope[model]`; raises ContractError."""
    try:
        return envelope_class(model).model_validate(value)
    except ValidationError as error:
        in_data = any(item["loc"][:1] == ("data",) for item in error.errors(include_input=False))
        reason = INVALID_DATA if in_data else INVALID_ENVELOPE
        raise refusal(error, reason=reason, what=f"{model.event_type} event") from None


def envelope_schema(model: type[EventData], *, ref_template: str = "#/$defs/{model}") -> dict[str, Any]:
    """JSON Schema of `Envelope[model]`, titled after the event and with its `type` pinned."""
    schema = Envelope[model].model_json_schema(ref_template=ref_template)  # type: ignore[valid-type]
    summary = inspect.cleandoc(model.__doc__ or "")
    schema["title"] = f"{model.__name__} ({model.event_type})"
    schema["description"] = f"{summary}\n\nA CloudEvents 1.0 event (structured mode); `data` holds the body."
    type_schema = {key: value for key, value in schema["properties"]["type"].items() if key != "pattern"}
    schema["properties"]["type"] = {**type_schema, "const": model.event_type}
    return schema

"""Refusing bad messages: one error type with a machine-friendly reason and no personal data."""

import json
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

INVALID_JSON: Final = "invalid_json"
"""Not UTF-8 JSON, or not a JSON object."""
UNKNOWN_TYPE: Final = "unknown_type"
"""The CloudEvents `type` is not one this platform knows."""
INVALID_ENVELOPE: Final = "invalid_envelope"
"""A CloudEvents attribute is missing or invalid."""
INVALID_DATA: Final = "invalid_data"
"""The `data` (or a wrapper's fields) do not match the schema of the event type."""
REASONS: Final = (INVALID_JSON, UNKNOWN_TYPE, INVALID_ENVELOPE, INVALID_DATA)


class ContractError(ValueError):
    """A message that breaks the contract. `reason` is a short code; the message names fields, never values."""

    def __init__(self, reason: str, message: str, *, fields: tuple[str, ...] = ()):
        super().__init__(message)
        self.reason = reason
        self.fields = fields


def parse_object(raw: bytes | str) -> dict[str, Any]:
    """Parse UTF-8 JSON that must be an object, or raise ContractError("invalid_json")."""
    try:
        value = json.loads(raw)
    except UnicodeDecodeError:
        raise ContractError(INVALID_JSON, "message is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise ContractError(INVALID_JSON, f"message is not valid JSON ({where})") from None
    except RecursionError:
        # Thousands of nested arrays or objects: Python's parser gives up; this must refuse, not crash a consumer.
        raise ContractError(INVALID_JSON, "message is JSON nested too deeply") from None
    except ValueError:
        # An integer literal longer than Python converts (sys.get_int_max_str_digits).
        raise ContractError(INVALID_JSON, "message holds a number too long to read") from None
    if not isinstance(value, dict):
        raise ContractError(INVALID_JSON, f"message is a JSON {_json_kind(value)}, not an object")
    return value


def validate(model: type[M], value: dict[str, Any], *, reason: str, what: str, prefix: str = "") -> M:
    """Validate `value` into `model`, or raise ContractError naming the failing fields."""
    try:
        return model.model_validate(value)
    except ValidationError as error:
        raise refusal(error, reason=reason, what=what, prefix=prefix) from None


def refusal(error: ValidationError, *, reason: str, what: str, prefix: str = "") -> ContractError:
    """A ContractError that names the fields and kinds of problem of a ValidationError, never the input."""
    problems = [(_path(prefix, item["loc"]), _kind(item)) for item in error.errors(include_input=False)]
    fields = tuple(dict.fromkeys(path for path, _ in problems))
    # Every field, grouped by kind of problem so that many fit (it named five and then "and 3 more").
    by_kind: dict[str, list[str]] = {}
    for path, kind in problems:
        by_kind.setdefault(kind, []).append(path)
    listed = "; ".join(f"{', '.join(dict.fromkeys(paths))} ({kind})" for kind, paths in by_kind.items())
    return ContractError(reason, f"invalid {what}: {listed}", fields=fields)


def _path(prefix: str, loc: tuple[int | str, ...]) -> str:
    # Field names only; an unknown key is shown cut short, as a sender chose it.
    parts = [prefix] if prefix else []
    parts += [str(part)[:64] for part in loc]
    return ".".join(parts) or "(message)"


def _kind(item: Any) -> str:
    # Our own validators' messages name rules, not values; pydantic's other messages may quote input.
    if item["type"] == "value_error":
        return str(item["msg"]).removeprefix("Value error, ")
    return item["type"]


def _json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")

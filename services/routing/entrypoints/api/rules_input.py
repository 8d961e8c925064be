"""Reading a rules document sent by a person (JSON or YAML): each invalid field named, never a value echoed."""

import json
from typing import Any

import yaml
from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from services.routing.domain.document import RulesDocument
from shared.web.errors import problem
from shared.web.i18n import describe

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


class InvalidRules(Exception):
    """The rules document does not parse or does not validate."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("invalid rules document")
        self.errors = errors


def validate_document(value: Any, *, prefix: str = "") -> RulesDocument:
    """A RulesDocument, or InvalidRules naming each field and its problem (never echoing values)."""
    try:
        return RulesDocument.model_validate(value)
    except ValidationError as error:
        errors = [
            {"field": ".".join(str(p) for p in (prefix, *e["loc"]) if p != "") or "body", "problem": describe(e)}
            for e in error.errors(include_input=False, include_url=False)
        ]
        raise InvalidRules(errors) from None


def invalid(error: InvalidRules, title: str = "Invalid rules document") -> JSONResponse:
    """422 problem+json listing the invalid fields."""
    detail = "; ".join(f"{e['field']}: {e['problem']}" for e in error.errors[:10])
    return problem(422, title, detail, errors=error.errors)


async def parse_body(request: Request) -> Any:
    """The body as data, from JSON or YAML by its content type; 415 for any other type."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    try:
        if content_type in YAML_TYPES:
            return yaml.safe_load(raw)
        if content_type == "application/json":
            return json.loads(raw)
    except (yaml.YAMLError, ValueError, UnicodeDecodeError):
        raise InvalidRules([{"field": "body", "problem": f"not valid {content_type}"}]) from None
    raise HTTPException(415, "Send the rules document as application/json or application/yaml.")

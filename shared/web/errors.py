"""Problem details (RFC 9457) for every refusal; no stack traces, no echo of submitted values."""

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from shared.logging import get_logger
from shared.web.i18n import Language, current_language, describe, localise, negotiate

log = get_logger(__name__)
PROBLEM_JSON = "application/problem+json"
_UNPARSABLE_BODY = "There was an error parsing the body"  # fastapi.routing's detail for a body it cannot decode


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, naming fields, never echoing what was sent."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, str]] | None = None
    """Each invalid field by its path and what is wrong with it (422, 409)."""


_MEANING = {
    401: "Missing, invalid, revoked or expired token",
    403: "The caller's role may not do this, or a filter reaches beyond its scope",
    404: "Unknown, or outside the caller's scope",
    409: "Conflicts with the object's current state",
    412: "If-Match does not name the current version",
    413: "The body is too large",
    415: "Unsupported content type",
    422: "Invalid request; each field and its problem are named",
    429: "Rate limit exceeded; see Retry-After",
    503: "A dependency is unavailable or still loading; see Retry-After",
}


def problem_responses(*codes: int) -> dict[int | str, dict]:
    """OpenAPI `responses=` declaring refusals with these status codes as problem+json bodies."""
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {code: {"model": Problem, "content": content, "description": _MEANING.get(code, "")} for code in codes}


AUTHENTICATED = (401, 403, 422, 429, 503)
"""Refusals any authenticated route may answer: no token, wrong role, bad input, rate limit, not ready."""


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    language: Language | None = None,
    **extra: object,
) -> JSONResponse:
    """A problem+json response, its title, detail and fields' problems in the request's language."""
    language = language or current_language()
    body = problem_body(status, title, detail, language=language, **extra)
    # Its text depends on Accept-Language: caches must keep the languages apart.
    vary = ", ".join(filter(None, [(headers or {}).get("Vary"), "Accept-Language"]))
    headers = {**(headers or {}), "Content-Language": language, "Vary": vary}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_body(
    status: int, title: str, detail: str | None = None, *, language: Language, **extra: object
) -> dict[str, object]:
    """A problem's JSON body in the language; `errors[].field` and other machine fields stay as they are."""
    body: dict[str, object] = {"type": "about:blank", "title": localise(title, language), "status": status}
    if detail:
        body["detail"] = localise(detail, language)
    body.update(extra)
    errors = body.get("errors")
    if isinstance(errors, list):
        body["errors"] = [
            {**e, "problem": localise(e["problem"], language)} if isinstance(e, dict) and "problem" in e else e
            for e in errors
        ]
    return body


def field_errors(error: RequestValidationError) -> list[dict[str, str]]:
    """Each invalid field by its path and what is wrong with it, without the value that was sent."""
    return [{"field": _field(e), "problem": describe(e)} for e in error.errors()]


def _field(error: dict) -> str:
    # A body that is not JSON at all is located at a character offset, which names no field.
    if error.get("type") == "json_invalid":
        return "body"
    return ".".join(str(p) for p in error["loc"] if p != "body") or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Validation errors become 422 naming the fields; HTTP errors keep their status; anything else a bare 500."""

    @app.exception_handler(RequestValidationError)
    async def on_validation(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = field_errors(error)
        detail = "; ".join(f"{e['field']}: {e['problem']}" for e in errors)
        return problem(422, "Invalid request", detail, errors=errors)

    @app.exception_handler(HTTPException)
    async def on_http(_: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 400 and error.detail == _UNPARSABLE_BODY:
            # FastAPI's answer to a body it cannot even decode (not UTF-8): the same 422 as any body not JSON.
            errors = [{"field": "body", "problem": "not valid UTF-8 JSON"}]
            return problem(422, "Invalid request", "body: not valid UTF-8 JSON", errors=errors)
        return problem(error.status_code, _title(error.status_code), str(error.detail), headers=error.headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("unhandled_error", route=request.url.path, error=type(error).__name__)
        # Outside the language middleware (Starlette answers a 500 outermost): the request's own header decides.
        language = negotiate(request.headers.get("accept-language"))
        return problem(500, "Internal error", "The request could not be completed.", language=language)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"

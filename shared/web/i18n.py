"""The language of refusals: Danish for `Accept-Language: da`, English otherwise (RFC 9110 negotiation).

Texts are written in English where they are raised (the msgid, as in gettext); `localise` looks each one up in
the Danish catalogue of `shared/web/messages_da.py`. Field names and machine codes are never translated.
"""

import re
from contextvars import ContextVar
from functools import cache
from typing import Literal

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.web.messages_da import DANISH, PYDANTIC_DA

Language = Literal["da", "en"]
SUPPORTED: tuple[Language, ...] = ("da", "en")
DEFAULT: Language = "en"
_language: ContextVar[Language] = ContextVar("language", default=DEFAULT)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_FIELD = re.compile(r"[\w.\[\]-]+")


def negotiate(accept_language: str | None, default: Language = DEFAULT) -> Language:
    """The supported language the header prefers most (`da`, `da-DK`, `en-GB;q=0.8` ...), else `default`."""
    best: tuple[float, Language] | None = None
    for item in (accept_language or "").split(","):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if primary == "*" and best is None and quality > 0:
            best = (quality, default)
        elif primary in SUPPORTED and quality > 0 and (best is None or quality > best[0]):
            best = (quality, primary)  # type: ignore[assignment] - narrowed by SUPPORTED
    return best[1] if best else default


def language_of(scope: Scope) -> Language:
    """The language an ASGI request asks for."""
    headers = dict(scope.get("headers") or [])
    return negotiate(headers.get(b"accept-language", b"").decode("latin-1"))


def current_language() -> Language:
    """The language of the request being answered (English outside a request)."""
    return _language.get()


class LanguageMiddleware:
    """Sets the request's language for every refusal made while answering it (outermost, so all see it)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _language.set(language_of(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            _language.reset(token)


def localise(text: str, language: Language | None = None) -> str:
    """`text` in the language (Danish from the catalogue); unchanged when English or not catalogued."""
    if (language or current_language()) != "da" or not text:
        return text
    whole = _lookup(text)
    if whole is not None:
        return whole
    return "; ".join(_segment(part) for part in text.split("; "))


def describe(error: dict, language: Language | None = None) -> str:
    """One pydantic error's problem in the language, by its type and context (never the input)."""
    message = str(error.get("msg", ""))
    if (language or current_language()) != "da":
        return message
    kind = error.get("type", "")
    if kind in ("value_error", "assertion_error"):
        return localise(message.removeprefix("Value error, ").removeprefix("Assertion failed, "), "da")
    template = PYDANTIC_DA.get(kind)
    if template is None:
        return f"ugyldig værdi ({kind})"
    context = {k: str(v).replace(" or ", " eller ") for k, v in (error.get("ctx") or {}).items()}
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return template.split(" {")[0]


def _segment(text: str) -> str:
    # "field: problem", as the refusals join them: the field stays as it is.
    hit = _lookup(text)
    if hit is not None:
        return hit
    field, sep, rest = text.partition(": ")
    if sep and _FIELD.fullmatch(field):
        inner = _lookup(rest)
        if inner is not None:
            return f"{field}: {inner}"
    return text


def _lookup(text: str) -> str | None:
    exact = DANISH.get(text)
    if exact is not None:
        return exact
    for pattern, danish in _patterns():
        match = pattern.fullmatch(text)
        if match:
            values = {k: DANISH.get(v, v) for k, v in match.groupdict().items()}
            return danish.format(**values)
    return None


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    compiled = []
    for english, danish in DANISH.items():
        if not _PLACEHOLDER.search(english):
            continue
        parts = _PLACEHOLDER.split(english)
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        compiled.append((re.compile(regex, re.DOTALL), danish))
    return tuple(compiled)


def placeholders(template: str) -> set[str]:
    """The `{name}` placeholders of a catalogue text."""
    return set(_PLACEHOLDER.findall(template))

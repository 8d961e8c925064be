"""A pure ASGI middleware that refuses request bodies over a limit with 413, before anything parses them."""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.web.errors import problem_body
from shared.web.i18n import language_of

DEFAULT_MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class BodyLimits:
    """The largest body a service reads: one limit, and paths with a larger (or smaller) one of their own."""

    default: int = DEFAULT_MAX_BODY_BYTES
    per_path: Mapping[str, int] = field(default_factory=dict)
    on_refused: Callable[[str], None] | None = None
    """Called with the path of each refused request (a service's own refusal counter)."""

    def of(self, path: str) -> int:
        """The limit for a request to `path`."""
        return self.per_path.get(path, self.default)


class BodySizeLimit:
    """Refuses a declared Content-Length over the limit unread; reads any other body only up to the limit.

    Every method is held to it (a body on a GET is as expensive to receive); the body read is replayed to the app.
    """

    def __init__(self, app: ASGIApp, limits: BodyLimits):
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.of(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit)
            return
        # A body without (or understating) Content-Length is read up to the limit and then replayed to the app.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, send, limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        if self.limits.on_refused is not None:
            self.limits.on_refused(scope["path"])
        language = language_of(scope)
        detail = f"The request body exceeds the limit of {limit} bytes."
        body = json.dumps(problem_body(413, "Content Too Large", detail, language=language)).encode()
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-language", language.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"vary", b"Accept-Language"),
            # The rest of the body is not read: the connection cannot carry another request.
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

"""A pure ASGI middleware that refuses request bodies over a limit with 413, before anything parses them."""

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.intake.metrics import CONCERNS_REFUSED
from shared.web.errors import problem_body
from shared.web.i18n import language_of


class BodySizeLimit:
    """Reads the body up to `limit` bytes (Content-Length is checked first) and answers 413 above it."""

    def __init__(self, app: ASGIApp, limit: int, per_path: dict[str, int] | None = None):
        self.app = app
        self.limit = limit
        self.per_path = per_path or {}
        """Paths with a limit of their own (the reference directory is larger than any concern)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.limit)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send)
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
                await self._refuse(scope, send)
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

    async def _refuse(self, scope: Scope, send: Send) -> None:
        if scope["path"] == "/v1/concerns":
            CONCERNS_REFUSED.labels("http", "body_too_large").inc()
        # Outside the language middleware (added after the app's own): the request's header decides here.
        language = language_of(scope)
        detail = f"The request body exceeds the limit of {self.per_path.get(scope['path'], self.limit)} bytes."
        body = json.dumps(problem_body(413, "Content Too Large", detail, language=language)).encode()
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-language", language.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

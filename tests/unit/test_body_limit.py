"""The body limit every service's edge holds: 413 over it, a declared size refused unread, a stream cut off."""

from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from starlette.types import Message, Receive, Scope, Send

from shared.web.app import create_app
from shared.web.body_limit import BodyLimits, BodySizeLimit

pytestmark = pytest.mark.unit

router = APIRouter()


@router.post("/v1/things")
@router.put("/v1/big")
async def echo(body: dict[str, Any]) -> dict[str, int]:
    return {"keys": len(body)}


async def _no_lifespan(app):  # noqa: ANN001, ANN202
    yield


def app_with(limits: BodyLimits | None = None):  # noqa: ANN201
    from contextlib import asynccontextmanager

    return create_app(
        title="t", description="t", lifespan=asynccontextmanager(_no_lifespan), routers=[router], body_limits=limits
    )


async def send(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
        return await client.request(method, path, headers=headers, **kwargs)


def padded(size: int) -> bytes:
    """A JSON object of exactly `size` bytes."""
    return b'{"p": "' + b"x" * (size - 9) + b'"}'


async def test_every_app_holds_the_default_limit_and_names_it() -> None:
    app = app_with()
    assert (await send(app, "POST", "/v1/things", content=padded(64 * 1024))).json() == {"keys": 1}
    refused = await send(app, "POST", "/v1/things", content=padded(64 * 1024 + 1))
    assert refused.status_code == 413 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == "The request body exceeds the limit of 65536 bytes."
    danish = await send(app, "POST", "/v1/things", content=padded(70_000), headers={"Accept-Language": "da"})
    assert danish.json()["detail"] == "Forespørgslens indhold er større end grænsen på 65536 bytes."


async def test_a_path_of_its_own_has_its_own_limit_and_refusals_are_counted() -> None:
    refused: list[str] = []
    app = app_with(BodyLimits(2048, per_path={"/v1/big": 8192}, on_refused=refused.append))
    assert (await send(app, "PUT", "/v1/big", content=padded(8192))).status_code == 200
    assert (await send(app, "PUT", "/v1/big", content=padded(8193))).status_code == 413
    assert (await send(app, "POST", "/v1/things", content=padded(2049))).status_code == 413
    assert refused == ["/v1/big", "/v1/things"]


async def test_every_body_taking_route_documents_the_413() -> None:
    paths = app_with().openapi()["paths"]
    assert "413" in paths["/v1/things"]["post"]["responses"] and "413" in paths["/v1/big"]["put"]["responses"]
    assert "413" not in paths["/healthz"]["get"]["responses"]


class Upload:
    """An ASGI receive that hands out `chunks` one by one and counts how many were taken."""

    def __init__(self, chunks: int, size: int):
        self.left, self.size, self.taken = chunks, size, 0

    async def __call__(self) -> Message:
        self.taken += 1
        self.left -= 1
        return {"type": "http.request", "body": b"y" * self.size, "more_body": self.left > 0}


async def run(limit: int, receive: Receive, headers: list[tuple[bytes, bytes]], method: str = "POST") -> list[Message]:
    reached: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope)

    sent: list[Message] = []

    async def collect(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/v1/things", "headers": headers}
    await BodySizeLimit(app, BodyLimits(limit))(scope, receive, collect)
    assert not reached  # the app never saw the request
    return sent


async def test_a_declared_size_over_the_limit_is_refused_without_reading_the_body() -> None:
    upload = Upload(chunks=30 * 1024, size=1024)  # 30 MB, as in the issue
    sent = await run(64 * 1024, upload, [(b"content-length", str(30 * 1024 * 1024).encode())])
    assert sent[0]["status"] == 413 and upload.taken == 0


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_chunked_body_is_read_only_up_to_the_limit(method: str) -> None:
    upload = Upload(chunks=30 * 1024, size=1024)  # no Content-Length (chunked): 30 MB offered
    sent = await run(64 * 1024, upload, [(b"transfer-encoding", b"chunked")], method)
    assert sent[0]["status"] == 413 and upload.taken == 65  # 64 KiB and the chunk that went over
    assert (b"connection", b"close") in sent[0]["headers"]

"""A request body that is not even UTF-8 gets the same 422 naming `body` as any body that is not JSON."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from shared.web.errors import install_error_handlers

pytestmark = pytest.mark.unit


class Body(BaseModel):
    name: str


def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/things")
    async def create(body: Body) -> Body:
        return body

    return TestClient(app)


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00garbage", b"{not json"], ids=["not_utf8", "not_json"])
def test_an_undecodable_body_is_a_422_naming_the_body(raw: bytes) -> None:
    answer = client().post("/things", content=raw, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == ["body"]
    assert "garbage" not in answer.text

"""Property-based API testing with schemathesis against intake's own OpenAPI document, with a valid token.

intake runs in this process under uvicorn on a free port; schemathesis generates requests from the schema
(bounded examples per operation) and checks that none gives a 5xx and every response matches the schema.
"""

import asyncio
import contextlib

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from services.intake.bootstrap import build_app
from shared.auth.principal import Role
from tests.support.intake_harness import bearer, intake_settings, wait_until_serving
from tests.support.services import free_port

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 40
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@contextlib.asynccontextmanager
async def serving(app, port: int):  # noqa: ANN001, ANN201
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def fuzz(base_url: str, token: str) -> list[str]:
    """Run every operation's strategy; returns the operations tested (failures raise)."""
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json")
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case) -> None:  # noqa: ANN001
            case.call_and_validate(base_url=base_url, headers=bearer(token), checks=CHECKS)

        check()
        tested.append(f"{operation.method.upper()} {operation.path}")
    return tested


async def test_no_generated_request_gives_a_5xx_and_every_answer_matches_the_schema(
    fresh_database, kafka_bootstrap: str, topic_prefix: str, issue_client
) -> None:  # noqa: ANN001
    admin = await issue_client(Role.ADMIN)
    async with fresh_database("intake") as url:
        app = build_app(intake_settings(url, kafka_bootstrap, topic_prefix))
        async with serving(app, free_port()) as base_url:
            async with httpx.AsyncClient(base_url=base_url) as client:
                await wait_until_serving(client, admin.token)
            tested = await asyncio.to_thread(fuzz, base_url, admin.token)
    assert {"POST /v1/concerns", "GET /v1/concerns", "GET /v1/concerns/{concern_id}",
            "POST /v1/concerns/{concern_id}/erasure", "GET /v1/concerns/{concern_id}/reporter-contact",
            "GET /v1/guidance/{category}", "GET /v1/departments"} <= set(tested)  # fmt: skip

"""Bad input over HTTP: schemathesis against each service's own OpenAPI document, with a valid token of each role.

The four services run as real processes on isolated topics and fresh databases. For every operation of every
service's /openapi.json, schemathesis generates requests, both valid ones and ones that break the schema on
purpose (bodies, parameters, headers), and sends them with the token of one role at a time; no answer may be
a 5xx, and every answer must conform to the document: a documented status code, the documented content type
and headers, a body matching its schema.
Examples are derandomized, so a failure reproduces run after run.
"""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks

from shared.auth.admin import IssuedClient, new_client, publish_record
from shared.auth.principal import Role
from shared.kafka.admin import ensure_topics
from tests.support.databases import migrated_database
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e

SERVICES = ("intake", "routing", "notify", "stats")
# Roles and the scope each needs; every role's token is valid, so what is tested is the API past authentication.
ROLES: dict[Role, dict[str, object]] = {
    Role.REPORTER: {"organisation_id": "org-demo"},
    Role.CONSULTANT: {"department_ids": ["holbaek-1", "hoeng-1"]},
    Role.MUNICIPALITY: {"municipality_code": "0316"},
    Role.ASSOCIATION: {"department_ids": ["holbaek-1"]},
    Role.OPS: {},
    Role.ADMIN: {},
}
# Per operation and role: enough for schemathesis to reach each refusal (403, 404, 422, ...) and the success
# case; the whole module stays within a few minutes on two cores.
MAX_EXAMPLES = 25
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
# Not negative_data_rejection: it counts an unknown query parameter as invalid (APIs ignore those) and a case
# "without Authorization" as accepted when our token header is added to every request; in our runs it flagged
# nothing else.
# The rate limit is another test's subject (test_security_owasp); here it must not cut the generated requests short.
UNLIMITED = {"RATE_LIMIT_PER_MINUTE": "1000000", "RATE_LIMIT_BURST": "1000000"}
# The operations each document must hold, so that a route dropped from the schema cannot pass unnoticed.
EXPECTED = {
    "intake": {
        "POST /v1/concerns",
        "GET /v1/concerns",
        "GET /v1/concerns/{concern_id}",
        "POST /v1/concerns/{concern_id}/erasure",
        "GET /v1/concerns/{concern_id}/reporter-contact",
        "GET /v1/concerns/{concern_id}/audit",
        "GET /v1/guidance/{category}",
        "GET /v1/departments",
        "GET /v1/reference-data",
        "PUT /v1/reference-data",
    },
    "routing": {
        "GET /v1/referrals",
        "GET /v1/referrals/{referral_id}",
        "POST /v1/referrals/{referral_id}/transitions",
        "GET /v1/rules",
        "PUT /v1/rules",
        "GET /v1/rules/versions",
        "GET /v1/rules/versions/{version}",
        "GET /v1/rules/versions/{version}/diff",
        "POST /v1/rules/simulate",
        "POST /v1/demo/clock/advance",  # the platform runs with LOCAL_DEV on
        "GET /v1/reference-data",
    },
    "notify": {
        "POST /v1/subscriptions",
        "GET /v1/subscriptions",
        "GET /v1/subscriptions/{subscription_id}",
        "DELETE /v1/subscriptions/{subscription_id}",
        "POST /v1/subscriptions/{subscription_id}/enable",
        "GET /v1/feed",
        "GET /v1/deliveries",
        "POST /v1/deliveries/{delivery_id}/redeliver",
        "GET /v1/reference-data",
    },
    "stats": {
        "GET /v1/stats/scope",
        "GET /v1/stats/overview",
        "GET /v1/stats/response-times",
        "GET /v1/stats/hotspots",
        "GET /v1/reference-data",
    },
}


@pytest.fixture(scope="module")
async def platform(kafka_bootstrap: str, admin_database_url: str) -> AsyncIterator[SimpleNamespace]:
    """The four services as processes on one isolated prefix, and a client of every role."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(kafka_bootstrap, partitions=3, prefix=prefix)
    clients: dict[Role, IssuedClient] = {}
    for role, scope in ROLES.items():
        clients[role] = new_client(name=f"fuzz {role.value}", role=role, **scope)  # type: ignore[arg-type]
        await publish_record(kafka_bootstrap, clients[role].record, topic_prefix=prefix)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "TOPIC_PREFIX": prefix,
        "TOPIC_PARTITIONS": "3",
        "SUBJECT_KEY_SECRET": "test-subject-key-secret-0123456789",
        "MASTER_KEY": "dGVzdC1tYXN0ZXIta2V5LTAxMjM0NTY3ODlhYmNkZWY=",
        "LOCAL_DEV": "true",
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        **UNLIMITED,
    }
    async with contextlib.AsyncExitStack() as stack:
        urls = {s: await stack.enter_async_context(migrated_database(admin_database_url, s)) for s in SERVICES}
        processes = {s: ServiceProcess(s, {**env, "DATABASE_URL": urls[s]}) for s in SERVICES}
        try:
            await asyncio.gather(*(asyncio.to_thread(p.start) for p in processes.values()))
            await _wait_until_clients_known(processes, clients[Role.ADMIN])
            yield SimpleNamespace(processes=processes, clients=clients)
        finally:
            for process in processes.values():
                process.stop()


async def _wait_until_clients_known(processes: dict[str, ServiceProcess], client: IssuedClient) -> None:
    """Ready means the registry is loaded; wait until the last issued client authenticates everywhere."""
    async with httpx.AsyncClient(timeout=5) as http:
        for process in processes.values():
            for _ in range(100):
                answer = await http.get(process.url + "/v1/whoami", headers={"Authorization": f"Bearer {client.token}"})
                if answer.status_code == 200:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"{process.name} does not know the test clients: {answer.status_code}")


def fuzz(base_url: str, token: str) -> tuple[list[str], list[str]]:
    """Run every operation's strategy with `token`; returns the operations tested and each one's failure report."""
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json")
    tested, failures = [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        name = f"{operation.method.upper()} {operation.path}"

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: the report names the case as it was sent
            suppress_health_check=list(HealthCheck),
        )
        # Valid requests, and requests that break the schema on purpose (which must be refused with a 4xx).
        @given(
            case=st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
            )
        )
        def check(case) -> None:  # noqa: ANN001
            case.call_and_validate(
                base_url=base_url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=30
            )

        try:
            check()
        except Exception as error:  # every operation is tried; all failures are reported together
            failures.append(f"{name}:\n{error}")
        tested.append(name)
    return tested, failures


@pytest.mark.parametrize("role", list(ROLES), ids=lambda r: r.value)
@pytest.mark.parametrize("service", SERVICES)
async def test_no_generated_request_gives_a_5xx_and_every_answer_matches_the_document(
    platform: SimpleNamespace, service: str, role: Role
) -> None:
    process = platform.processes[service]
    tested, failures = await asyncio.to_thread(fuzz, process.url, platform.clients[role].token)
    assert not failures, "\n\n".join(failures)
    assert EXPECTED[service] <= set(tested), EXPECTED[service] - set(tested)
    assert "unhandled_error" not in process.log_tail(2000), process.log_tail()

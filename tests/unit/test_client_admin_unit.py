"""Creating API clients: one validation for `crp clients create` and intake's POST /v1/clients (the scope a role
needs, named by field), the request body's own rules, and the one publish path retrying only what may pass."""

from datetime import UTC, datetime

import pytest
from aiokafka.errors import KafkaTimeoutError, NotLeaderForPartitionError, TopicAuthorizationFailedError
from pydantic import ValidationError
from typer.testing import CliRunner

from services.intake.entrypoints.api.clients import NewClient
from shared.auth.admin import ScopeMissing, check_scope, new_client, publish_record
from shared.auth.principal import Role
from shared.cli import app
from shared.contracts.clients import decode_api_client

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("role", "field"),
    [
        (Role.MUNICIPALITY, "municipality_code"),
        (Role.CONSULTANT, "department_ids"),
        (Role.ASSOCIATION, "department_ids"),
        (Role.REPORTER, "organisation_id"),
    ],
)
def test_a_missing_scope_names_its_field(role: Role, field: str) -> None:
    with pytest.raises(ScopeMissing) as missing:
        new_client(name="x", role=role)
    assert missing.value.field == field and missing.value.problem in str(missing.value)


@pytest.mark.parametrize("role", [Role.OPS, Role.ADMIN])
def test_platform_wide_roles_need_no_scope(role: Role) -> None:
    check_scope(role, organisation_id=None, municipality_code=None, department_ids=[])
    assert new_client(name="x", role=role).record.role == role.value


def test_the_cli_refuses_a_missing_scope_with_its_option() -> None:
    result = CliRunner().invoke(app, ["clients", "create", "--name", "x", "--role", "municipality"])
    assert result.exit_code != 0 and "--municipality" in result.output


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "role": "superuser"}, "role"),
        ({"name": "", "role": "ops"}, "name"),
        ({"name": "a\x00b", "role": "ops"}, "name"),
        ({"name": "x" * 201, "role": "ops"}, "name"),
        ({"name": "x", "role": "municipality", "municipality_code": "03160"}, "municipality_code"),
        ({"name": "x", "role": "consultant", "department_ids": ["bad id"]}, "department_ids"),
        ({"name": "x", "role": "ops", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "x", "role": "ops", "token_sha256": "0" * 64}, "token_sha256"),
    ],
)
def test_the_request_body_refuses_what_the_record_would(body: dict, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        NewClient.model_validate(body)
    assert {str(e["loc"][0]) for e in refused.value.errors()} == {field}


def test_a_valid_body_makes_a_record_of_the_contract() -> None:
    body = NewClient.model_validate({"name": "Holbæk Kommune", "role": "municipality", "municipality_code": "0316"})
    issued = new_client(name=body.name, role=Role(body.role), municipality_code=body.municipality_code)
    assert decode_api_client(issued.record.model_dump_json()) == issued.record
    assert issued.token not in issued.record.model_dump_json()


class FlakyProducer:
    """Fails its first sends with the given errors, then takes the record."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send_and_wait(self, topic: str, value: bytes, key: bytes) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append((topic, value, key))


async def test_publish_retries_a_retriable_broker_error_and_writes_once() -> None:
    record = new_client(name="x", role=Role.OPS).record
    producer = FlakyProducer(NotLeaderForPartitionError(), KafkaTimeoutError())
    await publish_record("unused:9092", record, topic_prefix="p.", producer=producer)  # type: ignore[arg-type]
    assert producer.sent == [("p.api-clients", producer.sent[0][1], record.client_id.encode())]
    assert decode_api_client(producer.sent[0][1]) == record


async def test_publish_gives_up_at_once_on_an_authorisation_refusal() -> None:
    record = new_client(name="x", role=Role.OPS).record
    producer = FlakyProducer(TopicAuthorizationFailedError())
    started = datetime.now(UTC)
    with pytest.raises(TopicAuthorizationFailedError):
        await publish_record("unused:9092", record, producer=producer)  # type: ignore[arg-type]
    assert (datetime.now(UTC) - started).total_seconds() < 1 and producer.sent == []

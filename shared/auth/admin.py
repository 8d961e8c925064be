"""Creating and revoking API clients: a record on the api-clients topic, the token printed once.

One path for both writers: `crp clients` (as the operator's `admin` principal, with a producer of its own) and
intake's `/v1/clients` routes (as the `intake` principal, with the service's producer) build the record with
`new_client` / `revoked` and write it with `publish_record`.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential_jitter

from shared.auth.principal import Role
from shared.auth.tokens import new_token, token_hash
from shared.contracts.clients import ApiClientRecord, encode_api_client
from shared.contracts.topics import API_CLIENTS
from shared.kafka.config import producer_config

PUBLISH_RETRY_S = 10.0
"""How long a record whose write failed with a retriable broker error is tried again."""
CLI_OPTIONS = {
    "municipality_code": "--municipality",
    "department_ids": "--department",
    "organisation_id": "--organisation",
}
"""The `crp clients create` option of each scope field."""


class ScopeMissing(ValueError):
    """The scope the client's role needs is missing; `field` names it as ApiClientRecord does."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{problem} ({CLI_OPTIONS[field]})")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class IssuedClient:
    """A new client and its token: the only moment the token exists outside the caller's hands."""

    record: ApiClientRecord
    token: str


def check_scope(
    role: Role, *, organisation_id: str | None, municipality_code: str | None, department_ids: list[str]
) -> None:
    """ScopeMissing unless the scope fits the role (a municipality its code, consultants and associations their
    departments, a reporter its organisation; ops and admin are platform-wide and need none)."""
    if role is Role.MUNICIPALITY and not municipality_code:
        raise ScopeMissing("municipality_code", "a municipality client needs its municipality code (4 digits)")
    if role in (Role.CONSULTANT, Role.ASSOCIATION) and not department_ids:
        raise ScopeMissing("department_ids", f"a client of role {role.value} needs at least one department")
    if role is Role.REPORTER and not organisation_id:
        raise ScopeMissing("organisation_id", "a reporter client needs its organisation")


def new_client(
    *,
    name: str,
    role: Role,
    organisation_id: str | None = None,
    municipality_code: str | None = None,
    department_ids: list[str] | None = None,
    expires_in: timedelta | None = None,
) -> IssuedClient:
    """Build a client record with a fresh token; checks that the scope fits the role (ScopeMissing) and the
    record's own rules (pydantic's ValidationError, a ValueError too)."""
    departments = sorted(set(department_ids or []))
    check_scope(role, organisation_id=organisation_id, municipality_code=municipality_code, department_ids=departments)
    now = datetime.now(UTC)
    token = new_token()
    record = ApiClientRecord(
        client_id="cli_" + uuid.uuid4().hex[:16],
        name=name,
        role=role.value,
        organisation_id=organisation_id,
        municipality_code=municipality_code,
        department_ids=tuple(departments),
        token_sha256=token_hash(token),
        created_at=now,
        expires_at=now + expires_in if expires_in else None,
    )
    return IssuedClient(record=record, token=token)


def _retriable(error: BaseException) -> bool:
    """A broker error worth another try (a leader moving, a timeout); never an authorisation refusal."""
    return isinstance(error, KafkaTimeoutError) or (isinstance(error, KafkaError) and error.retriable)


async def publish_record(
    bootstrap_servers: str,
    record: ApiClientRecord,
    *,
    topic_prefix: str = "",
    producer: AIOKafkaProducer | None = None,
    retry_for_s: float = PUBLISH_RETRY_S,
) -> None:
    """Write the record to the compacted api-clients topic and wait for the broker's acknowledgement.

    `producer`: a started producer to write with (a service's own); without one, a producer is opened for this
    record (the CLI). A retriable broker error is tried again for `retry_for_s`; the same record written twice
    is harmless (the topic is compacted by client id)."""
    own = producer is None
    if producer is None:
        producer = AIOKafkaProducer(**producer_config(bootstrap_servers, "crp-cli"))
        await producer.start()
    try:
        async for attempt in AsyncRetrying(
            wait=wait_exponential_jitter(multiplier=0.2, max=2),
            stop=stop_after_delay(retry_for_s),
            retry=retry_if_exception(_retriable),
            reraise=True,
        ):
            with attempt:
                await producer.send_and_wait(
                    topic_prefix + API_CLIENTS, encode_api_client(record), key=record.client_id.encode()
                )
    finally:
        if own:
            await producer.stop()


def revoked(record: ApiClientRecord) -> ApiClientRecord:
    """The same client, revoked now; kept on the topic so the revocation itself is on record."""
    return record.model_copy(update={"revoked_at": datetime.now(UTC)})

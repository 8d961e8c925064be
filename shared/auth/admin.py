"""Creating and revoking API clients: a record on the api-clients topic, the token printed once."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer

from shared.auth.principal import Role
from shared.auth.tokens import new_token, token_hash
from shared.contracts.clients import ApiClientRecord, encode_api_client
from shared.contracts.topics import API_CLIENTS
from shared.kafka.config import producer_config


@dataclass(frozen=True)
class IssuedClient:
    """A new client and its token: the only moment the token exists outside the caller's hands."""

    record: ApiClientRecord
    token: str


def new_client(
    *,
    name: str,
    role: Role,
    organisation_id: str | None = None,
    municipality_code: str | None = None,
    department_ids: list[str] | None = None,
    expires_in: timedelta | None = None,
) -> IssuedClient:
    """Build a client record with a fresh token; checks that the scope fits the role."""
    departments = sorted(set(department_ids or []))
    if role is Role.MUNICIPALITY and not municipality_code:
        raise ValueError("a municipality client needs --municipality (a 4-digit code)")
    if role in (Role.CONSULTANT, Role.ASSOCIATION) and not departments:
        raise ValueError(f"a {role} client needs at least one --department")
    if role is Role.REPORTER and not organisation_id:
        raise ValueError("a reporter client needs --organisation")
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


async def publish_record(bootstrap_servers: str, record: ApiClientRecord, *, topic_prefix: str = "") -> None:
    """Write the record to the compacted api-clients topic and wait for the broker's acknowledgement."""
    producer = AIOKafkaProducer(**producer_config(bootstrap_servers, "crp-cli"))
    await producer.start()
    try:
        await producer.send_and_wait(
            topic_prefix + API_CLIENTS, encode_api_client(record), key=record.client_id.encode()
        )
    finally:
        await producer.stop()


def revoked(record: ApiClientRecord) -> ApiClientRecord:
    """The same client, revoked now; kept on the topic so the revocation itself is on record."""
    return record.model_copy(update={"revoked_at": datetime.now(UTC)})

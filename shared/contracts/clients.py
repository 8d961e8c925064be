"""A record of the compacted api-clients topic: one API client, its scope and its token's hash."""

from datetime import UTC, datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.errors import INVALID_DATA, parse_object, validate
from shared.contracts.events import EntityId, MunicipalityCode, UtcDatetime
from shared.contracts.text import Line
from shared.contracts.topics import API_CLIENTS
from shared.contracts.vocabulary import ClientRole


class ApiClientRecord(BaseModel):
    """An API client (keyed by `client_id`); the latest record wins, a revoked one stays on record.

    Only the SHA-256 of the bearer token is stored; the token itself is shown once, at creation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    topic: ClassVar[str] = API_CLIENTS

    client_id: EntityId
    """Id of the client; the Kafka key."""
    name: Annotated[Line, Field(min_length=1, max_length=200)]
    """Display name of the client, e.g. "Caretakers, Lejerbo Holbæk" or "Holbæk Kommune, single entry"."""
    role: ClientRole
    """What the client may do."""
    organisation_id: EntityId | None = None
    """Scope of a reporter: its housing organisation."""
    municipality_code: MunicipalityCode | None = None
    """Scope of a municipality: its 4-digit code."""
    department_ids: tuple[EntityId, ...] = ()
    """Scope of consultants, associations (and reporters limited to some departments)."""
    token_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    """Lower-case hex SHA-256 of the bearer token."""
    created_at: UtcDatetime
    """When the client was created."""
    expires_at: UtcDatetime | None = None
    """When the token stops working, if ever."""
    revoked_at: UtcDatetime | None = None
    """When the client was revoked, if it was."""

    def is_active(self, at: datetime | None = None) -> bool:
        """Whether the token works at `at` (default: now): not revoked and not expired."""
        at = at or datetime.now(UTC)
        if self.revoked_at is not None and self.revoked_at <= at:
            return False
        return self.expires_at is None or at < self.expires_at


def encode_api_client(record: ApiClientRecord) -> bytes:
    """Compact UTF-8 JSON of a client record."""
    return record.model_dump_json(exclude_none=True).encode()


def decode_api_client(raw: bytes | str) -> ApiClientRecord:
    """Parse and validate a client record; raises ContractError."""
    return validate(ApiClientRecord, parse_object(raw), reason=INVALID_DATA, what="api client record")

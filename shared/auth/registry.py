"""The in-memory registry of API clients, rebuilt from the compacted api-clients topic."""

from datetime import datetime

from shared.auth.people import PERSON_PREFIX
from shared.auth.principal import Principal, Role
from shared.auth.tokens import token_hash
from shared.contracts.clients import ApiClientRecord


class ClientRegistry:
    """Maps token hashes to clients; the latest record per client id wins, as in the compacted topic."""

    def __init__(self) -> None:
        self._by_id: dict[str, ApiClientRecord] = {}
        self._by_hash: dict[str, str] = {}
        self.loaded = False

    def apply(self, client_id: str, record: ApiClientRecord | None) -> None:
        """Apply one record of the topic; None (a tombstone) forgets the client."""
        previous = self._by_id.pop(client_id, None)
        if previous is not None:
            self._by_hash.pop(previous.token_sha256, None)
        if record is not None:
            self._by_id[client_id] = record
            self._by_hash[record.token_sha256] = client_id

    def authenticate(self, token: str, now: datetime | None = None) -> Principal | None:
        """The principal of a valid token; None for an unknown, revoked or expired one."""
        client_id = self._by_hash.get(token_hash(token))
        record = self._by_id.get(client_id) if client_id else None
        if record is None or not record.is_active(now) or record.client_id.startswith(PERSON_PREFIX):
            return None  # a client id may never pass for a person's (audit records tell them apart by it)
        return Principal(
            client_id=record.client_id,
            role=Role(record.role),
            organisation_id=record.organisation_id,
            municipality_code=record.municipality_code,
            department_ids=frozenset(record.department_ids),
        )

    def claimed(self, token: str) -> str | None:
        """The client a token was issued to, valid or not (revoked, expired); None for a token never issued."""
        return self._by_hash.get(token_hash(token))

    def get(self, client_id: str) -> ApiClientRecord | None:
        """The current record of a client."""
        return self._by_id.get(client_id)

    def records(self) -> list[ApiClientRecord]:
        """All current records, by name."""
        return sorted(self._by_id.values(), key=lambda r: (r.name, r.client_id))

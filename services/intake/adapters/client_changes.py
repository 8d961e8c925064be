"""The audit of API clients created and revoked through intake: who (client id or `person:<username>`), when."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.auth.principal import Principal


@dataclass(frozen=True)
class ClientChange:
    """One audited change of an API client."""

    client_id: str
    action: str
    actor: str
    actor_role: str
    at: datetime


async def record_change(
    conn: asyncpg.Connection | asyncpg.Pool, client_id: str, client_role: str, action: str, actor: Principal
) -> None:
    """Write the audit row (`action`: created or revoked); call before the record is published."""
    await conn.execute(
        "INSERT INTO api_client_changes (client_id, action, client_role, actor, actor_role)"
        " VALUES ($1, $2, $3, $4, $5)",
        client_id,
        action,
        client_role,
        actor.client_id,
        actor.role.value,
    )


async def last_changes(conn: asyncpg.Connection | asyncpg.Pool) -> dict[tuple[str, str], ClientChange]:
    """The latest change of each kind per client: (client_id, action) -> change."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (client_id, action) client_id, action, actor, actor_role, at"
        " FROM api_client_changes ORDER BY client_id, action, id DESC"
    )
    return {(r["client_id"], r["action"]): ClientChange(**dict(r)) for r in rows}

"""The audit log: every read of personal details and every erasure, with who, role, basis and when."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.auth.principal import Principal


@dataclass(frozen=True)
class AuditEntry:
    """One audited access."""

    client_id: str
    role: str
    action: str
    basis: str
    at: datetime


async def record_access(
    conn: asyncpg.Connection, concern_id: str, principal: Principal, *, action: str, basis: str
) -> None:
    """Write the audit row; call before the details leave the service, in the same transaction when there is one."""
    await conn.execute(
        "INSERT INTO audit_log (concern_id, client_id, role, action, basis) VALUES ($1::uuid, $2, $3, $4, $5)",
        concern_id,
        principal.client_id,
        principal.role.value,
        action,
        basis,
    )


async def audit_trail(conn: asyncpg.Connection | asyncpg.Pool, concern_id: str) -> list[AuditEntry]:
    """The concern's audit rows, oldest first."""
    rows = await conn.fetch(
        "SELECT client_id, role, action, basis, at FROM audit_log WHERE concern_id = $1::uuid ORDER BY id",
        concern_id,
    )
    return [AuditEntry(**dict(r)) for r in rows]

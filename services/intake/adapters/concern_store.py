"""intake's concern tables: storing a concern with its key and event in one statement, reading, erasing."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.intake.adapters.sealing import Sealed
from services.intake.domain.concern import NewConcern
from shared.contracts.envelope import Envelope
from shared.outbox import insert_sql, record_of

# One statement, so one round trip and atomic without an explicit transaction: the concern, its wrapped
# data key and its event are stored together or not at all. A taken external ref stores nothing.
_INSERT = f"""
WITH c AS (
    INSERT INTO concerns (
        id, receipt_code, organisation_id, department_id, municipality_code, subject_key, categories, severity,
        consent, legal_basis, observed_at, received_at, reporter_role, channel, source_system, reporter_client_id,
        external_system, external_id, request_hash, has_reporter_contact, has_resident_details, sealed
    ) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
    ON CONFLICT (external_system, external_id) WHERE external_system IS NOT NULL DO NOTHING
    RETURNING id
), k AS (
    INSERT INTO concern_keys (concern_id, master_key_id, wrapped_key) SELECT id, $23, $24 FROM c
), o AS (
    {insert_sql("SELECT $25, $26, $27, $28, $29 FROM c")}
)
SELECT count(*) FROM c
"""  # noqa: S608 - a constant fragment, placeholders only

RECEIPT_CODE_CONSTRAINT = "concerns_receipt_code_key"


class ReceiptCodeTaken(Exception):
    """Another concern has the new concern's receipt code (1 in 10^12): nothing was stored, draw another."""


_COLUMNS = """
    c.id::text AS id, receipt_code, organisation_id, department_id, municipality_code, subject_key, categories,
    severity, consent, legal_basis, observed_at, received_at, reporter_role, channel, source_system,
    reporter_client_id, request_hash, has_reporter_contact, has_resident_details, sealed, erased_at,
    k.wrapped_key, external_system, external_id, consent_registered_by, consent_registered_at
"""
_SELECT = f"SELECT {_COLUMNS} FROM concerns c LEFT JOIN concern_keys k ON k.concern_id = c.id"  # noqa: S608
"""A concern with its wrapped data key (null once erased)."""


@dataclass(frozen=True)
class StoredConcern:
    """A concern as stored; `sealed` and `wrapped_key` are None once it is erased."""

    id: str
    receipt_code: str
    organisation_id: str
    department_id: str
    municipality_code: str
    subject_key: str
    categories: list[str]
    severity: str
    consent: str
    legal_basis: str | None
    observed_at: datetime
    received_at: datetime
    reporter_role: str
    channel: str
    source_system: str | None
    reporter_client_id: str | None
    request_hash: str
    has_reporter_contact: bool
    has_resident_details: bool
    sealed: bytes | None
    erased_at: datetime | None
    wrapped_key: bytes | None
    external_system: str | None = None
    external_id: str | None = None
    consent_registered_by: str | None = None
    """Who registered the resident's consent after the report (`consent` then holds their answer)."""
    consent_registered_at: datetime | None = None


async def insert_concern(
    conn: asyncpg.Connection | asyncpg.Pool, concern: NewConcern, sealed: Sealed, event: Envelope, topic: str
) -> bool:
    """Store the concern, its data key and its event; False (nothing stored) when its external ref is taken.

    Raises ReceiptCodeTaken when another concern has its receipt code (nothing stored either)."""
    try:
        created = await conn.fetchval(_INSERT, *_insert_args(concern, sealed, event, topic))
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name == RECEIPT_CODE_CONSTRAINT:
            raise ReceiptCodeTaken from error
        raise
    return created == 1


def _insert_args(concern: NewConcern, sealed: Sealed, event: Envelope, topic: str) -> tuple[object, ...]:
    report = concern.report
    ref = report.external_ref
    return (
        concern.id,
        concern.receipt_code,
        concern.department.organisation_id,
        concern.department.id,
        concern.department.municipality_code,
        concern.subject_key,
        [c.value for c in report.categories],
        report.severity.value,
        report.consent.value,
        report.legal_basis,
        report.observed_at,
        concern.received_at,
        report.reporter.role.value,
        concern.channel.value,
        concern.source_system,
        concern.reporter_client_id,
        ref.system if ref else None,
        ref.id if ref else None,
        concern.request_hash,
        concern.has_reporter_contact,
        report.resident is not None,
        sealed.ciphertext,
        sealed.master_key_id,
        sealed.wrapped_key,
        topic,
        *record_of(event),
    )


async def _one(conn: asyncpg.Connection | asyncpg.Pool, where: str, *args: object) -> StoredConcern | None:
    row = await conn.fetchrow(f"{_SELECT} WHERE {where}", *args)  # noqa: S608 - constant clauses, bound values
    return StoredConcern(**dict(row)) if row else None


async def get_concern(conn: asyncpg.Connection | asyncpg.Pool, concern_id: str) -> StoredConcern | None:
    """The concern with its wrapped data key (None when erased), or None when there is no such concern."""
    return await _one(conn, "c.id = $1::uuid", concern_id)


async def find_by_external_ref(conn: asyncpg.Connection, system: str, external_id: str) -> StoredConcern | None:
    """The concern stored under a source system's id, if any."""
    return await _one(conn, "c.external_system = $1 AND c.external_id = $2", system, external_id)


async def find_by_receipt_code(
    conn: asyncpg.Connection | asyncpg.Pool, code: str, reporter_client_id: str | None
) -> StoredConcern | None:
    """The concern with this receipt code, only among `reporter_client_id`'s own reports unless it is None.

    One indexed query either way, so another reporter's code and a wrong code cost the same.
    """
    where = "c.receipt_code = $1 AND ($2::text IS NULL OR c.reporter_client_id = $2::text)"
    return await _one(conn, where, code, reporter_client_id)


@dataclass(frozen=True)
class ConcernFilter:
    """Which concerns a list shows; every condition given must hold (None or empty: no condition)."""

    reporter_client_id: str | None = None
    or_inbound: bool = False
    """With `reporter_client_id`: also the concerns no client reported (from concern-inbound)."""
    organisation_id: str | None = None
    department_ids: frozenset[str] | None = None
    external_system: str | None = None
    external_id: str | None = None


async def list_concerns(
    conn: asyncpg.Connection | asyncpg.Pool, where: ConcernFilter, *, limit: int, offset: int
) -> list[StoredConcern]:
    """Concerns matching `where`, newest first (ties by id, so pages never overlap)."""
    # Only the conditions given, so the planner sees plain equalities it can serve from an index.
    conditions, args = [], []
    reporter = "(c.reporter_client_id = ${0} OR c.reporter_client_id IS NULL)" if where.or_inbound else None
    for column, value in (
        (reporter or "c.reporter_client_id = ${}", where.reporter_client_id),
        ("c.organisation_id = ${}", where.organisation_id),
        ("c.department_id = ANY(${}::text[])", sorted(where.department_ids) if where.department_ids else None),
        ("c.external_system = ${}", where.external_system),
        ("c.external_id = ${}", where.external_id),
    ):
        if value is not None:
            args.append(value)
            conditions.append(column.format(len(args)))
    sql = (
        f"{_SELECT} WHERE {' AND '.join(conditions) or 'true'} "
        f"ORDER BY c.received_at DESC, c.id DESC LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}"
    )
    rows = await conn.fetch(sql, *args, limit, offset)
    return [StoredConcern(**dict(row)) for row in rows]


async def claim_idempotency_key(
    conn: asyncpg.Connection, client_id: str, key: str, request_hash: str, concern_id: str
) -> tuple[str, str] | None:
    """Claim a key for this request; None when claimed now, else (request hash, concern id) of its first use.

    A concurrent first use of the same key makes this wait until that transaction ends.
    """
    claimed = await conn.fetchval(
        "INSERT INTO idempotency_keys (client_id, idempotency_key, request_hash, concern_id) "
        "VALUES ($1, $2, $3, $4::uuid) ON CONFLICT DO NOTHING RETURNING true",
        client_id,
        key,
        request_hash,
        concern_id,
    )
    if claimed:
        return None
    row = await conn.fetchrow(
        "SELECT request_hash, concern_id::text AS concern_id FROM idempotency_keys "
        "WHERE client_id = $1 AND idempotency_key = $2",
        client_id,
        key,
    )
    return row["request_hash"], row["concern_id"]


async def repoint_idempotency_key(conn: asyncpg.Connection, client_id: str, key: str, concern_id: str) -> None:
    """Let a key answer for the concern its request turned out to replay (found by external ref)."""
    await conn.execute(
        "UPDATE idempotency_keys SET concern_id = $3::uuid WHERE client_id = $1 AND idempotency_key = $2",
        client_id,
        key,
        concern_id,
    )


async def lock_for_erasure(conn: asyncpg.Connection, concern_id: str) -> tuple[str, datetime | None] | None:
    """Lock the concern row; its subject key and erasure time, or None when there is no such concern."""
    row = await conn.fetchrow("SELECT subject_key, erased_at FROM concerns WHERE id = $1::uuid FOR UPDATE", concern_id)
    return (row["subject_key"], row["erased_at"]) if row else None


async def shred(conn: asyncpg.Connection, concern_id: str, erased_at: datetime) -> None:
    """Destroy the data key and drop the ciphertext: the details are unreadable from now on."""
    await conn.execute("DELETE FROM concern_keys WHERE concern_id = $1::uuid", concern_id)
    await conn.execute("UPDATE concerns SET sealed = NULL, erased_at = $2 WHERE id = $1::uuid", concern_id, erased_at)


async def register_consent(
    conn: asyncpg.Connection, concern_id: str, consent: str, registered_by: str, at: datetime
) -> bool:
    """Store the resident's answer on consent (who, when); False when the concern is erased or another answer was
    registered meanwhile (the conditions checked again in the statement, so a race cannot overwrite one)."""
    done = await conn.fetchval(
        "UPDATE concerns SET consent = $2, consent_registered_by = $3, consent_registered_at = $4 "
        "WHERE id = $1::uuid AND erased_at IS NULL AND (consent_registered_at IS NULL OR consent = $2) "
        "RETURNING true",
        concern_id,
        consent,
        registered_by,
        at,
    )
    return bool(done)

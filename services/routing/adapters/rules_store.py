"""Versions of the rules document in routing's database: the highest version is the one in force."""

import json
from pathlib import Path

import asyncpg
import yaml

from services.routing.domain.document import RulesDocument


def load_file(path: Path) -> RulesDocument:
    """A rules document from a YAML (or JSON) file, validated."""
    return RulesDocument.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def as_json(document: RulesDocument) -> str:
    """The document as stored and served (JSON; sets become sorted lists)."""
    return document.model_dump_json()


async def current(conn: asyncpg.Connection) -> tuple[int, RulesDocument] | None:
    """The version in force and its document, or None before the first version is stored."""
    row = await conn.fetchrow("SELECT version, document FROM rules_versions ORDER BY version DESC LIMIT 1")
    if row is None:
        return None
    return row["version"], RulesDocument.model_validate(json.loads(row["document"]))


async def current_version(conn: asyncpg.Connection) -> int:
    """The number of the version in force (0 when there is none)."""
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM rules_versions")


async def store(conn: asyncpg.Connection, document: RulesDocument, *, created_by: str) -> int:
    """Store the document as the next version; returns its number (serialised by a table lock)."""
    await conn.execute("LOCK TABLE rules_versions IN SHARE ROW EXCLUSIVE MODE")
    version = await current_version(conn) + 1
    await conn.execute(
        "INSERT INTO rules_versions (version, document, created_by) VALUES ($1, $2, $3)",
        version,
        as_json(document),
        created_by,
    )
    return version


async def seed(pool: asyncpg.Pool, document: RulesDocument) -> None:
    """Store the default document as version 1 when no version exists yet (safe from several workers)."""
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO rules_versions (version, document, created_by) VALUES (1, $1, 'default') "
            "ON CONFLICT (version) DO NOTHING",
            as_json(document),
        )

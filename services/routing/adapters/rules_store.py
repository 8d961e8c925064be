"""Versions of the rules document in routing's database: the highest version is the one in force."""

import json
from enum import Enum
from pathlib import Path
from typing import Any

import asyncpg
import yaml
from pydantic import ValidationError

from services.routing.domain.document import RulesDocument

VERSION_COLUMNS = (
    "version, created_at, created_by, document->>'name' AS name, coalesce(document->>'description', '') AS description"
)


def load_file(path: Path) -> RulesDocument:
    """A rules document from a YAML (or JSON) file, validated."""
    return RulesDocument.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def _plain(value: Any) -> Any:
    """JSON-ready data with sets as sorted lists, so equal documents are stored (and diffed) alike."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def as_data(document: RulesDocument, *, compact: bool = False) -> dict[str, Any]:
    """The document as plain data in its fields' order; `compact` leaves out fields at their defaults."""
    return _plain(document.model_dump(mode="python", exclude_defaults=compact))


def as_json(document: RulesDocument) -> str:
    """The document as stored and served (JSON; sets become sorted lists)."""
    return json.dumps(as_data(document), ensure_ascii=False, separators=(",", ":"))


def readable(stored: dict[str, Any], *, compact: bool = False) -> dict[str, Any]:
    """A stored document in its fields' order with sorted sets, for reading and diffing.

    A version stored under an older shape of the document that no longer validates is shown as stored.
    """
    try:
        return as_data(RulesDocument.model_validate(stored), compact=compact)
    except ValidationError:
        return stored


async def current(conn: asyncpg.Connection) -> tuple[int, RulesDocument] | None:
    """The version in force and its document, or None before the first version is stored."""
    row = await conn.fetchrow("SELECT version, document FROM rules_versions ORDER BY version DESC LIMIT 1")
    if row is None:
        return None
    return row["version"], RulesDocument.model_validate(json.loads(row["document"]))


async def current_version(conn: asyncpg.Connection) -> int:
    """The number of the version in force (0 when there is none)."""
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM rules_versions")


async def stored(conn: asyncpg.Connection, version: int | None = None) -> asyncpg.Record | None:
    """One stored version (default: the one in force) with its `document` as JSON text, or None."""
    if version is None:
        return await conn.fetchrow("SELECT * FROM rules_versions ORDER BY version DESC LIMIT 1")
    return await conn.fetchrow("SELECT * FROM rules_versions WHERE version = $1", version)


async def versions(conn: asyncpg.Connection, *, before: int | None, limit: int) -> list[asyncpg.Record]:
    """Stored versions newest first (below `before` when given), without their documents."""
    return await conn.fetch(
        f"SELECT {VERSION_COLUMNS} FROM rules_versions WHERE $1::integer IS NULL OR version < $1 "  # noqa: S608
        "ORDER BY version DESC LIMIT $2",
        before,
        limit,
    )


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

"""Reference data: the directory from the YAML file or a PUT, checked, stored as a snapshot, read back."""

import csv
import json
from pathlib import Path
from typing import Any

import asyncpg
import yaml
from pydantic import ValidationError

from services.intake.domain.directory import Department
from shared.contracts.reference import Municipality, ReferenceContent, ReferenceDirectory


class InvalidReferenceData(ValueError):
    """A directory that breaks the contract: each field and its problem, never the values."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems))
        self.problems = problems


def municipality_codes(path: Path) -> dict[str, str]:
    """Official municipality codes and names from the CSV (code,name,region)."""
    with path.open(encoding="utf-8") as file:
        return {row["code"]: row["name"] for row in csv.DictReader(file)}


def build_directory(value: Any, official: dict[str, str]) -> ReferenceDirectory:
    """The directory of a file's or a PUT's content; every official municipality named from the official list.

    Raises InvalidReferenceData naming each field: an unknown municipality code, an unnamed or unknown
    recipient, a duplicate id, a missing or mistyped field.
    """
    try:
        content = ReferenceContent.model_validate(value)
    except ValidationError as error:
        raise InvalidReferenceData(
            [(".".join(str(p) for p in e["loc"]) or "body", e["msg"]) for e in error.errors(include_input=False)]
        ) from None
    unknown = [
        (f"municipalities.{code}", "unknown municipality code")
        for code in content.municipalities
        if code not in official
    ]
    given = content.municipalities
    municipalities = {
        code: Municipality(
            name=name,
            single_entry=given[code].single_entry if code in given else None,
            children_entry=given[code].children_entry if code in given else None,
            escalation_contact=given[code].escalation_contact if code in given else None,
        )
        for code, name in sorted(official.items())
    }
    content = content.model_copy(update={"municipalities": municipalities})
    problems = unknown + content.problems()
    if problems:
        raise InvalidReferenceData(problems)
    return content.directory()


def read_reference_file(path: Path, municipalities: Path) -> ReferenceDirectory:
    """Parse and check the file; ValueError naming the file and the fields otherwise."""
    try:
        return build_directory(yaml.safe_load(path.read_text(encoding="utf-8")), municipality_codes(municipalities))
    except InvalidReferenceData as error:
        raise ValueError(f"{path.name}: {error}") from None


def departments_of(directory: ReferenceDirectory) -> list[Department]:
    """Every department of the directory, with its organisation and recipients."""
    return [
        Department(
            id=d.id,
            organisation_id=organisation_id,
            name=d.name,
            municipality_code=d.municipality_code,
            tenancies=d.tenancies,
            consultants=tuple(d.consultants),
            associations=tuple(d.associations),
        )
        for organisation_id, d in directory.departments()
    ]


async def _lock(conn: asyncpg.Connection) -> None:
    # Serialises concurrent starts and changes of several intake processes.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('intake_reference_data'))")


async def store_directory(
    conn: asyncpg.Connection, directory: ReferenceDirectory, *, updated_by: str, file_version: str | None = None
) -> None:
    """Store the snapshot and derive the organisation and department tables from it (in the caller's transaction).

    `file_version`: set when the snapshot is the reference file's; a change by PUT keeps the file version it
    replaced, so the next start does not undo it unless the file itself changed.
    """
    await _lock(conn)
    await conn.execute(
        """INSERT INTO reference_directory (version, content, file_version, updated_by)
           VALUES ($1, $2::jsonb, $3, $4)
           ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, content = EXCLUDED.content,
               file_version = coalesce(EXCLUDED.file_version, reference_directory.file_version),
               updated_by = EXCLUDED.updated_by, updated_at = now()""",
        directory.version,
        directory.model_dump_json(),
        file_version,
        updated_by,
    )
    departments = departments_of(directory)
    ids = [d.id for d in departments]
    await conn.execute("DELETE FROM department_recipients")
    await conn.execute("DELETE FROM departments WHERE NOT (id = ANY($1::text[]))", ids)
    await conn.executemany(
        "INSERT INTO organisations (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
        [(o.id, o.name) for o in directory.organisations],
    )
    await conn.executemany(
        """INSERT INTO departments (id, organisation_id, name, municipality_code, tenancies)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE SET organisation_id = EXCLUDED.organisation_id, name = EXCLUDED.name,
               municipality_code = EXCLUDED.municipality_code, tenancies = EXCLUDED.tenancies""",
        [(d.id, d.organisation_id, d.name, d.municipality_code, d.tenancies) for d in departments],
    )
    await conn.execute(
        "DELETE FROM organisations WHERE NOT (id = ANY($1::text[]))", [o.id for o in directory.organisations]
    )
    await conn.executemany(
        "INSERT INTO department_recipients (department_id, kind, recipient_id, name) VALUES ($1, $2, $3, $4)",
        [
            (d.id, kind, recipient, directory.recipients[recipient].name)
            for d in departments
            for kind, recipients in (("consultant", d.consultants), ("association", d.associations))
            for recipient in recipients
        ],
    )


async def stored_directory(conn: asyncpg.Connection) -> tuple[ReferenceDirectory, str | None] | None:
    """The stored snapshot and the version last published, or None before the first start stored one."""
    row = await conn.fetchrow("SELECT content, published_version FROM reference_directory")
    if row is None:
        return None
    return ReferenceDirectory.model_validate(json.loads(row["content"])), row["published_version"]


async def load_reference_data(
    pool: asyncpg.Pool, file: ReferenceDirectory
) -> tuple[ReferenceDirectory, list[Department]]:
    """Store the file's directory unless it is the one stored last (a PUT since then is kept); read it back."""
    async with pool.acquire() as conn, conn.transaction():
        await _lock(conn)
        file_version = await conn.fetchval("SELECT file_version FROM reference_directory")
        if file_version != file.version:
            await store_directory(conn, file, updated_by="file", file_version=file.version)
        found = await stored_directory(conn)
        assert found is not None
        return found[0], await read_departments(conn)


async def mark_published(conn: asyncpg.Connection | asyncpg.Pool, version: str) -> None:
    """Record that the broker acknowledged this version (only when it is still the stored one)."""
    await conn.execute("UPDATE reference_directory SET published_version = $1 WHERE version = $1", version)


async def read_departments(conn: asyncpg.Connection) -> list[Department]:
    """Every department in the database with its consultants and associations."""
    rows = await conn.fetch(
        """SELECT d.id, d.organisation_id, d.name, d.municipality_code, d.tenancies,
               coalesce(array_agg(r.recipient_id ORDER BY r.recipient_id)
                   FILTER (WHERE r.kind = 'consultant'), '{}') AS consultants,
               coalesce(array_agg(r.recipient_id ORDER BY r.recipient_id)
                   FILTER (WHERE r.kind = 'association'), '{}') AS associations
           FROM departments d LEFT JOIN department_recipients r ON r.department_id = d.id
           GROUP BY d.id ORDER BY d.id"""
    )
    return [
        Department(
            id=r["id"],
            organisation_id=r["organisation_id"],
            name=r["name"],
            municipality_code=r["municipality_code"],
            tenancies=r["tenancies"],
            consultants=tuple(r["consultants"]),
            associations=tuple(r["associations"]),
        )
        for r in rows
    ]

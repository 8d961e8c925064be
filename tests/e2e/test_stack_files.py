"""A real local stack (Kafka, PostgreSQL, supervisord) keeps its home private to the user.

Starts its own small stack (`--infra-only`, own home and ports), so it runs beside the test stack; a home
left by an older stack (0755 directories, 0644 logs) is tightened by `up`, and what the running broker,
database and supervisord write afterwards is private too.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.private_files import exposed

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

PORTS = ["--kafka-port", "26092", "--pg-port", "26432", "--base-port", "26000", "--partitions", "1"]


def _stack(command: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACK_") and k != "DATABASE_URL"}
    cmd = [sys.executable, "-m", "deploy.stack", command, "--home", str(home), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=400)  # noqa: S603


def test_up_leaves_nothing_in_the_home_that_group_or_others_may_read(tmp_path: Path) -> None:
    home = tmp_path / "stack"
    (home / "logs").mkdir(parents=True)
    (home / "logs" / "intake.log").write_text("a log of an older stack, 0644\n")
    for path, mode in ((home, 0o755), (home / "logs", 0o755), (home / "logs" / "intake.log", 0o644)):
        path.chmod(mode)
    assert len(exposed(home)) == 3
    try:
        up = _stack("up", home, *PORTS, "--infra-only")
        assert up.returncode == 0, up.stdout + up.stderr
        names = {p.name for p in home.rglob("*")}
        assert {"supervisord.log", "kafka.log", "postgres.log", "secrets.json", "stack.env"} <= names
        assert {"meta.properties", "PG_VERSION"} <= names  # the broker's and the database's data are walked too
        assert exposed(home) == []
    finally:
        _stack("down", home)
    assert exposed(home) == []  # what the processes wrote as they stopped, too

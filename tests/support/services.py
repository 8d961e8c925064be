"""Run a service as a real process against the test stack: start, wait ready, kill -9, restart."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "logs"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServiceProcess:
    """One service process (`python -m services.<name>`) with its own env, port and log file."""

    def __init__(self, name: str, env: dict[str, str], port: int | None = None):
        self.name = name
        self.port = port or free_port()
        self.env = {**os.environ, **env, "HTTP_PORT": str(self.port), "SERVICE_NAME": name, "PYTHONUNBUFFERED": "1"}
        self.url = f"http://127.0.0.1:{self.port}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / f"{name}-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, *, ready_within: float = 60.0) -> "ServiceProcess":
        """Start the process and wait until /readyz answers 200 (fails with the log's tail otherwise)."""
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", f"services.{self.name}"], env=self.env, stdout=log, stderr=log, cwd=ROOT
        )
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready within {ready_within} s:\n{self.log_tail()}")

    @property
    def pid(self) -> int | None:
        """The process id while it runs."""
        return self._process.pid if self._process and self._process.poll() is None else None

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, no flush, as in a crash."""
        if self._process and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after 15 s)."""
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        """The end of the service's log, for failure messages."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

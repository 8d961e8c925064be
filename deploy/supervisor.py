"""Process supervision with supervisord, driven through supervisorctl (and its socket for polling states)."""

import os
import subprocess
import time
import xmlrpc.client

import psutil
from supervisor.xmlrpc import SupervisorTransport

from deploy.config import StackConfig, StackError, venv_bin
from deploy.supervisor_conf import MARKER, pid_file, socket_path


def _daemon(cfg: StackConfig) -> psutil.Process | None:
    """The running supervisord of this stack, if any."""
    try:
        process = psutil.Process(int(pid_file(cfg).read_text().strip()))
        if str(cfg.supervisor_conf) in process.cmdline():
            return process
    except (OSError, ValueError, psutil.Error):
        pass
    return None


def is_running(cfg: StackConfig) -> bool:
    """True when this stack's supervisord runs."""
    return _daemon(cfg) is not None


def ctl(cfg: StackConfig, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `supervisorctl -c <conf> args...`."""
    cmd = [str(venv_bin() / "supervisorctl"), "-c", str(cfg.supervisor_conf), *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)  # noqa: S603
    if check and result.returncode != 0:
        raise StackError(f"supervisorctl {' '.join(args)} failed: {(result.stdout + result.stderr).strip()}")
    return result


def states(cfg: StackConfig) -> dict[str, str]:
    """Each program's state name (RUNNING, STARTING, STOPPED, FATAL, ...), over the control socket."""
    transport = SupervisorTransport(None, None, f"unix://{socket_path(cfg)}")
    proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
    return {info["name"]: info["statename"] for info in proxy.supervisor.getAllProcessInfo()}


def start_daemon(cfg: StackConfig, timeout: float = 30) -> None:
    """Start supervisord (it daemonizes) and wait until it answers on its socket."""
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    cmd = [str(venv_bin() / "supervisord"), "-c", str(cfg.supervisor_conf)]
    env = os.environ | {MARKER: str(cfg.home)}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)  # noqa: S603
    if result.returncode != 0:
        raise StackError(f"supervisord did not start: {result.stderr.strip()}; see {cfg.log('supervisord')}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            states(cfg)
            return
        except OSError:
            time.sleep(0.2)
    raise StackError(f"supervisord did not answer within {timeout:.0f} s; see {cfg.log('supervisord')}")


def apply_conf(cfg: StackConfig) -> None:
    """Make a running supervisord pick up a changed config (restarts changed programs only)."""
    ctl(cfg, "reread")
    ctl(cfg, "update")


def start(cfg: StackConfig, *names: str) -> None:
    """Start the named programs that are not running yet."""
    current = states(cfg)
    pending = [name for name in names if current.get(name) not in ("RUNNING", "STARTING")]
    if pending:
        try:
            ctl(cfg, "start", *pending)
        except StackError as err:
            raise StackError(f"{err}; see the logs in {cfg.logs}") from None


def shutdown(cfg: StackConfig, timeout: float = 90) -> bool:
    """Stop every program and supervisord itself; True when it was running."""
    daemon = _daemon(cfg)
    if daemon is None:
        return False
    ctl(cfg, "shutdown", check=False)
    try:
        daemon.wait(timeout)
    except psutil.TimeoutExpired:
        daemon.kill()
    return True

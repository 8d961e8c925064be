"""The safety net of `down`: find and end processes of a stack that outlived supervisord."""

import os
import re
from pathlib import Path

import psutil

from deploy.supervisor_conf import MARKER

STACK_FILES = ("supervisord.conf", "secrets.json")
"""A directory holding one of these is a stack home of its own (e.g. .local/test inside .local)."""


def _mentions(home: Path, arg: str) -> bool:
    """True when `arg` names a path in `home` that does not belong to a stack nested inside it."""
    for match in re.finditer(re.escape(str(home)) + r"(?=/|$)(/[^/\s:=,]+)?", arg):
        child = match.group(1)
        nested = child and any((home / child[1:] / name).exists() for name in STACK_FILES)
        if not nested:
            return True
    return False


def _belongs(process: psutil.Process, home: Path, supervised_only: bool) -> bool:
    """True when supervisord started `process` for the stack in `home` (or, unless `supervised_only`, it names it)."""
    try:
        marker = process.environ().get(MARKER)
    except psutil.AccessDenied:
        marker = None
    if marker is not None or supervised_only:
        return marker == str(home)
    return any(_mentions(home, arg) for arg in process.cmdline())


def find(home: Path, supervised_only: bool = False) -> list[psutil.Process]:
    """Live processes of the stack in `home`, except this process and its ancestors."""
    me = psutil.Process()
    spared = {os.getpid(), *(parent.pid for parent in me.parents())}
    found = []
    for process in psutil.process_iter():
        try:
            if process.pid not in spared and _belongs(process, home, supervised_only):
                found.append(process)
        except psutil.Error:
            continue
    return found


def end(home: Path, timeout: float = 10, supervised_only: bool = False) -> list[int]:
    """Terminate, then kill, every live process of the stack in `home`; returns their pids."""
    processes = find(home, supervised_only)
    for process in processes:
        try:
            process.terminate()
        except psutil.Error:
            continue
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    for process in alive:
        try:
            process.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(alive, timeout=timeout)
    return [process.pid for process in processes]

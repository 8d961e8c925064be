"""The stack's home is the operator's alone: logs, data, secrets and configs are not readable by anyone else.

New files are private by the umask (`up` and supervisord, so every process it runs, create them 0600 and
directories 0700); files left by an older stack are tightened when it comes up again. As root, PostgreSQL
runs as a user of its own, which must traverse to its data and socket directories: those parents keep the
execute bit for others (never read or write), which `deploy.postgres` adds.
"""

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from deploy.config import StackConfig

PRIVATE_UMASK = 0o077
"""Files 0600, directories 0700: for `up`, supervisord (its `umask`) and everything it runs."""

_READ_WRITE_BY_OTHERS = 0o066
"""Read and write for group and others; their execute bit alone lets them traverse a directory, not list it."""


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Create files private to the user while in this block (the umask is the process's)."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def _tighten(path: Path, *, keep_traverse: bool) -> None:
    """Take read and write from group and others; execute too, but for a directory's when `keep_traverse`."""
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        return  # a link's own mode means nothing; what it points to is checked where it lives
    drop = _READ_WRITE_BY_OTHERS if stat.S_ISDIR(mode) and keep_traverse else stat.S_IRWXG | stat.S_IRWXO
    if stat.S_IMODE(mode) & drop:
        path.chmod(stat.S_IMODE(mode) & ~drop)


def make_private(root: Path, *, keep_traverse: bool = False) -> None:
    """`root` and everything under it readable and writable by its owner only (links are not followed)."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(root, keep_traverse=keep_traverse)
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            _tighten(Path(directory) / name, keep_traverse=keep_traverse)


def make_home(cfg: StackConfig) -> None:
    """The home, its logs and the run directory (which may live outside the home) made or tightened private.

    As root with the embedded PostgreSQL (which then runs as its own user, see `deploy.postgres.system_user`),
    directories keep an execute bit they have: that user traverses the home to its data and socket.
    """
    keep_traverse = cfg.embedded_postgres and os.geteuid() == 0
    make_private(cfg.home, keep_traverse=keep_traverse)
    for directory in (cfg.logs, cfg.run_dir):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not cfg.run_dir.is_relative_to(cfg.home):
        make_private(cfg.run_dir, keep_traverse=keep_traverse)


def exposed(root: Path) -> list[str]:
    """Every entry under `root` (and `root` itself) that group or others may read or write, with its mode.

    A directory others may only traverse (execute without read) lists nothing to them: it counts as private.
    """
    found = []
    for path in [root, *sorted(root.rglob("*"))]:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & _READ_WRITE_BY_OTHERS:
            found.append(f"{oct(stat.S_IMODE(mode))} {path}")
    return found

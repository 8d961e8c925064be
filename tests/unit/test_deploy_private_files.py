"""The stack's home is private to the user: tightening an old home, the umask, supervisord's configuration."""

import os
import stat
from pathlib import Path

import pytest

from deploy.config import StackConfig
from deploy.private_files import PRIVATE_UMASK, exposed, make_home, make_private, private_umask
from deploy.supervisor_conf import Program, render

pytestmark = pytest.mark.unit


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def old_home(root: Path, outside: Path) -> Path:
    """A home as the stack made it before: 0755 directories, 0644 logs and data, a link out of it."""
    home = root / "home"
    for directory in ("logs", "kafka/data/concern-inbound-0", "postgres", "run", "mail"):
        (home / directory).mkdir(parents=True)
    files = ["logs/supervisord.log", "logs/intake.log", "kafka/data/concern-inbound-0/00000.log", "stack.env"]
    for name in files:
        (home / name).write_text("x\n")
        (home / name).chmod(0o644)
    for directory in [home, *(p for p in home.rglob("*") if p.is_dir())]:
        directory.chmod(0o755)
    (home / "run" / "tool").write_text("#!/bin/sh\n")
    (home / "run" / "tool").chmod(0o755)
    outside.write_text("not the stack's\n")
    outside.chmod(0o644)
    (home / "logs" / "elsewhere").symlink_to(outside)
    return home


def test_an_old_home_is_tightened_and_nothing_in_it_stays_readable_by_others(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    home = old_home(tmp_path, outside)
    assert len(exposed(home)) > 10  # the walker sees the old modes
    make_private(home)
    assert exposed(home) == []
    assert mode(home) == 0o700 and mode(home / "logs") == 0o700 and mode(home / "logs" / "intake.log") == 0o600
    assert mode(home / "run" / "tool") == 0o700  # still the owner's to run
    assert mode(outside) == 0o644  # a link is not followed out of the home


def test_keeping_traverse_leaves_an_execute_bit_but_never_read_or_write(tmp_path: Path) -> None:
    home = old_home(tmp_path, tmp_path / "outside.txt")
    make_private(home, keep_traverse=True)
    assert exposed(home) == []
    assert mode(home) == 0o711 and mode(home / "kafka" / "data") == 0o711
    assert mode(home / "stack.env") == 0o600 and mode(home / "run" / "tool") == 0o700  # files lose it


def test_a_new_home_its_logs_and_a_run_directory_outside_it_are_made_private(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)  # too deep for a unix socket: the run directory moves to /tmp
    cfg = StackConfig(home=deep / "home", database_url="postgresql://elsewhere/postgres")
    assert not cfg.run_dir.is_relative_to(cfg.home)
    with private_umask():
        make_home(cfg)
        (cfg.logs / "new.log").write_text("created under the stack's umask\n")
    try:
        assert mode(cfg.home) == 0o700 and mode(cfg.logs) == 0o700 and mode(cfg.run_dir) == 0o700
        assert mode(cfg.logs / "new.log") == 0o600
        assert exposed(cfg.home) == [] and exposed(cfg.run_dir) == []
    finally:
        cfg.run_dir.rmdir()


def test_the_umask_is_private_inside_and_restored_after() -> None:
    before = os.umask(0o022)
    try:
        with private_umask():
            assert os.umask(PRIVATE_UMASK) == 0o077
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(before)


def test_supervisord_and_every_program_run_with_the_private_umask_and_log_in_the_home(tmp_path: Path) -> None:
    cfg = StackConfig(home=tmp_path / "home")
    conf = render(cfg, [Program("intake", ["true"], cfg.log("intake")), Program("kafka", ["true"], cfg.log("kafka"))])
    supervisord = conf.split("[supervisord]", 1)[1].split("\n\n", 1)[0]
    assert "\numask=077\n" in supervisord and f"\nchildlogdir={cfg.logs}\n" in supervisord
    assert conf.count("\numask=077\n") == 3  # supervisord's own and each program's
